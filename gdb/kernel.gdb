# gdb/kernel.gdb: watch RSP move between the stacks of the coroutine kernel.
#
# Loaded by `make gdb` (`cargo run -- --gdb`), or by hand after
# `make gdb-server`:
#     gdb target/x86_64-target/debug/kernel \
#         -ex 'target remote 127.0.0.1:PORT' -x gdb/kernel.gdb
#
# The kernel is linked at 0xffffffff80000000 and the bootloader loads it
# there, so the ELF's symbols are right as they are: no add-symbol-file, no
# offset.
#
# Breakpoints: QEMU starts paused in the firmware, before the bootloader has
# mapped the kernel. A software breakpoint written into kernel memory now
# would fail to insert (nothing is mapped there yet) or be overwritten when
# the bootloader copies the kernel in. Hardware breakpoints (`hbreak`, the
# CPU's debug registers, four at most) compare addresses instead, so they
# survive. Once stopped inside the kernel, ordinary `break` works too.
#
# Names: the kernel's symbols are the NASM listing's labels
# (switch_to_coro1, coroutine1_func, init_coroutines, main_context,
# coro1_context, coroutine1_stack, ...), so `break switch_to_coro1`,
# `x/gx &main_context` and `info symbol $rsp` answer in the listing's words.
# The coroutine set (names, stacks, slots) is read from the kernel's roster
# through the symbol `coroutine_roster`, so these commands work for any kernel
# of this project (main, round_robin, fault kernels) with no list kept here.
#
# Commands defined here (each also has `help NAME`):
#   coro-break    hardware breakpoints on switch_to_coro1 (phase 1) and on
#                 the two naked switches of phase 2: switch_into (every
#                 resume) and switch_back (every yield); this script runs it
#   coro-slots    every context slot, and which stack each saved RSP
#                 points into, with its offset below that stack's top
#   coro-list     every routine: running / suspended / finished / not
#                 started, its slot's RSP, how much of its stack it used
#   coro-bt N     the backtrace of routine N (0 = main, 1.. = coroutines) as
#                 if it were running; registers and frame left as they were
#   coro-where    which stack RSP is in now
#   coro-switch   at a breakpoint on a switch: step through it one
#                 instruction at a time, printing RSP and the slots before and
#                 after
#   coro-regs     rbx, rbp, r12-r15 and rsp on one line. Across a round trip
#                 the switch restores rbx, rbp and rsp; r12-r15 are declared
#                 clobbered where it is entered (the compiler keeps what is
#                 live in them), so they may differ right after a switch.

set pagination off
set confirm off
set disassembly-flavor intel
# Demangle the symbols in disassembly too (`x/i`, `display/i $pc`).
set print asm-demangle on
# The listing's labels (main_context, coroutine1_stack, ...) are ELF symbols
# without debug info, and gdb's Rust expression parser does not look such
# symbols up ("No symbol 'main_context' in current context"); its C parser
# does, so `x/gx &main_context` and `p $rsp - (long)&coroutine1_stack` work
# as on the NASM program. Rust values still print (in C syntax), `bt`,
# `next`, `step` and `break kernel::rounds` are unaffected; `set language
# rust` brings Rust expressions back.
set language c
# The switch is naked asm with no line table: show the next instruction at
# every stop, and step it with `si`. Rust code around it steps with `next`.
display/i $pc

python
import re

import gdb
from gdb.FrameDecorator import FrameDecorator

# The words the switch crate puts on a fresh stack (switch/src/lib.rs):
# a 32-byte Yielder at the top, then the 3-word frame rbx, rbp, continue.
FRESH_FRAME = 32 + 3 * 8
# Its continue address: the trampoline's entry, one byte (an int3) past the
# symbol coroutine_trampoline (TRAMPOLINE_ENTRY).
TRAMPOLINE_ENTRY = 1
PAINT = 0xCD
CANARY = 0xDEADC0DECAFEF00D


def read_u64(address):
    memory = gdb.selected_inferior().read_memory(address, 8)
    return int.from_bytes(bytes(memory), "little")


def rust_str(value):
    """A Rust &str ({data_ptr, length}), read in any language mode."""
    length = int(value["length"])
    return value["data_ptr"].string(length=length) if length else ""


