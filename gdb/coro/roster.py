"""The kernel's coroutine set, read from its roster's gdb view.

The kernel keeps, at the symbol `coroutine_roster`, a plain `#[repr(C)]`
record (`GdbView` in kernel/src/roster.rs): a pointer to the installed
`Roster` and the bounds of main's stack. This module walks it. It takes
the view as a value that behaves like a `gdb.Value` (fields by name,
`int()`, `dereference()`, pointer `+ i`, `.address`, `.type.sizeof`,
`.string(length=...)`) and never imports gdb, so its tests feed it plain
data instead of a running kernel.
"""

from dataclasses import dataclass


class RosterError(Exception):
    """The roster cannot be read: the kernel has not installed it yet."""


@dataclass(frozen=True)
class Routine:
    """main (number 0) or a coroutine (1.. in roster order).

    `stack` is the ELF symbol of its stack (`coroutine1_stack`), which spans
    [bottom, top); `slot` that of its context slot (`coro1_context`), at
    `slot_addr`, which holds its RSP while it does not run.
    """

    number: int
    name: str
    stack: str
    bottom: int
    top: int
    slot: str
    slot_addr: int

    def holds(self, address):
        """Whether `address` lies in this routine's stack, its top included
        (the RSP of a stack with nothing pushed on it)."""
        return self.bottom <= address <= self.top


def rust_str(value):
    """A Rust `&str` ({data_ptr, length}) as a Python string."""
    length = int(value["length"])
    return value["data_ptr"].string(length=length) if length else ""


def read_roster(view, main_stack):
    """main and every coroutine of the roster that `view` (the
    `coroutine_roster` record) points at; `main_stack` is the name the
    kernel gives main's stack.

    Raises RosterError while the roster pointer is still null.
    """
    if int(view["roster"]) == 0:
        raise RosterError(
            "the kernel has not installed its roster yet (kernel::init does): "
            "`coro goto N` or `continue` to the first switch"
        )
    roster = view["roster"].dereference()
    main_slot = roster["main_slot"].dereference()
    found = [
        Routine(
            number=0,
            name="main",
            stack=main_stack,
            bottom=int(view["main_bottom"]),
            top=int(view["main_top"]),
            slot=rust_str(main_slot["name"]),
            slot_addr=int(main_slot["value"]),
        )
    ]
    coroutines = roster["coroutines"]
    for i in range(int(coroutines["length"])):
        member = (coroutines["data_ptr"] + i).dereference()
        stack = member["stack"].dereference()
        slot = member["slot"].dereference()
        # The stack part of the GuardedStack, above its guard page
        # (kernel/src/guard.rs): its address and size from the debug info.
        part = stack["value"].dereference()["stack"]
        bottom = int(part.address)
        found.append(
            Routine(
                number=i + 1,
                name=rust_str(member["name"]),
                stack=rust_str(stack["name"]),
                bottom=bottom,
                top=bottom + part.type.sizeof,
                slot=rust_str(slot["name"]),
                slot_addr=int(slot["value"]),
            )
        )
    return found
