"""`switch-steps`: a gdb command, for the book, that steps through the switch
gdb is stopped at (switch_into, switch_back, switch_to_coro1/2) and prints,
for each instruction, where RSP points and what the instruction moved: the
word it pushed or popped (and on which stack, at which offset below the
top), the slot it wrote or read. Then the words of the switch frames it
left on the stacks.

Loaded by docs/sessions/switch.gdb (`source docs/sessions/switch_steps.py`), after
gdb/kernel.gdb: run through scripts/gdb_listing.py by `make docs`. It reads
only what any gdb user can: registers, memory, symbols, and `coro where` for
where main's stack lies.
"""

import re

import gdb

STACK_SIZE = 4096
MAIN_STACK_SIZE = 64 * 1024
SLOTS = ("main_context", "coro1_context", "coro2_context")


def number(expression):
    return int(gdb.parse_and_eval("(unsigned long)(%s)" % expression)) & (2**64 - 1)


def word(address):
    return number("*(unsigned long *)%#x" % address)


class Place:
    """Names addresses: a stack and an offset below its top, a slot, code."""

    def __init__(self):
        where = gdb.execute("coro where", to_string=True)
        match = re.search(r"RSP=(0x[0-9a-f]+) \((\w+) top-(0x[0-9a-f]+)\)", where)
        if not match or match.group(2) != "main_stack":
            raise gdb.GdbError("switch-steps: run it on main's side first (coro where: %s)" % where)
        self.stacks = {"main_stack": (int(match.group(1), 16) + int(match.group(3), 16),
                                      MAIN_STACK_SIZE)}
        for name in ("coroutine1_stack", "coroutine2_stack"):
            self.stacks[name] = (number("&" + name) + STACK_SIZE, STACK_SIZE)
        self.slots = {number("&" + name): name for name in SLOTS}

    def stack(self, value):
        for name, (top, size) in self.stacks.items():
            if top - size < value <= top:
                return name, top - value
        return None

    def name(self, value):
        """A value as a reader wants it: a stack position, code, or hex."""
        where = self.stack(value)
        if where:
            return "%s top-%#x" % where
        symbol = gdb.execute("info symbol %#x" % value, to_string=True)
        if " in section .text" in symbol:
            return gdb.format_address(value).split(" ", 1)[1]
        return "%#x" % value

    def slot(self, address):
        """A slot's address by the slot's name (main_context's address is
        also the top of coroutine2_stack, which lies just below it)."""
        return "&" + self.slots[address] if address in self.slots else self.name(address)


def slots(place):
    """Prints the three slots, each with where its saved RSP points."""
    for name in SLOTS:
        value = word(number("&" + name))
        print("    %-13s = %s" % (name, place.name(value) if value else "0"))


def instruction(pc):
    arch = gdb.selected_frame().architecture()
    return " ".join(arch.disassemble(pc)[0]["asm"].split())


def function(pc):
    return gdb.execute("info symbol %#x" % pc, to_string=True).split(" ")[0]