class Routine:
    """main (number 0) or a coroutine of the kernel's roster."""

    def __init__(self, number, name, stack, bottom, top, slot, slot_addr):
        self.number, self.name, self.stack = number, name, stack
        self.bottom, self.top = bottom, top
        self.slot, self.slot_addr = slot, slot_addr

    def saved_rsp(self):
        """The slot's RSP, 0 for a finished coroutine's, whose slot holds
        the switch crate's tombstone (as `Context::saved_rsp` reports it)."""
        value = read_u64(self.slot_addr)
        return 0 if value == tombstone() else value


def tombstone():
    """The address of the frame a finished coroutine's slot points at
    (switch/src/lib.rs, "A finished coroutine"); None in a kernel that has
    no finished coroutines to point at it (the linker dropped it)."""
    try:
        return int(gdb.parse_and_eval("(unsigned long)&coroutine_tombstone_frame"))
    except gdb.error:
        return None


def routines():
    """main and every coroutine, from the roster the kernel installed
    (kernel::roster::GDB_VIEW, the symbol `coroutine_roster`)."""
    symbol = gdb.lookup_static_symbol("kernel::roster::GDB_VIEW") or gdb.lookup_global_symbol(
        "kernel::roster::GDB_VIEW"
    )
    if symbol is None:
        raise gdb.GdbError("no kernel::roster::GDB_VIEW: is this a kernel of this project?")
    view = symbol.value()
    if int(view["roster"]) == 0:
        raise gdb.GdbError(
            "the kernel has not installed its roster yet (kernel::init does): "
            "continue to the first switch first"
        )
    roster = view["roster"].dereference()
    main_slot = roster["main_slot"].dereference()
    found = [
        Routine(
            0,
            "main",
            "main_stack",
            int(view["main_bottom"]),
            int(view["main_top"]),
            rust_str(main_slot["name"]),
            int(main_slot["value"]),
        )
    ]
    coroutines = roster["coroutines"]
    for i in range(int(coroutines["length"])):
        member = (coroutines["data_ptr"] + i).dereference()
        stack = member["stack"].dereference()
        slot = member["slot"].dereference()
        # The GuardedStack's stack part, above its guard page
        # (kernel/src/guard.rs): its address and size from the debug info.
        part = stack["value"].dereference()["stack"]
        bottom = int(part.address)
        found.append(
            Routine(
                i + 1,
                rust_str(member["name"]),
                rust_str(stack["name"]),
                bottom,
                bottom + part.type.sizeof,
                rust_str(slot["name"]),
                int(slot["value"]),
            )
        )
    return found


def locate(address, known=None):
    """'coroutine1_stack top-0x58', like the kernel's own transcript."""
    if address == 0:
        return "empty"
    for r in known or routines():
        if r.bottom <= address <= r.top:
            return "%s top-%#x" % (r.stack, r.top - address)
    return "outside every stack"


def rsp():
    return int(gdb.parse_and_eval("$rsp")) & 0xFFFFFFFFFFFFFFFF


def slots_line():
    known = routines()
    return " ".join(
        "%s=%#018x (%s)" % (r.slot, r.saved_rsp(), locate(r.saved_rsp(), known)) for r in known
    )


def function_address(name):
    """Address of a function, by its symbol (`switch_to_coro1`) or the last
    part of its Rust path (`switch_into`). Naked functions have no debug
    info, so this reads gdb's minimal symbols too."""
    listing = gdb.execute("info functions -q %s$" % name, to_string=True)
    for line in listing.splitlines():
        match = re.match(r"^(0x[0-9a-f]+)\s+(\S+)$", line.strip())
        if match and (match.group(2) == name or match.group(2).endswith("::" + name)):
            return int(match.group(1), 16)
    raise gdb.GdbError("no function %s in this kernel" % name)


def is_code(address):
    """Whether `address` lies in a function gdb knows."""
    return "No symbol matches" not in gdb.execute("info symbol %#x" % address, to_string=True)


def switch_addresses():
    """Entry points of the two naked switches: switch_into, switch_back."""
    return [function_address(name) for name in ("switch_into", "switch_back")]


def stack_used(routine):
    """Bytes of a coroutine stack written below its top: since the switch
    crate painted it (the canary at the bottom says it did), or else since
    boot (`.bss` starts zeroed, as in phase 1)."""
    size = routine.top - routine.bottom
    memory = bytes(gdb.selected_inferior().read_memory(routine.bottom, size))
    painted = int.from_bytes(memory[:8], "little") == CANARY
    fill = PAINT if painted else 0
    untouched = 0
    for byte in memory[8 if painted else 0:]:
        if byte != fill:
            break
        untouched += 1
    return size - (8 if painted else 0) - untouched


