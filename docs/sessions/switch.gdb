# The switches of docs/switch.md, stepped by scripts/switch_steps.py: phase
# 1's switch_to_coro1, then switch #9 (main resumes coroutine1, which has
# yielded twice already) and #10 (coroutine1 yields back).
source docs/sessions/switch_steps.py
continue
switch-steps switch #1, main calls coroutine1_func on coroutine1_stack
continue
continue
continue
continue
continue
switch-steps switch #9, main resumes coroutine1
continue
switch-steps switch #10, coroutine1 yields to main
kill
