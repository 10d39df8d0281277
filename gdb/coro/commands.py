"""The gdb commands: `coro list`, `coro bt N`, `coro break`, `coro slots`,
`coro where`, `coro switch`, `coro regs` (`help coro` lists them), each also
under its older one-word name (`coro-list`, `coro-bt`, ...). Registered when
imported.
"""

import gdb

from . import kernel, stacks, text


class Coro(gdb.Command):
    """Commands that watch RSP move between the coroutine kernel's stacks.

    They read the coroutine set from the kernel's roster, so they work for
    any kernel of this project. Each is also `coro-NAME` (`coro-list`)."""

    def __init__(self):
        super().__init__("coro", gdb.COMMAND_USER, prefix=True)


# What a command needs before it runs: gdb stopped in the kernel, gdb
# stopped anywhere, or nothing.
KERNEL, STOPPED, NOTHING = "kernel", "stopped", "nothing"


def slots_line(known):
    slots = []
    for routine in known:
        saved = kernel.saved_rsp(routine)
        slots.append((routine.slot, saved, stacks.locate(saved, known)))
    return text.slots_line(slots)


def where_line(known):
    rsp = kernel.rsp()
    return text.rsp_line(rsp, stacks.locate(rsp, known))


class Subcommand(gdb.Command):
    """A `coro NAME` command, also known by its older name `coro-NAME`.

    Its `run(arg)` does the work once gdb is stopped in the kernel (or only
    stopped, with NEEDS = STOPPED; anywhere with NEEDS = NOTHING); otherwise
    it says in one line where the run is and the way on. A gdb error on the way (no registers,
    unreadable memory) ends it with a one-line message, never a Python
    traceback."""

    NAME = CATEGORY = None
    NEEDS = KERNEL

    def __init__(self):
        super().__init__("coro " + self.NAME, self.CATEGORY)
        gdb.execute("alias coro-%s = coro %s" % (self.NAME, self.NAME))

    def invoke(self, arg, from_tty):
        try:
            if self.NEEDS != NOTHING:
                kernel.check_stopped(in_the_kernel=self.NEEDS == KERNEL)
            self.run(arg)
        except (gdb.error, stacks.Unreadable) as error:
            raise gdb.GdbError("coro %s: %s" % (self.NAME, error)) from None


class CoroBreak(Subcommand):
    """Hardware breakpoints on the switches.

    On switch_to_coro1 (the original program's first switch, phase 1; only
    in the kernel that has one) and on switch_into and switch_back (every
    resume and every yield of phase 2). Hardware, because the kernel is not
    mapped yet when QEMU starts paused; three of the CPU's four."""

    NAME, CATEGORY = "break", gdb.COMMAND_BREAKPOINTS
    # Breakpoints by address: from the firmware on, or with no QEMU at all.
    NEEDS = NOTHING

    def run(self, arg):
        # Only the coroutine kernel replays the original's phase 1; the
        # others (round_robin, the fault kernels) start with switch_into.
        first = kernel.function_address("switch_to_coro1")
        for address in ([first] if first is not None else []) + kernel.switch_addresses():
            gdb.execute("hbreak *%#x" % address)


class CoroSlots(Subcommand):
    """Each context slot's saved RSP, and where it points.

    main_context, coro1_context, ...: the saved RSP in each, and the stack
    and offset below its top it points into."""

    NAME, CATEGORY = "slots", gdb.COMMAND_DATA

    def run(self, arg):
        print("slots " + slots_line(kernel.routines()))


class CoroWhere(Subcommand):
    """Which stack RSP is in now, and how far below its top."""

    NAME, CATEGORY = "where", gdb.COMMAND_DATA

    def run(self, arg):
        print(where_line(kernel.routines()))


class CoroList(Subcommand):
    """Every routine of the kernel's roster, one line each.

    Its number (for coro bt), name, state (running, suspended, finished,
    not started), the RSP its context slot holds, and for a coroutine how
    many bytes of its stack it has used so far (deepest point since it was
    set up). Once the kernel's summary has reported the high-water marks,
    code that reuses a stack after it (the summary's timing reuses
    coroutine1's) leaves its own figure there: the line then gives both."""

    NAME, CATEGORY = "list", gdb.COMMAND_DATA

    def run(self, arg):
        rsp = kernel.rsp()
        for routine in kernel.routines():
            used = reported = None
            if routine.number:
                used, reported = kernel.stack_used(routine), kernel.reported_high_water(routine)
            print(text.list_line(routine, kernel.state(routine, rsp), kernel.saved_rsp(routine), used, reported))


def frames_to_trampoline():
    """How many frames, from the newest, down to and including the
    coroutine's trampoline; None if there is none (main, or phase 1)."""
    frame, count = gdb.newest_frame(), 0
    while frame is not None:
        count += 1
        if frame.type() == gdb.SIGTRAMP_FRAME and kernel.function_at(frame.pc()) == "coroutine_trampoline":
            return count
        frame = frame.older()
    return None


