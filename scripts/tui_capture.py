#!/usr/bin/env python3
"""Captures gdb's `coro` TUI window as a learner sees it: gdb runs in a tmux
pane of a given size, on a replay of a recording, and after each gdb
command given with --step the pane's text (`tmux capture-pane`) is printed
under a heading `@@ N after `COMMAND``, N counted from 1.

    scripts/tui_capture.py --replay target/recording --windows

With no --step it opens `layout coro`, continues to switch_to_coro1 (the
breakpoint gdb/kernel.gdb puts there), steps to `mov rsp, [coro1_context]`
(capture 3) and across it (capture 4): docs/gdb-tui.md quotes those two
(docs/sessions/gdb-tui.sh, a listing of docs/listings.toml). With
--windows only the windows are kept, not the command line under them.
With --port it attaches to a `boot --gdb-server` already listening there
instead of starting `$BOOT --replay DIR --gdb-server` (the boot tool;
default target/debug/boot).

The tmux server (a socket of its own) and the replay it started are ended
when it stops, whatever happens.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_STEPS = ["layout coro", "continue", "stepi", "stepi"]
# How long one gdb command may take (a `coro goto` replays from _start).
STEP_TIMEOUT = 120


def tmux(socket, *args, capture=False):
    result = subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", *args],
        check=True,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        text=True,
    )
    return result.stdout if capture else None


def pane(socket):
    return tmux(socket, "capture-pane", "-p", "-t", "coro", capture=True)


def wait_for(socket, marker, what):
    """Waits until the pane shows `marker` (gdb echoed it after `what`)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        text = pane(socket)
        if marker in text:
            # The TUI redraws its windows after the command's output.
            time.sleep(0.5)
            return pane(socket)
        time.sleep(0.2)
    sys.exit("tui_capture: gdb did not finish %r within %d s; the pane shows:\n%s" % (what, STEP_TIMEOUT, pane(socket)))


def start_replay(recording):
    """`$BOOT --replay DIR --gdb-server`, and its gdbstub's port."""
    boot = subprocess.Popen(
        [os.environ.get("BOOT", os.path.join(ROOT, "target", "debug", "boot")), "--replay", recording, "--gdb-server"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group: the boot tool and its QEMU end together.
        start_new_session=True,
    )
    for line in boot.stderr:
        found = re.search(r"127\.0\.0\.1:(\d+)", line)
        if found:
            return boot, int(found.group(1))
    boot.wait()
    sys.exit("tui_capture: boot --replay %s --gdb-server ended without a gdbstub" % recording)


def capture(elf, port, steps, width, height, socket):
    """The pane after each step, as (step, text) pairs."""
    gdb = [
        "gdb", "-q", "-nx", elf,
        "-ex", "target remote 127.0.0.1:%d" % port,
        "-x", os.path.join(ROOT, "gdb", "kernel.gdb"),
    ]
    captures = []
    try:
        tmux(socket, "new-session", "-d", "-s", "coro", "-x", str(width), "-y", str(height), *gdb)
        tmux(socket, "set-option", "-t", "coro", "remain-on-exit", "on")
        wait_for(socket, "(gdb)", "gdb/kernel.gdb")
        for number, step in enumerate(steps):
            marker = "@step-%d-done" % number
            # -l: the words as typed, not as tmux key names.
            tmux(socket, "send-keys", "-t", "coro", "-l", step)
            tmux(socket, "send-keys", "-t", "coro", "Enter")
            tmux(socket, "send-keys", "-t", "coro", "-l", "echo %s\\n" % marker)
            tmux(socket, "send-keys", "-t", "coro", "Enter")
            captures.append((step, wait_for(socket, marker, step)))
        tmux(socket, "send-keys", "-t", "coro", "-l", "kill")
        tmux(socket, "send-keys", "-t", "coro", "Enter")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], stderr=subprocess.DEVNULL)
    return captures


def windows(text):
    """The capture's boxes (the disassembly's, the coro window's), without
    the command line under them."""
    lines, ends = [], 0
    for line in text.splitlines():
        lines.append(line.rstrip())
        if line.startswith("\u2514"):  # a box's bottom left corner
            ends += 1
            if ends == 2:
                break
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--replay", metavar="DIR", help="a recording (make record) to replay under gdb")
    where.add_argument("--port", type=int, help="attach to a boot --gdb-server listening on this port")
    parser.add_argument("--elf", help="the kernel's ELF (default: the recording's kernel.elf)")
    parser.add_argument("--step", action="append", dest="steps", metavar="COMMAND", help="a gdb command, then a capture (repeatable)")
    parser.add_argument("--width", type=int, default=80)
    parser.add_argument("--height", type=int, default=50)
    parser.add_argument("--socket", default="coro-tui-%d" % os.getpid(), help="tmux's socket name (-L); ended on the way out")
    parser.add_argument("--windows", action="store_true", help="only the windows, not the command line under them")
    parser.add_argument("--out", default="-", help="the text file the captures go to (default: stdout)")
    args = parser.parse_args()
    elf = args.elf or (args.replay and os.path.join(args.replay, "kernel.elf"))
    if elf is None:
        parser.error("--port needs --elf")
    boot = None
    try:
        if args.replay:
            boot, port = start_replay(args.replay)
        else:
            port = args.port
        captures = capture(elf, port, args.steps or DEFAULT_STEPS, args.width, args.height, args.socket)
    finally:
        if boot is not None:
            os.killpg(boot.pid, signal.SIGTERM)
            boot.wait()
    out = sys.stdout if args.out == "-" else open(args.out, "w")
    with out:
        for number, (step, text) in enumerate(captures, 1):
            shown = windows(text) if args.windows else text.rstrip("\n")
            out.write("@@ %d after `%s` (%dx%d)\n%s\n" % (number, step, args.width, args.height, shown))


if __name__ == "__main__":
    main()
