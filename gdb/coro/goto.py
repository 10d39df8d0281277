"""`coro goto N` and `coro snapshot`: moving through a run by its switches,
backwards too when QEMU replays a recording (`make record`, then `make
gdb-replay`; see docs/time-travel.md). Registered when imported.
"""

import gdb

from . import kernel, stacks, switches, text
from .commands import STOPPED, Subcommand


def stop_at(address, hardware=False):
    """A breakpoint for this command's own use: not listed, silent; a
    hardware one (the CPU's debug registers) holds in memory that the
    bootloader has not filled yet."""
    kind = gdb.BP_HARDWARE_BREAKPOINT if hardware else gdb.BP_BREAKPOINT
    breakpoint = gdb.Breakpoint("*%#x" % address, type=kind, internal=True)
    breakpoint.silent = True
    return breakpoint


class SwitchArrival(gdb.Breakpoint):
    """Stops at the entry of roster::arrived, which every switch's arriving
    side calls first, when the switch arriving is number `switch`."""

    def __init__(self, switch):
        super().__init__("*%#x" % kernel.facts_function("arrival"), internal=True)
        self.silent = True
        self.switch = switch

    def stop(self):
        return kernel.switch_counts()[0] == self.switch


class CoroGoto(Subcommand):
    """Run to switch N, forwards or (in a replay) backwards.

    coro goto N: switches are numbered as in the transcript (#N), the event
    lines (n=N), the picture and the trace. It stops on switch N's arriving
    side just after the switch, at the entry of kernel::roster::arrived,
    which that side calls first (it writes the switch's transcript and event
    lines).

    Backwards it needs a replay (`make record`, then `make gdb-replay`): it
    goes back to kernel::init (every kernel calls it before its first
    switch) with one reverse-continue, then forwards to the switch. That ends
    in the same state as reverse-continuing over every switch in between,
    each of which costs QEMU a reload of its snapshot and a replay. Your
    breakpoints are disabled on the way and enabled again at the stop."""

    NAME, CATEGORY = "goto", gdb.COMMAND_RUNNING
    # From the firmware too: it runs to _start first.
    NEEDS = STOPPED

    def run(self, arg):
        try:
            target = int(arg)
        except ValueError:
            raise gdb.GdbError("usage: coro goto N (a switch number from the transcript or the picture)") from None
        if target < 1:
            raise gdb.GdbError("switches are numbered from 1")
        # Before _start the kernel is not mapped: its counters cannot be
        # read, and a software breakpoint written into it would not hold.
        # Everything lies forwards from there: run to _start first.
        before_the_kernel = kernel.before_the_kernel()
        if before_the_kernel:
            way = switches.FORWARD
        else:
            counted, arrived = kernel.switch_counts()
            at_arrival = kernel.register("pc") == kernel.facts_function("arrival")
            way = switches.direction(target, counted, arrived, at_arrival)
        if way == switches.HERE:
            print("already at switch #%d" % target)
            return
        if way == switches.BACKWARD and not kernel.replaying():
            raise gdb.GdbError(
                "switch #%d is behind (the last one was #%d) and this QEMU runs live: only a replay "
                "runs backwards. Record the run (make record) and debug its replay (make gdb-replay)"
                % (target, switches.position(counted, arrived, at_arrival))
            )
        yours = [b for b in gdb.breakpoints() if b.enabled]
        ours = []
        try:
            for b in yours:
                b.enabled = False
            if before_the_kernel:
                ours.append(stop_at(kernel.required_function("_start"), hardware=True))
                gdb.execute("continue", to_string=True)
                if kernel.before_the_kernel():
                    raise gdb.GdbError("stopped before the kernel's entry, _start")
            if way == switches.BACKWARD:
                ours.append(stop_at(kernel.facts_function("init")))
                gdb.execute("reverse-continue", to_string=True)
            ours.append(SwitchArrival(target))
            ours.append(stop_at(kernel.facts_function("exit")))
            gdb.execute("continue", to_string=True)
        finally:
            for b in ours:
                b.delete()
            for b in yours:
                b.enabled = True
        self.report(target)

    @staticmethod
    def report(target):
        arrival = kernel.facts_function("arrival")
        pc = kernel.register("pc")
        if pc == arrival and kernel.switch_counts()[0] == target:
            frame = gdb.selected_frame()
            known = kernel.routines()
            names = {r.number: r.name for r in known}

            def argument(name):
                try:
                    return frame.read_var(name)
                except ValueError:
                    return None

            def routine(value):
                return "?" if value is None else names.get(int(value), str(value))

            kind = argument("kind")
            caller = frame.older()
            print(
                text.arrival_line(
                    target,
                    "?" if kind is None else text.kind_word(str(kind)),
                    routine(argument("from")),
                    routine(argument("to")),
                    frame.name() or "?",
                    (caller.name() or "?") if caller is not None else "?",
                )
            )
            rsp = kernel.rsp()
            print(text.rsp_line(rsp, stacks.locate(rsp, known)))
        elif pc == kernel.facts_function("exit"):
            raise gdb.GdbError(
                "the run ends after switch #%d (stopped in kernel::exit::exit_qemu): there is no switch #%d"
                % (kernel.switch_counts()[0], target)
            )
        else:
            gdb.execute("frame")
            raise gdb.GdbError("stopped before reaching switch #%d" % target)


class CoroSnapshot(Subcommand):
    """In a replay, save a QEMU snapshot here (default name: here).

    coro snapshot [NAME] runs `monitor savevm NAME`. A reverse command
    reloads the latest snapshot before the point it goes back to and replays
    forwards from it; without one of ours that is QEMU's own at the reset
    vector, some 112 million firmware instructions before _start, and a
    reverse-stepi takes seconds instead of about 0.1 s. gdb/kernel.gdb takes
    one at _start. In a live session there is nothing to save: typed, it
    says so; from a script, it does nothing."""

    NAME, CATEGORY = "snapshot", gdb.COMMAND_RUNNING
    NEEDS = STOPPED

    def invoke(self, arg, from_tty):
        self.typed = from_tty
        super().invoke(arg, from_tty)

    def run(self, arg):
        if not kernel.replaying():
            if self.typed:
                print("QEMU runs live, not a replay: no snapshot needed (reverse execution needs a replay)")
            return
        name = arg.strip() or "here"
        said = gdb.execute("monitor savevm %s" % name, to_string=True).strip()
        if said:
            # QEMU's monitor reports a failure as text, not as an error.
            raise gdb.GdbError("monitor savevm %s: %s" % (name, said))


CoroGoto()
CoroSnapshot()
