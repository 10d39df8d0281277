"""Stack arithmetic: where an address lies, how much of a stack was used,
what state a routine is in, and the frame a switch leaves behind.

Everything here works on plain numbers and on a `memory` object with one
method, `read(address, size) -> bytes` (the kernel's memory through gdb, or
a dictionary in the tests), which raises `Unreadable` when it cannot
read; nothing imports gdb.
"""

from dataclasses import dataclass

# The frame a switch leaves at the saved RSP of the side it leaves: it
# pushes rbp, then rbx, below the address that side continues at
# ("A fresh stack" in switch/src/trampoline.rs, and the switches' unwind
# rows in switch/src/switch.rs).
FRAME = ("rbx", "rbp", "rip")
WORD = 8


class Unreadable(Exception):
    """A memory read failed: the page is not mapped (yet), or gone."""


# A routine's states, as `coro list` prints them.
RUNNING, SUSPENDED, FINISHED, NOT_STARTED = "running", "suspended", "finished", "not started"


@dataclass(frozen=True)
class Layout:
    """What the switch crate puts on a fresh coroutine stack and in a
    finished one's slot, read from the kernel (`coroutine_gdb_facts`): the
    byte it paints the stack with, the canary word at its bottom (and the
    word that replaces it when the body returns), the size of the first
    frame at its top (the Yielder, then FRAME), where that frame continues
    (bytes past the symbol `coroutine_trampoline`), and the tombstone
    frame's address, which a finished coroutine's slot holds."""

    paint: int
    canary: int
    finished: int
    fresh_frame: int
    trampoline_entry: int
    tombstone: int


def word(memory, address):
    """The little-endian 64-bit word at `address`."""
    return int.from_bytes(memory.read(address, WORD), "little")


def saved_rsp(routine, memory, layout):
    """What the routine's context slot holds: its RSP while it does not
    run, 0 before it first ran (main) or once it finished (a coroutine: its
    slot holds the tombstone's address, which the kernel reports as 0 too)."""
    saved = word(memory, routine.slot_addr)
    return 0 if saved == layout.tombstone else saved


def locate(address, routines):
    """`coroutine1_stack top-0x58`, as the kernel's own transcript says."""
    if address == 0:
        return "empty"
    for routine in routines:
        if routine.holds(address):
            return "%s top-%#x" % (routine.stack, routine.top - address)
    return "outside every stack"


def stack_used(routine, memory, layout):
    """Bytes of a stack written below its top: since the switch crate
    painted it (the canary at its bottom, or the word that replaces it when
    the body returns, says it did), or else since boot (`.bss` starts
    zeroed, as in phase 1)."""
    size = routine.top - routine.bottom
    data = memory.read(routine.bottom, size)
    painted = int.from_bytes(data[:WORD], "little") in (layout.canary, layout.finished)
    start = WORD if painted else 0
    fill = layout.paint if painted else 0
    untouched = 0
    for byte in data[start:]:
        if byte != fill:
            break
        untouched += 1
    return size - start - untouched


def is_fresh(routine, saved, memory, layout, trampoline):
    """Whether the slot still holds what the switch crate set up and no
    switch has taken: the first frame, continuing at the trampoline, or
    (phase 1, the original program's own setup) the top of the stack."""
    if saved == routine.top:
        return True
    continue_at = saved + FRAME.index("rip") * WORD
    return saved == routine.top - layout.fresh_frame and word(memory, continue_at) == trampoline


def state(routine, rsp, memory, layout, trampoline):
    """running / suspended / finished / not started, with RSP at `rsp`
    now and the trampoline's entry at `trampoline`."""
    if routine.holds(rsp):
        return RUNNING
    saved = saved_rsp(routine, memory, layout)
    if routine.number == 0:
        return SUSPENDED if saved else NOT_STARTED
    if saved == 0:
        # A finished coroutine's slot is emptied; one never set up is empty too.
        return FINISHED if stack_used(routine, memory, layout) > 0 else NOT_STARTED
    if is_fresh(routine, saved, memory, layout, trampoline):
        return NOT_STARTED
    return SUSPENDED


def saved_registers(saved, memory, is_code):
    """The registers a switch to a side saved at `saved` would load: FRAME,
    then RSP above it. Phase 1's original switch saves RSP only, pointing at
    the return address into kernel_main; `is_code(address)` tells the two
    apart by whether FRAME's continue address is code."""
    values = [word(memory, saved + i * WORD) for i in range(len(FRAME))]
    if is_code(values[-1]):
        registers = dict(zip(FRAME, values))
        registers["rsp"] = saved + len(FRAME) * WORD
        return registers
    return {"rip": values[0], "rsp": saved + WORD}
