# The session of docs/gdb.md: typed at gdb's prompt after `make gdb-server`
# and gdb/kernel.gdb's run to _start (scripts/gdb_listing.py).
break switch_to_coro1
continue
bt
x/gx &main_context
coro list
continue
coro switch
continue
bt
info symbol $rsp
continue
continue
continue
coro list
coro bt 2
kill
