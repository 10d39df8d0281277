# The session of docs/time-travel.md, typed at gdb's prompt on the replay of
# a recording (docs/sessions/time-travel.sh records it first).
delete
break *coroutine1_func
continue
coro where
reverse-stepi
coro where
reverse-stepi
coro where
x/gx &main_context
delete
coro goto 9
watch -l *(long *)&coro1_context
reverse-continue
delete
coro goto 5
monitor info replay
kill
