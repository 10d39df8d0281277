#!/bin/sh
# A replay checks its recording before QEMU starts: what it says, exit 2,
# for a changed disk image and for another kernel (docs/time-travel.md).
set -e
recording=target/docs/refusals
changed=target/docs/changed
rm -rf "$recording" "$changed"
mkdir -p target/docs
"$BOOT" --record "$recording" >/dev/null 2>&1
cp -r "$recording" "$changed"
printf x >>"$changed/disk.img"
cargo kbuild -q --bin fault_panic
other=target/x86_64-target/debug/fault_panic
echo "\$ target/debug/boot --replay $changed"
"$BOOT" --replay "$changed" 2>&1 && exit 1 || echo "(exit status $?)"
echo "\$ target/debug/boot --replay $recording $other"
"$BOOT" --replay "$recording" "$other" 2>&1 && exit 1 || echo "(exit status $?)"
