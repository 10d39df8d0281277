"""gdb helpers for the coroutine kernel, loaded by gdb/kernel.gdb.

One module per concern:

- `roster`: the kernel's coroutine set, read from its roster's gdb view;
- `stacks`: stack arithmetic (where an address lies, stack use, a
  routine's state, the frame a switch saves);
- `text`: the lines the commands print;
- `kernel`: the running kernel through gdb (memory, registers, symbols,
  the records the kernel keeps for gdb);
- `frames`: how the switch's frames are named (the trampoline's, not
  `<signal handler called>`): an unwinder and a frame filter;
- `commands`: the `coro` commands;
- `switches`: the run as numbered switches, which way `coro goto` goes;
- `goto`: `coro goto N` and `coro snapshot`, backwards too in a replay;
- `view`: what the `coro` window shows, as lines of text;
- `window`: the `coro` TUI window, `layout coro` and `coro show`.

`roster`, `stacks`, `switches`, `text` and `view` do not import gdb:
gdb/tests runs their unit tests with plain python3 (`cargo test -p boot
--test end_to_end gdb_package`). `frames`, `commands`, `goto` and `window` register
themselves with gdb when imported; a new command is one more `Subcommand`
class in `commands` (`coro NAME`, and `coro-NAME` as its alias), or in a
module of its own that registers its classes, as `goto` and `window` do.
"""
