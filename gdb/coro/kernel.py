"""The running kernel as gdb sees it: memory, registers, symbols, and the
record the kernel keeps for gdb (kernel/src/gdb_facts.rs): the switch
crate's constants, main's stack name and the roster's view.

Functions are found through gdb's API by their ELF names, which the
kernel keeps unmangled (`switch_into`, `coroutine_trampoline`).
"""

import gdb

from . import roster, stacks, text, view

# Registers read as signed 64-bit numbers; addresses are unsigned.
MASK = (1 << 64) - 1

# The record the kernel keeps for gdb: the switch crate's constants and the
# address of the roster's view.
FACTS = "kernel::gdb_facts::GDB_FACTS"


class Memory:
    """The kernel's memory, for the functions of `stacks`."""

    def read(self, address, size):
        try:
            return bytes(gdb.selected_inferior().read_memory(address, size))
        except gdb.MemoryError:
            raise stacks.Unreadable("cannot access memory at %#x" % address) from None


MEMORY = Memory()


def register(name):
    """The value of register `name` in the selected frame, unsigned."""
    return int(gdb.parse_and_eval("$" + name)) & MASK


def rsp():
    return register("rsp")


def function_address(name):
    """The entry of function `name` (an unmangled symbol, debug info or
    not), or None if this kernel has none. Read in gdb's C mode whatever
    language the user chose: gdb's Rust parser does not look up symbols
    without debug info."""
    with gdb.with_parameter("language", "c"):
        try:
            return int(gdb.parse_and_eval("&" + name)) & MASK
        except gdb.error:
            return None


def required_function(name):
    address = function_address(name)
    if address is None:
        raise gdb.GdbError("no function %s in this kernel" % name)
    return address


def function_at(address):
    """The name of the function that holds `address` (its ELF symbol, so
    naked functions too), or None."""
    return text.symbol_in(gdb.format_address(address))


def symbol(address):
    """`name+offset` (`kernel_main+43`, `coroutine1_stack+8`) for an address
    of the kernel's ELF, or None."""
    return text.symbol_and_offset(gdb.format_address(address))


def replaying():
    """Whether QEMU replays a recording: then gdb can execute backwards."""
    return "Replaying" in gdb.execute("monitor info replay", to_string=True)


def where_the_run_is(in_the_kernel=True):
    """None when gdb is stopped (in the kernel, unless not
    `in_the_kernel`); otherwise one line that says where the run is, and
    the way on."""
    inferior = gdb.selected_inferior()
    if inferior.pid == 0 or not inferior.threads():
        return (
            "no kernel to look at: QEMU has exited (the run has ended) or gdb is not attached; "
            "make gdb or make gdb-replay starts a session"
        )
    if gdb.selected_thread().is_running():
        return "the kernel is running: interrupt it (Ctrl-C) or wait until it stops"
    pc = register("pc")
    if in_the_kernel and function_at(pc) is None:
        point = "this point of the replay" if replaying() else "this point of the run"
        return (
            "the kernel has not started at %s (pc %#x is in the firmware or the bootloader): "
            "`coro goto N` or `continue` to `_start`" % (point, pc)
        )
    return None


def check_stopped(in_the_kernel=True):
    """Raises gdb.GdbError with where_the_run_is()'s line unless gdb is
    stopped (in the kernel, unless not `in_the_kernel`)."""
    said = where_the_run_is(in_the_kernel)
    if said is not None:
        raise gdb.GdbError(said)


def before_the_kernel():
    """Whether gdb is stopped before the kernel's code (firmware, bootloader)."""
    return function_at(register("pc")) is None


def is_compiled_code(address):
    """Whether `address` lies in a function with debug info: compiled Rust
    code, where a suspended routine continues (in the Rust functions around
    the switch's call or jump; only a fresh frame continues in naked code,
    the trampoline)."""
    return gdb.block_for_pc(address) is not None


def facts():
    """The record the kernel keeps for gdb (kernel/src/gdb_facts.rs)."""
    symbol = gdb.lookup_global_symbol(FACTS)
    if symbol is None:
        raise gdb.GdbError("no %s: is this a kernel of this project?" % FACTS)
    return symbol.value()


def layout():
    """The switch crate's layout of a coroutine stack, from the kernel."""
    value = facts()
    return stacks.Layout(
        paint=int(value["paint"]),
        canary=int(value["canary"]) & MASK,
        finished=int(value["finished"]) & MASK,
        fresh_frame=int(value["fresh_frame"]),
        trampoline_entry=int(value["trampoline_entry"]),
        tombstone=int(value["tombstone"]) & MASK,
    )


def trampoline():
    """Where a fresh stack's first frame continues."""
    return required_function("coroutine_trampoline") + layout().trampoline_entry


def read_view():
    """Every routine's stack at this stop (coro.view)."""
    known = routines()
    return view.read_view(known, rsp(), MEMORY, layout(), trampoline(), symbol, is_compiled_code)


def routines():
    """main and every coroutine of the roster the kernel installed."""
    value = facts()
    try:
        return roster.read_roster(value["roster_view"].dereference(), roster.rust_str(value["main_stack"]))
    except roster.RosterError as error:
        raise gdb.GdbError(str(error)) from None


def saved_rsp(routine):
    return stacks.saved_rsp(routine, MEMORY, layout())


def state(routine, known_rsp):
    return stacks.state(routine, known_rsp, MEMORY, layout(), trampoline())


def stack_used(routine):
    return stacks.stack_used(routine, MEMORY, layout())


def reported_high_water(routine):
    """Coroutine `routine`'s high-water mark as the kernel's summary
    reported it: 0 before the summary (or in a kernel that does not keep
    it)."""
    try:
        marks = int(facts()["high_water"]) & MASK
    except gdb.error:
        return 0
    return stacks.word(MEMORY, marks + (routine.number - 1) * stacks.WORD)


def switch_counts():
    """(counted, arrived): the switches the kernel has counted (each before
    it is made) and the last one whose arriving side ran `arrived`."""
    value = facts()
    return tuple(int.from_bytes(MEMORY.read(int(value[name]) & MASK, 8), "little") for name in ("switches", "arrived"))


def facts_function(name):
    """The entry of a function the facts record names: `arrival`
    (roster::arrived), `init` (kernel::init), `exit` (kernel::exit::exit_qemu)."""
    return int(facts()[name]) & MASK


def switch_addresses():
    """Entry points of the two naked switches: switch_into, switch_back."""
    return [required_function(name) for name in ("switch_into", "switch_back")]
