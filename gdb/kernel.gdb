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
# Commands defined here (each also has `help NAME`):
#   coro-break    hardware breakpoints on switch_to_coro1 (phase 1) and on
#                 the two naked switches of phase 2: switch_into (every
#                 resume) and switch_back (every yield); this script runs it
#   coro-slots    the three context slots, and which stack each saved RSP
#                 points into, with its offset below that stack's top
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
# The switch is naked asm with no line table: show the next instruction at
# every stop, and step it with `si`. Rust code around it steps with `next`.
display/i $pc

python
import re

import gdb

STACKS = ("COROUTINE1_STACK", "COROUTINE2_STACK")
SLOTS = ("MAIN_CONTEXT", "CORO1_CONTEXT", "CORO2_CONTEXT")


def data_address(name):
    """Address of a static of the kernel binary, e.g. kernel::MAIN_CONTEXT."""
    symbol = gdb.lookup_static_symbol("kernel::" + name) or gdb.lookup_global_symbol(
        "kernel::" + name
    )
    if symbol is None:
        raise gdb.GdbError("symbol kernel::%s not found: is this the coroutine kernel?" % name)
    return int(symbol.value().address)


def function_address(pattern):
    """Address of a function without debug info (naked functions have none),
    found by a regex over gdb's minimal symbols."""
    listing = gdb.execute("info functions -q %s" % pattern, to_string=True)
    match = re.search(r"^(0x[0-9a-f]+)\s", listing, re.M)
    if match is None:
        raise gdb.GdbError("no function matches %s" % pattern)
    return int(match.group(1), 16)


def read_u64(address):
    memory = gdb.selected_inferior().read_memory(address, 8)
    return int.from_bytes(bytes(memory), "little")


def stack_bottom(name):
    """Lowest address of a coroutine stack. The kernel's static may be the
    stack itself or a reference to it (the stacks sit between guard pages)."""
    symbol = gdb.lookup_static_symbol("kernel::" + name) or gdb.lookup_global_symbol("kernel::" + name)
    if symbol is None:
        raise gdb.GdbError("symbol kernel::%s not found: is this the coroutine kernel?" % name)
    value = symbol.value()
    if value.type.strip_typedefs().code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_REF):
        return int(value)
    return int(value.address)


def regions():
    """(name, bottom, top) of every stack the kernel knows: the two coroutine
    stacks from their symbols, and the rest (main's stack) from
    kernel::stacks::REGIONS, which the kernel fills at boot."""
    found = [(name, stack_bottom(name), stack_bottom(name) + 4096) for name in STACKS]
    table = gdb.lookup_static_symbol("kernel::stacks::REGIONS")
    if table is not None:
        entries = table.value()["inner"]["data"]["value"]
        low, high = entries.type.range()
        for i in range(low, high + 1):
            entry = entries[i]
            top = int(entry["top"])
            # A &str is {data_ptr, length}; read it by hand so that it
            # works in any language mode (naked code has no debug info, so
            # gdb is in C mode there).
            name_ref = entry["name"]
            length = int(name_ref["length"])
            name = name_ref["data_ptr"].string(length=length) if length else ""
            if top != 0 and name not in STACKS:
                found.append((name, int(entry["bottom"]), top))
    return found


def locate(address):
    """'COROUTINE1_STACK top-0x58', like the kernel's own transcript."""
    if address == 0:
        return "empty"
    for name, bottom, top in regions():
        if bottom <= address <= top:
            return "%s top-%#x" % (name, top - address)
    return "outside every stack"


def rsp():
    return int(gdb.parse_and_eval("$rsp")) & 0xFFFFFFFFFFFFFFFF


def slots_line():
    parts = []
    for name in SLOTS:
        value = read_u64(data_address(name))
        parts.append("%s=%#018x (%s)" % (name, value, locate(value)))
    return " ".join(parts)


def switch_addresses():
    """Entry points of the two naked switches: switch_into, switch_back."""
    return [function_address(r"^coroutine_switch.*::%s$" % name) for name in ("switch_into", "switch_back")]


class CoroBreak(gdb.Command):
    """Hardware breakpoints on switch_to_coro1 (the original program's first
    switch, phase 1) and on coroutine_switch::switch_into and switch_back (every
    resume and every yield of phase 2). Hardware, because the kernel is not
    mapped yet when QEMU starts paused; three of the CPU's four."""

    def __init__(self):
        super().__init__("coro-break", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        gdb.execute("hbreak *%#x" % function_address(r"^kernel.*::switch_to_coro1$"))
        for address in switch_addresses():
            gdb.execute("hbreak *%#x" % address)


class CoroSlots(gdb.Command):
    """The three context slots (MAIN_CONTEXT, CORO1_CONTEXT, CORO2_CONTEXT):
    the RSP each holds and which stack that points into."""

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
    stopped at the first instruction of coroutine_switch::switch_into or
    switch_back (coro-break puts breakpoints there). Prints RSP and the slots
    before, each instruction as it executes, and RSP and the slots after the
    final `jmp rcx` (switch_into) or `ret` (switch_back), which lands on the
    other side."""

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


for command in (CoroBreak, CoroSlots, CoroWhere, CoroRegs, CoroSwitch):
    command()
end

coro-break