class CoroBt(Subcommand):
    """coro bt N: routine N's backtrace, as if it ran.

    N is 0 for main, 1.. for the coroutines, as numbered by coro list;
    whatever runs now.

    A suspended routine is its saved frame: its slot holds RSP pointing at
    [rbx, rbp, continue address] (the frame the switches pop). coro bt loads
    those into rbx, rbp, rip and RSP (as the switch would), runs `bt`, then
    puts every register back and reselects the frame you had selected. For
    main in phase 1 (the original's switch saves RSP only), the slot points
    at the return address into kernel_main.

    A suspended coroutine's backtrace stops at its trampoline: below it
    would be its last resumer's frames, read through main_context, which
    holds something else once main has moved on. Arguments that the
    compiler kept in r12-r15 show the current values of those registers:
    the switch does not save them (its callers declare them clobbered)."""

    NAME, CATEGORY = "bt", gdb.COMMAND_STACK

    def run(self, arg):
        try:
            number = int(arg)
        except ValueError:
            raise gdb.GdbError("usage: coro bt N (a routine number from coro list)") from None
        known = kernel.routines()
        if not 0 <= number < len(known):
            raise gdb.GdbError("no routine %d: coro list shows 0 to %d" % (number, len(known) - 1))
        routine = known[number]
        what = kernel.state(routine, kernel.rsp())
        if what == stacks.RUNNING:
            print("%s is running: its backtrace is `bt`" % routine.name)
            gdb.execute("bt")
            return
        if what != stacks.SUSPENDED:
            print("%s is %s: it has no frames to show" % (routine.name, what))
            return
        saved = kernel.saved_rsp(routine)
        frame = stacks.saved_registers(saved, kernel.MEMORY, kernel.is_compiled_code)
        level = gdb.selected_frame().level()
        # Registers belong to the innermost frame: setting $rip in an outer
        # frame would write to the memory where that frame's caller saved it.
        gdb.execute("frame 0", to_string=True)
        before = {name: kernel.register(name) for name in frame}
        print("%s, suspended at %s:" % (routine.name, text.rsp_line(saved, stacks.locate(saved, known))))
        try:
            for name, value in frame.items():
                gdb.execute("set $%s = %#x" % (name, value), to_string=True)
            depth = frames_to_trampoline()
            gdb.execute("bt" if depth is None else "bt %d" % depth)
            if depth is not None:
                print(
                    "(below coroutine_trampoline: the routine that resumes %s, "
                    "which is not doing so now; `bt` shows it while %s runs)" % (routine.name, routine.name)
                )
        finally:
            for name, value in before.items():
                gdb.execute("set $%s = %#x" % (name, value), to_string=True)
            gdb.execute("frame %d" % level, to_string=True)


class CoroRegs(Subcommand):
    """rbx, rbp, r12-r15 and rsp on one line.

    Across a round trip the switch restores rbx, rbp and rsp; r12-r15 are
    declared clobbered where it is entered (the compiler keeps what is live
    in them), so they may differ right after a switch."""

    NAME, CATEGORY = "regs", gdb.COMMAND_DATA
    NEEDS = STOPPED

    def run(self, arg):
        names = ("rbx", "rbp", "r12", "r13", "r14", "r15", "rsp")
        print(text.regs_line((name, kernel.register(name)) for name in names))


class CoroSwitch(Subcommand):
    """Step through one switch, an instruction at a time.

    Run it when stopped at the first instruction of switch_into or
    switch_back (coro break puts breakpoints there). Prints RSP and the
    slots before, each instruction as it executes, and RSP and the slots
    after the final `jmp rcx` (switch_into) or `ret` (switch_back), which
    lands on the other side."""

    NAME, CATEGORY = "switch", gdb.COMMAND_RUNNING

    def run(self, arg):
        if kernel.register("pc") not in kernel.switch_addresses():
            raise gdb.GdbError("not at the start of switch_into or switch_back: use coro break and continue")
        known = kernel.routines()
        print("before: " + where_line(known))
        print("before: slots " + slots_line(known))
        # Without this, every stepi would also print the frame it stops in.
        with gdb.with_parameter("suppress-cli-notifications", "on"):
            while True:
                pc = kernel.register("pc")
                instruction = gdb.selected_frame().architecture().disassemble(pc)[0]["asm"]
                gdb.execute("stepi", to_string=True)
                rsp = kernel.rsp()
                print(text.step_line(instruction, rsp, stacks.locate(rsp, known)))
                if instruction.startswith(("jmp", "ret")):
                    break
        print("after:  " + where_line(known))
        print("after:  slots " + slots_line(known))
        print("after:  rax=%#x (the value handed across)" % kernel.register("rax"))


Coro()
# Every Subcommand defined above: a new command is one more such class.
for subcommand in Subcommand.__subclasses__():
    subcommand()
