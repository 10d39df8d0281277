"""The `coro` TUI window, `layout coro`, and `coro show`, which prints the
same view outside the TUI (a batch session, a pipe). Registered when
imported.

At every stop, forwards or in reverse, the window redraws coro.view's
lines: each routine's stack around its RSP, its context slot, where RSP
is, and a `*` (and reverse video) on what changed since the previous stop.
`layout coro` puts it between the disassembly and the command line;
`layout coro-wide`, for a terminal of 150 columns or more, beside the
disassembly.
"""

import textwrap

import gdb

from . import kernel, view
from .commands import STOPPED, Subcommand

# The escape sequences gdb's TUI understands in a window's text.
REVERSE, NORMAL = "\x1b[7m", "\x1b[0m"


class Stops:
    """The view at the latest stop and at the one before it: what the
    window and `coro show` compare. A stop where the kernel cannot be
    looked at keeps the line that says why, instead of a view."""

    def __init__(self):
        self.before = self.latest = None
        self.windows = []
        gdb.events.stop.connect(self.stopped)
        # After `kill`, or when QEMU exits, the window says so.
        gdb.events.exited.connect(self.stopped)

    def stopped(self, _event=None):
        self.before = self.latest if isinstance(self.latest, view.View) else None
        self.latest = read()
        for window in self.windows:
            window.render()


def read():
    """The view now, or the one line that says why there is none. Never
    raises: it runs at every stop, where a traceback would be noise."""
    try:
        said = kernel.where_the_run_is()
        if said is not None:
            return said
        return kernel.read_view()
    except (gdb.error, gdb.GdbError, view.stacks.Unreadable) as error:
        return str(error)


def lines(now, before, width, height=None):
    if isinstance(now, str):
        return [(line, False) for line in textwrap.wrap("coro: " + now, width)]
    return view.render(now, before, width, height)


STOPS = Stops()


class CoroWindow:
    """The TUI window: gdb calls render() when it needs drawing (opened,
    resized); Stops calls it at every stop."""

    def __init__(self, tui_window):
        self.window = tui_window
        self.window.title = "coro: stacks, slots, RSP (* changed since the last stop)"
        STOPS.windows.append(self)
        if STOPS.latest is None:
            STOPS.latest = read()

    def close(self):
        STOPS.windows.remove(self)

    def render(self):
        if not self.window.is_valid():
            return
        drawn = []
        height = self.window.height
        shown = view.clip(lines(STOPS.latest, STOPS.before, self.window.width, height), height)
        for line, changed in shown:
            drawn.append(REVERSE + line + NORMAL if changed else line)
        self.window.erase()
        self.window.write("\n".join(drawn))


class CoroShow(Subcommand):
    """Every routine's stack, its slot and RSP, as the `coro` TUI window shows them.

    The window's view outside the TUI (a batch session, a pipe, a terminal
    without curses): each routine with its state and its context slot,
    then its stack's words, higher addresses first, from a few above its
    RSP (live, or saved in its slot) to one below it. `RSP>` marks the
    live RSP, `slot>` where a slot points; a `*` starts what changed since
    the previous stop. `layout coro` shows it beside the disassembly."""

    NAME, CATEGORY = "show", gdb.COMMAND_DATA
    # It says where the run is itself, as the window does.
    NEEDS = STOPPED

    def run(self, arg):
        width = gdb.parameter("width") or 80
        now = read()
        if isinstance(now, str):
            raise gdb.GdbError(now)
        print(view.plain(lines(now, STOPS.before, max(width, view.MIN_WIDTH))))


gdb.register_window_type("coro", CoroWindow)
# The disassembly, the coro window under it, the command line.
gdb.execute("tui new-layout coro asm 1 coro 3 cmd 1")
# In a terminal of 150 columns or more: the two side by side.
gdb.execute("tui new-layout coro-wide {-horizontal asm 1 coro 1} 3 cmd 1")
CoroShow()