class SwitchSteps(gdb.Command):
    """Step through the switch gdb is stopped at, saying what each
    instruction moves: switch-steps [TITLE]."""

    def __init__(self):
        super().__init__("switch-steps", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        global PLACE
        if PLACE is None:
            PLACE = Place()
        place = PLACE
        gdb.execute("set suppress-cli-notifications on")
        try:
            self.steps(argument, place)
        finally:
            gdb.execute("set suppress-cli-notifications off")

    def steps(self, argument, place):
        # Narrow enough for a book's page: each instruction on one line with
        # RSP after it, what it moved on the next.
        pc = number("$pc")
        name = function(pc)
        print("%s%s" % (name, ": " + argument if argument else ""))
        if name.startswith(("switch_into", "switch_back")):
            print("  rdi=%s (leaving), rsi=%s (arriving), rax=%d (the value)"
                  % (place.slot(number("$rdi")), place.slot(number("$rsi")), number("$rax")))
        print("  on entry: RSP=%s" % place.name(number("$rsp")))
        print("            [RSP]=%s" % place.name(word(number("$rsp"))))
        print("  slots before:")
        slots(place)
        while True:
            pc = number("$pc")
            text = instruction(pc)
            rsp = number("$rsp")
            moved = self.step(text, rsp, place)
            print("  %-34s RSP=%s" % (readable(text, place), place.name(number("$rsp"))))
            if moved:
                print("      " + moved)
            if text.startswith(("ret", "jmp")):
                break
        print("  slots after:")
        slots(place)
        print("  now at %s" % place.name(number("$pc")))

    @staticmethod
    def step(text, rsp, place):
        """Executes one instruction; what it moved, read from the machine."""
        match = re.match(r"(push|pop) +(\w+)", text)
        if match:
            op, register = match.groups()
            if op == "push":
                value = number("$" + register)
                gdb.execute("stepi", to_string=True)
                return "[%s] <- %s = %s" % (place.name(rsp - 8), register, place.name(value))
            value = word(rsp)
            gdb.execute("stepi", to_string=True)
            return "%s <- [%s] = %s" % (register, place.name(rsp), place.name(value))
        if re.match(r"mov QWORD PTR \[[^\]]+\],rsp", text):
            target = memory_operand(text)
            gdb.execute("stepi", to_string=True)
            return "%s <- RSP = %s" % (slot_name(target, place), place.name(word(target)))
        match = re.match(r"mov (\w+),QWORD PTR \[", text)
        if match:
            register, source = match.group(1), memory_operand(text)
            gdb.execute("stepi", to_string=True)
            shown = "RSP" if register == "rsp" else register
            return "%s <- %s = %s" % (shown, slot_name(source, place), place.name(number("$" + register)))
        match = re.match(r"mov rsp,(\w+)$", text)
        if match:
            gdb.execute("stepi", to_string=True)
            return "RSP <- %s = %s" % (match.group(1), place.name(number("$rsp")))
        if text.startswith("call"):
            gdb.execute("nexti", to_string=True)
            return "called it on this stack; back with rax=%d" % number("$rax")
        if text.startswith("ret"):
            value = word(rsp)
            gdb.execute("stepi", to_string=True)
            return "RIP <- [%s] = %s" % (place.name(rsp), place.name(value))
        if text.startswith("jmp"):
            target = number("$" + text.split()[1]) if re.match(r"jmp +r\w+$", text) else None
            gdb.execute("stepi", to_string=True)
            return "RIP <- %s" % (place.name(target) if target is not None else text.split()[1])
        if text.startswith("lea"):
            gdb.execute("stepi", to_string=True)
            register = text.split()[1].split(",")[0]
            return "%s <- %s" % (register, place.name(number("$" + register)))
        gdb.execute("stepi", to_string=True)
        return ""


def memory_operand(text):
    """The address an instruction's `[...]` operand names: gdb's comment
    gives it for `[rip+N]` (`# 0x... <main_context>`), else the register."""
    comment = re.search(r"# (0x[0-9a-f]+)", text)
    if comment:
        return int(comment.group(1), 16)
    return number("$" + text.split("[", 1)[1].split("]", 1)[0])


def slot_name(address, place):
    return place.slots.get(address, "[%s]" % place.name(address))


def readable(text, place):
    """The instruction, with the comment gdb appends cut to its symbol."""
    match = re.match(r"(.*?) +# 0x[0-9a-f]+ <(\w+)>", text)
    if match:
        return re.sub(r"\[rip\+0x[0-9a-f]+\]", "[%s]" % match.group(2), match.group(1))
    return re.sub(r"0x[0-9a-f]+ <([^>]+)>", r"\1", text)


# Where the stacks are, read at the first switch-steps (on main's side).
PLACE = None
SwitchSteps()
