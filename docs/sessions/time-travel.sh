#!/bin/sh
# Records a run of the kernel, then prints a gdb session on its replay
# (docs/sessions/time-travel.gdb): the listing of docs/time-travel.md.
set -e
recording=target/docs/time-travel
rm -rf "$recording"
mkdir -p target/docs
"$BOOT" --record "$recording" >/dev/null 2>&1
exec scripts/gdb_listing.py docs/sessions/time-travel.gdb -- --replay "$recording"
