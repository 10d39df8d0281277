"""The lines the commands print, from plain values (no gdb here)."""


def address(value):
    """An address as the kernel's transcript writes it: 0x and 16 digits."""
    return "%#018x" % value


def rsp_line(rsp, where):
    """`RSP=0x... (main_stack top-0x498)`."""
    return "RSP=%s (%s)" % (address(rsp), where)


def slots_line(slots):
    """`main_context=0x... (main_stack top-0x138) coro1_context=...` from
    (slot name, saved RSP, where it points) triples."""
    return " ".join("%s=%s (%s)" % (name, address(saved), where) for name, saved, where in slots)


def list_line(routine, state, saved, used=None, reported=None):
    """One routine of `coro list`: number, name, state, its slot's RSP and,
    for a coroutine (`used` given), how much of its stack it has used; and
    when the kernel's summary reported another figure (`reported`, 0 before
    it), that the stack was reused after it, and the summary's figure."""
    line = "%d %-10s %-11s %s=%s" % (routine.number, routine.name, state, routine.slot, address(saved))
    if used is not None:
        line += " stack used %d of %d bytes" % (used, routine.top - routine.bottom)
        if reported and reported != used:
            line += (
                " by the code that reused it after the kernel's summary; %s's own high-water mark, "
                "%d bytes, as the summary reported" % (routine.name, reported)
            )
    return line


def regs_line(registers):
    """`regs rbx=0x.. rbp=0x.. ...` from (name, value) pairs."""
    return "regs " + " ".join("%s=%#x" % pair for pair in registers)


def step_line(instruction, rsp, where):
    """One instruction of `coro switch` and RSP after it."""
    return "  %-24s -> %s" % (instruction, rsp_line(rsp, where))


def symbol_in(formatted):
    """The symbol in gdb's `0x... <name+offset>` (gdb.format_address), or
    None when gdb knows no symbol there (`0x...` alone)."""
    start = formatted.find(" <")
    if start < 0 or not formatted.endswith(">"):
        return None
    inside = formatted[start + 2 : -1]
    name, plus, offset = inside.rpartition("+")
    return name if plus and offset.isdigit() else inside


def symbol_and_offset(formatted):
    """`name+offset` from gdb's `0x... <name+offset>`, `name` alone at its
    first byte, None when gdb knows no symbol there."""
    name = symbol_in(formatted)
    if name is None:
        return None
    return formatted[formatted.find(" <") + 2 : -1]


def kind_word(value):
    """The word the event lines and the transcript use for a switch kind,
    from gdb's text of the Rust enum (`protocol::event::Kind::Resume`:
    `resume`)."""
    return value.split("::")[-1].lower()


def arrival_line(number, kind, leaving, arriving, function, caller):
    """What `coro goto N` says where it stops: the switch, its kind, who
    left and who arrived, the function it stopped in and its caller (the
    arriving side's code)."""
    return "switch #%d (%s): %s -> %s; stopped on %s's side, in %s called from %s" % (
        number,
        kind,
        leaving,
        arriving,
        arriving,
        function,
        caller,
    )
