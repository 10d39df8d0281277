"""How gdb shows the trampoline's frame: by its name, not as a signal
handler. Registered when imported.

The switch's unwind information marks the trampoline's frame (and the
original switch_to_coroN's while it runs a coroutine function on the
coroutine's stack) as a signal frame: that mark is what lets gdb accept
callers whose stack lies below the coroutine's (see "Backtraces across the
switch" in switch/src/trampoline.rs). gdb prints such a frame as `<signal
handler called>`, though no signal is involved. Two pieces name it:

- `SwitchUnwinder`: when the trampoline is the innermost frame (a
  `stepi` or `reverse-stepi` into it), a frame unwinder with the same rule
  as the switch crate's (CFA = [[rsp + 8]] + 24; the resumer's continue
  address, rbp and rbx in the three words below it) makes it an ordinary
  frame, which the stop line and `frame` print by name. gdb's check that
  a caller's stack lies above its callee's only applies between two
  ordinary frames with an ordinary frame inside them; innermost, there is
  none inside it, and its caller's stack does lie above its CFA. Deeper in
  a backtrace the signal frame stays what makes the check pass.
  The same for the original program's switch_to_coroN (kernel/src/main.rs)
  while it runs on the coroutine's stack: its rule (kernel/src/unwind.rs)
  finds main's frame through main's slot, CFA = [main_context] + 8.
- `SwitchFrames`: a frame filter that names the remaining signal frames in
  `bt`.
"""

from types import SimpleNamespace

import gdb
import gdb.unwinder
from gdb.FrameDecorator import FrameDecorator

from . import kernel

TRAMPOLINE = "coroutine_trampoline"
# The original program's switches: switch_to_coro1, switch_to_coro2.
PHASE_ONE_SWITCH = "switch_to_coro"
# What the original's switch leaves as it is (its rule says nothing of
# them): every general register but rsp and rip.
UNTOUCHED = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp") + tuple("r%d" % n for n in range(8, 16))
WORD = 8
# Below the CFA, as the switch crate's unwind rule puts them: the
# resumer's continue address, rbp, rbx (the frame switch_into pushed).
SAVED_BELOW_CFA = (("rip", 1), ("rbp", 2), ("rbx", 3))


def read_word(address):
    return int.from_bytes(bytes(gdb.selected_inferior().read_memory(address, WORD)), "little")


class SwitchUnwinder(gdb.unwinder.Unwinder):
    """The trampoline's frame and switch_to_coroN's on a coroutine stack,
    when innermost, as ordinary frames with their own unwind rules."""

    def __init__(self):
        super().__init__("coroutine-switch-frames")

    def __call__(self, pending_frame):
        if pending_frame.level() != 0:
            return None
        pc = int(pending_frame.read_register("rip")) & kernel.MASK
        name = kernel.function_at(pc) or ""
        rsp = int(pending_frame.read_register("rsp")) & kernel.MASK
        try:
            if name == TRAMPOLINE:
                # RSP points at the Yielder; its second word is the
                # resumer's slot, which holds the RSP switch_into saved there.
                cfa = read_word(read_word(rsp + WORD)) + 3 * WORD
                saved = {name: read_word(cfa - below * WORD) for name, below in SAVED_BELOW_CFA}
            elif name.startswith(PHASE_ONE_SWITCH) and not on_mains_stack(rsp):
                # main's RSP, saved by the first `mov`, points at the
                # return address into kernel_main.
                cfa = read_word(kernel.routines()[0].slot_addr) + WORD
                saved = {"rip": read_word(cfa - WORD)}
                for untouched in UNTOUCHED:
                    saved[untouched] = int(pending_frame.read_register(untouched)) & kernel.MASK
            else:
                return None
        except (gdb.error, gdb.GdbError):
            return None
        pointer = pending_frame.read_register("rsp").type
        # A frame's id: its CFA and its function's start, as gdb's own
        # DWARF unwinder would give it (gdb wants both as gdb.Values).
        start = kernel.function_address(name)
        frame_id = SimpleNamespace(sp=gdb.Value(cfa).cast(pointer), pc=gdb.Value(start).cast(pointer))
        info = pending_frame.create_unwind_info(frame_id)
        info.add_saved_register("rsp", gdb.Value(cfa).cast(pointer))
        for register, value in saved.items():
            info.add_saved_register(register, gdb.Value(value).cast(pending_frame.read_register(register).type))
        # Any register not given here is <not saved> in the caller: for the
        # trampoline, those its resumer's `asm!` block declares clobbered
        # (the switch crate's rule marks them undefined).
        return info


def on_mains_stack(address):
    main = kernel.routines()[0]
    return main.holds(address)


class NamedSwitchFrame(FrameDecorator):
    """A signal frame shown by the name of the function it is in."""

    def function(self):
        pc = self.inferior_frame().pc()
        return kernel.function_at(pc) or pc


class SwitchFrames:
    """The frame filter that applies NamedSwitchFrame."""

    def __init__(self):
        self.name = "coroutine-switch-frames"
        self.priority = 100
        self.enabled = True
        gdb.frame_filters[self.name] = self

    def filter(self, frames):
        for frame in frames:
            if frame.inferior_frame().type() == gdb.SIGTRAMP_FRAME:
                yield NamedSwitchFrame(frame)
            else:
                yield frame


gdb.unwinder.register_unwinder(None, SwitchUnwinder(), replace=True)
SwitchFrames()
