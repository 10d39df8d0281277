#!/bin/sh
# Records a run of the kernel, then captures gdb's `coro` window through
# tmux on its replay, before and after `mov rsp, [coro1_context]`
# (scripts/tui_capture.py): the listing of docs/gdb-tui.md.
set -e
recording=target/docs/gdb-tui
rm -rf "$recording"
mkdir -p target/docs
"$BOOT" --record "$recording" >/dev/null 2>&1
exec scripts/tui_capture.py --replay "$recording" --width 80 --height 40 --windows
