"""A frame filter that names the switch's signal frames.

The switch's unwind information marks the trampoline's frame (and the
original switch_to_coroN's while it runs a coroutine function on the
coroutine's stack) as a signal frame: that mark is what lets gdb accept
callers whose stack lies below the coroutine's (see "Backtraces across the
switch" in switch/src/lib.rs). gdb would print such a frame as `<signal
handler called>`; no signal is involved, so this shows its function's name.
Registered when imported.
"""

import gdb
from gdb.FrameDecorator import FrameDecorator

from . import kernel


class NamedSwitchFrame(FrameDecorator):
    """A signal frame shown by the name of the function it is in."""

    def function(self):
        pc = self.inferior_frame().pc()
        return kernel.function_at(pc) or pc


class SwitchFrames:
    """The frame filter that applies NamedSwitchFrame."""

    def __init__(self):
        self.name = "coroutine-switch-frames"
        self.priority = 100
        self.enabled = True
        gdb.frame_filters[self.name] = self

    def filter(self, frames):
        for frame in frames:
            if frame.inferior_frame().type() == gdb.SIGTRAMP_FRAME:
                yield NamedSwitchFrame(frame)
            else:
                yield frame


SwitchFrames()
