#!/bin/sh
# Records a run, then captures gdb's `coro` TUI window on its replay with the
# gdb TUI chapter's own tool (scripts/tui_capture.py), which writes
# docs/gdb-tui.txt and the `<!-- capture N -->` blocks of docs/gdb-tui.md.
set -e
recording=target/docs/gdb-tui
rm -rf "$recording"
mkdir -p target/docs
"$BOOT" --record "$recording" >/dev/null 2>&1
python3 scripts/tui_capture.py --replay "$recording" --height 40 \
    --out docs/gdb-tui.txt --chapter docs/gdb-tui.md >/dev/null
