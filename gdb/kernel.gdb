# gdb/kernel.gdb: watch RSP move between the stacks of the coroutine kernel.
#
# Loaded by `make gdb` (`cargo run -- --gdb`), or by hand after
# `make gdb-server`:
#     gdb target/x86_64-target/debug/kernel \
#         -ex 'target remote 127.0.0.1:PORT' -x gdb/kernel.gdb
#
# This file sets gdb up, loads the Python package gdb/coro (the `coro`
# commands: `help coro`; `coro list`, `coro bt N`, `coro switch`, ... are
# also `coro-list`, `coro-bt N`, `coro-switch`, ...) and runs to `_start`,
# where in a replay it saves a snapshot for fast reverse steps.
#
# The kernel is linked at 0xffffffff80000000 and the bootloader loads it
# there, so the ELF's symbols are right as they are: no add-symbol-file, no
# offset. Its symbols are the NASM listing's labels (switch_to_coro1,
# main_context, coroutine1_stack, ...), so `break switch_to_coro1`,
# `x/gx &main_context` and `info symbol $rsp` answer in the listing's words.

set pagination off
set confirm off
set disassembly-flavor intel
# Demangle the symbols in disassembly too (`x/i`, `display/i $pc`).
set print asm-demangle on
# The listing's labels (main_context, coroutine1_stack, ...) are ELF symbols
# without debug info, and gdb's Rust expression parser does not look such
# symbols up ("No symbol 'main_context' in current context"); its C parser
# does, so `x/gx &main_context` and `p $rsp - (long)&coroutine1_stack` work
# as on the NASM program. Rust values still print (in C syntax), `bt`,
# `next`, `step` and `break kernel::rounds` are unaffected; `set language
# rust` brings Rust expressions back.
set language c
# The switch is naked asm with no line table: show the next instruction at
# every stop, and step it with `si`. Rust code around it steps with `next`.
display/i $pc

# The helpers are the Python package gdb/coro (one module per concern;
# `help coro` lists the commands). gdb neither puts a script's folder on
# Python's path nor tells a script where it is, so the loader asks the
# kernel: its debug info names its source files (kernel/src/lib.rs in the
# checkout it was built from), and gdb/coro is found in a folder above
# them. All in one function, deleted after use, so that nothing is left in
# the `__main__` that every gdb script shares.
python
def _load_coro():
    import importlib
    import os
    import sys

    import gdb

    init = gdb.lookup_global_symbol("kernel::init")
    if init is None or init.symtab is None:
        print("gdb/kernel.gdb: no coro commands: load a kernel of this project first", file=sys.stderr)
        return
    folder = os.path.dirname(init.symtab.fullname())
    while not os.path.isfile(os.path.join(folder, "gdb", "coro", "__init__.py")):
        if os.path.dirname(folder) == folder:
            print("gdb/kernel.gdb: no coro commands: no gdb/coro above %s" % init.symtab.fullname(), file=sys.stderr)
            return
        folder = os.path.dirname(folder)
    package_folder = os.path.join(folder, "gdb")
    if package_folder not in sys.path:
        sys.path.insert(0, package_folder)
    # Each registers itself with gdb when imported: the commands, what
    # names the switch's frames in stop lines and `bt`, the commands
    # that move through a run by its switches (`coro goto`, `coro snapshot`),
    # and the `coro` TUI window with `layout coro` and `coro show`.
    for module in ("coro.commands", "coro.frames", "coro.goto", "coro.window"):
        importlib.import_module(module)


try:
    _load_coro()
finally:
    del _load_coro
end

# QEMU starts paused in the firmware, before the bootloader has mapped the
# kernel: a software breakpoint written into kernel memory now would fail to
# insert or be overwritten when the bootloader copies the kernel in. Hardware
# breakpoints (the CPU's debug registers, four at most) compare addresses
# instead, so they survive. Run to the entry point, _start (it calls
# kernel_main), on a one-shot one: from there on the kernel is mapped, and
# ordinary `break` (`break kernel::rounds`) works too. Then `coro break`
# keeps three: switch_to_coro1 (phase 1), switch_into and switch_back.
thbreak _start
continue
# In a replay (`make gdb-replay`), a snapshot here makes every reverse step
# after it fast (`help coro snapshot`); in a live session this does nothing.
coro snapshot _start
coro break
echo coro: `layout coro` keeps every stack, its slot and RSP on screen beside the disassembly at each stop (`tui disable` leaves it); `coro show` prints the same here.\n
