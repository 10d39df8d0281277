; The original coroutine program, rebuilt from its description as a Linux
; user-space program (x86-64, NASM syntax). Everything below the exit is the
; program as described: two 4096-byte stacks and three context slots in .bss,
; _start, init_coroutines, switch_to_coro1/2, coroutine1_func/2_func.
;
; Build and run:  make original   (or: nasm -f elf64 -g -F dwarf coroutines.asm
;                 && ld -o coroutines coroutines.o && ./coroutines; echo $?)
;
; Its flaw, kept on purpose: a switch saves main's RSP only. The coroutine
; functions are *called* on their stacks and can only run to their `ret`;
; nothing ever saves a coroutine's own RSP, so none can yield halfway.
; docs/original.md walks through it; the kernel's phase 1 replays it.

        global  _start

section .bss
        ; The coroutines' stacks. A stack grows down: its top is the label
        ; plus 4096, and the first push writes just below it.
        alignb  16
coroutine1_stack:       resb 4096
coroutine2_stack:       resb 4096
        ; The context slots: one saved RSP each.
main_context:           resq 1
coro1_context:          resq 1
coro2_context:          resq 1

section .text

; The entry point: set the coroutines up, run coroutine1, run coroutine2.
_start:
        call    init_coroutines
        call    switch_to_coro1
        call    switch_to_coro2
        ; Not in the description: a Linux process has nowhere to return to,
        ; so it ends with the exit system call, status 0.
        mov     eax, 60                 ; __NR_exit
        xor     edi, edi                ; status 0
        syscall

; Each coroutine's RSP starts at the top of its own (empty) stack.
init_coroutines:
        mov     rax, coroutine1_stack + 4096
        mov     [coro1_context], rax
        mov     rax, coroutine2_stack + 4096
        mov     [coro2_context], rax
        ret

; main -> coroutine1 and back. On entry [rsp] is the return address into
; _start: that is the RSP main_context keeps.
switch_to_coro1:
        mov     [main_context], rsp     ; save main's RSP
        mov     rsp, [coro1_context]    ; now on coroutine1_stack
        call    coroutine1_func         ; runs to its end: there is no yield
        mov     rsp, [main_context]     ; back on main's stack, rax kept
        ret                             ; to _start

; The same with coroutine2's slot and function.
switch_to_coro2:
        mov     [main_context], rsp
        mov     rsp, [coro2_context]
        call    coroutine2_func
        mov     rsp, [main_context]
        ret

; The coroutines' "work": a value in rax, then return.
coroutine1_func:
        mov     rax, 1
        ret

coroutine2_func:
        mov     rax, 2
        ret
