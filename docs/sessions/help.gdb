# `help coro` for docs/gdb.md.
help coro
