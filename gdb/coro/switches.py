"""The run as a numbered sequence of switches (no gdb here): where the
kernel is in it, and which way `coro goto N` has to go.

The kernel counts a switch before making it (`SWITCHES`, the number its
transcript line and event line carry) and records its arrival when the
arriving side calls `roster::arrived` (`ARRIVED`); `coro goto N` stops at
the entry of that call with SWITCHES == N.
"""

HERE, FORWARD, BACKWARD = "here", "forward", "backward"


def position(counted, arrived, at_arrival):
    """The number of the last switch the run has reached: at the entry of
    `arrived` (`at_arrival`), the one arriving (`counted`); elsewhere the
    last one that arrived (`counted` may be one ahead: counted, not yet
    made)."""
    return counted if at_arrival else arrived


def direction(target, counted, arrived, at_arrival):
    """HERE, FORWARD or BACKWARD: which way switch #`target` lies."""
    now = position(counted, arrived, at_arrival)
    if target == now and at_arrival:
        return HERE
    return FORWARD if target > now else BACKWARD
