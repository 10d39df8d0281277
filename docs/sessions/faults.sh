#!/bin/sh
# Boots each fault kernel (built by `make docs`) and prints what it says
# besides the transcript: its own line, its report and the boot tool's
# verdict (docs/faults.md).
set -e
for source in kernel/src/bin/fault_*.rs; do
    name=$(basename "$source" .rs)
    echo "\$ cargo run -- --bin $name --timeout 5"
    "$BOOT" "target/x86_64-target/debug/$name" --timeout 5 2>&1 |
        grep -v '^ *\[INFO \]\|^boot: booting'
    echo
done