def state(routine, now):
    """running / suspended / finished / not started."""
    if routine.bottom <= now <= routine.top:
        return "running"
    saved = routine.saved_rsp()
    if routine.number == 0:
        return "suspended" if saved else "not started"
    trampoline = function_address("coroutine_trampoline") + TRAMPOLINE_ENTRY
    if saved == routine.top or (
        saved == routine.top - FRESH_FRAME and read_u64(saved + 16) == trampoline
    ):
        return "not started"
    if saved == 0:
        return "finished" if stack_used(routine) > 0 else "not started"
    return "suspended"


class CoroBreak(gdb.Command):
    """Hardware breakpoints on switch_to_coro1 (the original program's first
    switch, phase 1; only in the kernel that has one) and on switch_into and
    switch_back (every resume and every yield of phase 2). Hardware, because the kernel is not mapped yet
    when QEMU starts paused; three of the CPU's four."""

    def __init__(self):
        super().__init__("coro-break", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        # Only the coroutine kernel replays the original's phase 1; the
        # others (round_robin, the fault kernels) start with switch_into.
        try:
            gdb.execute("hbreak *%#x" % function_address("switch_to_coro1"))
        except gdb.GdbError:
            pass
        for address in switch_addresses():
            gdb.execute("hbreak *%#x" % address)


class CoroSlots(gdb.Command):
    """Every context slot (main_context, coro1_context, ...): the RSP each
    holds and which stack that points into."""

    def __init__(self):
        super().__init__("coro-slots", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        print("slots " + slots_line())


class CoroWhere(gdb.Command):
    """Which stack RSP is in now, and how far below its top."""

    def __init__(self):
        super().__init__("coro-where", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        print("RSP=%#018x (%s)" % (rsp(), locate(rsp())))


class CoroList(gdb.Command):
    """Every routine of the kernel's roster, one line each: its number (for
    coro-bt), name, state (running, suspended, finished, not started), the
    RSP its context slot holds, and for a coroutine how many bytes of its
    4096-byte stack it has used so far (deepest point since it was set up)."""

    def __init__(self):
        super().__init__("coro-list", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        now = rsp()
        for r in routines():
            line = "%d %-10s %-11s %s=%#018x" % (r.number, r.name, state(r, now), r.slot, r.saved_rsp())
            if r.number:
                line += " stack used %d of %d bytes" % (stack_used(r), r.top - r.bottom)
            print(line)


def frames_to_trampoline():
    """How many frames, from the newest, down to and including the
    coroutine's trampoline; None if there is none (main, or phase 1)."""
    frame, count = gdb.newest_frame(), 0
    while frame is not None:
        count += 1
        if frame.type() == gdb.SIGTRAMP_FRAME and "coroutine_trampoline" in gdb.execute(
            "info symbol %#x" % frame.pc(), to_string=True
        ):
            return count
        frame = frame.older()
    return None


# The registers coro-bt changes and restores.
SAVED_REGISTERS = ("rip", "rsp", "rbp", "rbx")


class CoroBt(gdb.Command):
    """coro-bt N: the backtrace of routine N (0 = main, 1.. = coroutines, as
    numbered by coro-list) as if it were running, whatever runs now.

    A suspended routine is its saved frame: its slot holds RSP pointing at
    [rbx, rbp, continue address] (the frame the switches pop). coro-bt loads
    those into rbx, rbp, rip and RSP (as the switch would), runs `bt`, then
    puts every register back and reselects the frame you had selected. For
    main in phase 1 (the original's switch saves RSP only), the slot points
    at the return address into kernel_main.

    A suspended coroutine's backtrace stops at its trampoline: below it
    would be its last resumer's frames, read through main_context, which
    holds something else once main has moved on. Arguments that the
    compiler kept in r12-r15 show the current values of those registers:
    the switch does not save them (its callers declare them clobbered)."""

    def __init__(self):
        super().__init__("coro-bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        try:
            number = int(arg)
        except ValueError:
            raise gdb.GdbError("usage: coro-bt N (a routine number from coro-list)")
        known = routines()
        if not 0 <= number < len(known):
            raise gdb.GdbError("no routine %d: coro-list shows 0 to %d" % (number, len(known) - 1))
        routine = known[number]
        what = state(routine, rsp())
        if what == "running":
            print("%s is running: its backtrace is `bt`" % routine.name)
            gdb.execute("bt")
            return
        if what != "suspended":
            print("%s is %s: it has no frames to show" % (routine.name, what))
            return
        saved = routine.saved_rsp()
        if is_code(read_u64(saved + 16)):
            frame = {"rbx": read_u64(saved), "rbp": read_u64(saved + 8), "rip": read_u64(saved + 16), "rsp": saved + 24}
        else:
            frame = {"rip": read_u64(saved), "rsp": saved + 8}
        level = gdb.selected_frame().level()
        # Registers belong to the innermost frame: setting $rip in an outer
        # frame would write to the memory where that frame's caller saved it.
        gdb.execute("frame 0", to_string=True)
        before = {r: int(gdb.parse_and_eval("$" + r)) & 0xFFFFFFFFFFFFFFFF for r in SAVED_REGISTERS}
        print("%s, suspended at RSP=%#018x (%s):" % (routine.name, saved, locate(saved, known)))
        try:
            for register, value in frame.items():
                gdb.execute("set $%s = %#x" % (register, value), to_string=True)
            depth = frames_to_trampoline()
            gdb.execute("bt" if depth is None else "bt %d" % depth)
            if depth is not None:
                print(
                    "(below coroutine_trampoline: the routine that resumes %s, "
                    "which is not doing so now; `bt` shows it while %s runs)" % (routine.name, routine.name)
                )
        finally:
            for register, value in before.items():
                gdb.execute("set $%s = %#x" % (register, value), to_string=True)
            gdb.execute("frame %d" % level, to_string=True)


class CoroRegs(gdb.Command):
    """rbx, rbp, r12-r15 and rsp on one line."""

    def __init__(self):
        super().__init__("coro-regs", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        names = ("rbx", "rbp", "r12", "r13", "r14", "r15", "rsp")
        values = [int(gdb.parse_and_eval("$" + n)) & 0xFFFFFFFFFFFFFFFF for n in names]
        print("regs " + " ".join("%s=%#x" % nv for nv in zip(names, values)))


class CoroSwitch(gdb.Command):
    """Step through one switch, instruction by instruction. Run it when
    stopped at the first instruction of switch_into or switch_back
    (coro-break puts breakpoints there). Prints RSP and the slots before,
    each instruction as it executes, and RSP and the slots after the final
    `jmp rcx` (switch_into) or `ret` (switch_back), which lands on the other
    side."""

    def __init__(self):
        super().__init__("coro-switch", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        if int(gdb.parse_and_eval("$pc")) not in switch_addresses():
            raise gdb.GdbError("not at the start of switch_into or switch_back: use coro-break and continue")
        print("before: RSP=%#018x (%s)" % (rsp(), locate(rsp())))
        print("before: slots " + slots_line())
        # Without this, every stepi would also print the frame it stops in.
        gdb.execute("set suppress-cli-notifications on")
        try:
            while True:
                pc = int(gdb.parse_and_eval("$pc"))
                instruction = gdb.selected_frame().architecture().disassemble(pc)[0]["asm"]
                gdb.execute("stepi", to_string=True)
                print("  %-24s -> RSP=%#018x (%s)" % (instruction, rsp(), locate(rsp())))
                if instruction.startswith(("jmp", "ret")):
                    break
        finally:
            gdb.execute("set suppress-cli-notifications off")
        print("after:  RSP=%#018x (%s)" % (rsp(), locate(rsp())))
        print("after:  slots " + slots_line())
        print("after:  rax=%#x (the value handed across)" % (int(gdb.parse_and_eval("$rax")) & 0xFFFFFFFFFFFFFFFF))


class NamedSwitchFrame(FrameDecorator):
    """A frame that the switch's unwind information marks as a signal frame
    (the trampoline, and the original switch_to_coroN while it runs a
    coroutine function on the coroutine's stack), shown by its function's
    name instead of gdb's fixed `<signal handler called>`. The mark is what
    lets gdb accept callers whose stack lies below the coroutine's (see
    "Backtraces across the switch" in switch/src/lib.rs); no signal is
    involved."""

    def function(self):
        pc = self.inferior_frame().pc()
        found = gdb.execute("info symbol %#x" % pc, to_string=True)
        if "No symbol matches" in found:
            return pc
        return found.split(" in section")[0].split(" + ")[0].strip()


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


SwitchFrames()

for command in (CoroBreak, CoroSlots, CoroWhere, CoroList, CoroBt, CoroRegs, CoroSwitch):
    command()
end

# Run to the entry point, _start (it calls kernel_main), on a one-shot hardware
# breakpoint: from there on the kernel is mapped, so ordinary `break`
# (`break switch_to_coro1`, `break kernel::rounds`) works too.
thbreak _start
continue
coro-break
