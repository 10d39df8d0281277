"""Single-steps the original program in gdb and shows, after every
instruction, where RSP points and which context slot it wrote.

    gdb -q -nx -batch -x original/trace.py original/coroutines

It prints two parts. The steps: each instruction executed, RSP after it (a
stack and how many bytes below that stack's top) and the slot it wrote, if
any. The sequence: what happened at each switch, in the terms the kernel's
phase 1 logs (the slots after init_coroutines, main's RSP at each switch,
the slots on arrival, rax and main's RSP back in _start). In the sequence,
addresses in main's stack are given relative to M, where main's RSP stood at
the first switch: main's stack here is the one Linux gives the process, the
kernel's another, and only the offsets from M are the program's own.
boot/tests/end_to_end/original.rs compares the sequence with the kernel's.

main_stack here is the process stack, its top taken to be RSP at _start;
coroutine1_stack and coroutine2_stack are the .bss labels, 4096 bytes each.
"""

import re

import gdb

STACK_SIZE = 4096
SLOTS = ("main_context", "coro1_context", "coro2_context")
STACKS = ("coroutine1_stack", "coroutine2_stack")


def value_of(expression):
    return int(gdb.parse_and_eval("(long)(%s)" % expression)) & (2**64 - 1)


class Program:
    """The program's symbols and stacks, read from gdb once at _start."""

    def __init__(self):
        self.slot_addresses = {value_of("&" + name): name for name in SLOTS}
        self.tops = {"main_stack": value_of("$rsp")}
        for name in STACKS:
            self.tops[name] = value_of("&" + name) + STACK_SIZE
        self.main_origin = None  # M, set at the first switch

    def locate(self, value):
        """(stack, bytes below its top), or None. A stack holds (top - size,
        top]: an empty stack's RSP is its top, so the top of coroutine1_stack
        (which is also where coroutine2_stack begins) belongs to coroutine1."""
        for name, top in self.tops.items():
            size = 1 << 20 if name == "main_stack" else STACK_SIZE
            if top - size < value <= top:
                return name, top - value
        return None

    def show(self, value):
        """An address as a stack and offset: `coroutine1_stack top-0x8`."""
        if value == 0:
            return "0 (empty)"
        where = self.locate(value)
        return "%s top-%#x" % where if where else "%#x (in no stack)" % value

    def show_slot_value(self, value):
        """A slot's value; one in main's stack relative to M once M is known."""
        where = self.locate(value)
        if value and where and where[0] == "main_stack" and self.main_origin is not None:
            return relative(value, self.main_origin)
        return self.show(value)

    def slots(self):
        return " ".join(
            "%s=%s" % (name, self.show_slot_value(value_of("*(long *)&" + name)))
            for name in SLOTS
        )

    def readable(self, text):
        """gdb's Intel syntax with the slots' names in place of their addresses."""
        text = " ".join(text.split())
        for address, name in self.slot_addresses.items():
            text = text.replace("ds:%#x" % address, "[%s]" % name)
        return text

    def written_slot(self, text):
        """The slot an instruction stores to, or None."""
        match = re.match(r"mov QWORD PTR ds:(0x[0-9a-f]+),", " ".join(text.split()))
        return self.slot_addresses.get(int(match.group(1), 16)) if match else None


def relative(value, origin):
    offset = value - origin
    return "M%s%#x" % ("+" if offset >= 0 else "-", abs(offset))


def symbol(pc):
    text = gdb.execute("info symbol %#x" % pc, to_string=True)
    return text.split(" in section")[0].replace(" + ", "+")


def main():
    for setting in (
        "disassembly-flavor intel",
        "confirm off",
        "suppress-cli-notifications on",
    ):
        gdb.execute("set " + setting)
    gdb.execute("tbreak *_start", to_string=True)
    gdb.execute("run", to_string=True)
    arch = gdb.selected_frame().architecture()
    program = Program()
    sequence = []
    switch = 0
    calling = None  # the coroutine whose switch_to_coroN runs
    main_rsp = None  # main's RSP at the `call switch_to_coroN`
    print("steps (RSP after each instruction; below it, the slot it wrote):")
    print("  %-19s %-34s RSP=%s" % ("(at _start)", "", program.show(value_of("$rsp"))))
    while True:
        pc = value_of("$pc")
        where = symbol(pc)
        text = arch.disassemble(pc)[0]["asm"]
        if text.startswith("syscall"):
            break
        rsp_before = value_of("$rsp")
        if where.startswith("_start") and "<switch_to_coro" in text:
            calling = "coroutine" + text.split("<switch_to_coro")[1][0]
            main_rsp = rsp_before
            if program.main_origin is None:
                program.main_origin = rsp_before
            switch += 1
            sequence.append(
                "#%d call main -> %s: main's RSP %s"
                % (switch, calling, relative(rsp_before, program.main_origin))
            )
        gdb.execute("stepi", to_string=True)
        rsp = value_of("$rsp")
        slot = program.written_slot(text)
        print("  %-19s %-34s RSP=%s" % (where, program.readable(text), program.show(rsp)))
        if slot:
            value = program.show_slot_value(value_of("*(long *)&" + slot))
            print("  %-19s   %s <- %s" % ("", slot, value))
        if where.startswith("init_coroutines") and text.startswith("ret"):
            sequence.append("init: " + program.slots())
        left_main = program.locate(rsp_before)[0] == "main_stack"
        if calling and left_main and program.locate(rsp)[0] == calling + "_stack":
            sequence.append("#%d on %s: %s" % (switch, calling, program.slots()))
        if calling and where.startswith("switch_to_coro") and text.startswith("ret"):
            switch += 1
            sequence.append(
                "#%d return %s -> main: rax=%d, main's RSP %s, %s"
                % (
                    switch,
                    calling,
                    value_of("$rax"),
                    relative(rsp, program.main_origin),
                    "restored" if rsp == main_rsp else "CHANGED",
                )
            )
            sequence.append("#%d on main: %s" % (switch, program.slots()))
            calling = None
    print("  %-19s %-34s exit(%d)" % (where, text, value_of("$rdi")))
    print()
    print("sequence (M: main's RSP at the first switch):")
    for line in sequence:
        print("  " + line)
    # The process ends here (exit status rdi); the run itself is `make
    # original`'s, outside gdb.
    gdb.execute("kill", to_string=True)


main()
