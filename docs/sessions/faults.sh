#!/bin/sh
# Boots each fault kernel and prints its last two lines: the kernel's
# report and the boot tool's verdict (docs/faults.md).
set -e
for source in kernel/src/bin/fault_*.rs; do
    name=$(basename "$source" .rs)
    echo "\$ cargo run -- --bin $name --timeout 5"
    "$BOOT" --bin "$name" --timeout 5 2>&1 | grep -v '^ *\[INFO \]' | grep -v '^ *Finished\|^ *Compiling\|^boot: booting'
    echo
done
