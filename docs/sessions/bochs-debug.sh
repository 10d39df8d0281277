#!/bin/sh
# A session in Bochs's own debugger (`make bochs-debug`), its commands typed
# on standard input: the listing of docs/emulators.md. Bochs's expressions
# take numbers, not symbols, so main_context's address comes from the ELF.
set -e
cargo kbuild -q --bin kernel
elf=target/x86_64-target/debug/kernel
main_context=0x$(nm "$elf" | awk '$3 == "main_context" { print $1 }')
echo '$ make bochs-debug'
printf '%s\n' r 'x /4gx rsp' 'u /3' s "x /1gx $main_context" s r creg 'info tab' q |
    "$BOOT" "$elf" --bochs-debug 2>&1
