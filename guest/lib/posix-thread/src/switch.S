/*
 * void kiln_ctx_switch(void **save_sp, void *load_sp): saves the System V callee-saved
 * registers (rbp rbx r12-r15) on the current stack, stores rsp in *save_sp, loads load_sp and
 * pops the same registers from there.  The rest is caller-saved, already spilled by the C
 * caller.  The FS base is switched by the C caller (thread.c); MXCSR and the x87 control word
 * are callee-saved too, but no program here changes them per thread.
 *
 * A new thread's stack holds six zeroes, then kiln_thread_trampoline as the return address,
 * placed so that rsp % 16 == 0 when it runs: its call then gives kiln_thread_start the ABI's
 * entry alignment.
 */
        .text
        .globl  kiln_ctx_switch
        .type   kiln_ctx_switch, @function
        .p2align 4
kiln_ctx_switch:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   kiln_ctx_switch, . - kiln_ctx_switch

        .globl  kiln_thread_trampoline
        .type   kiln_thread_trampoline, @function
        .p2align 4
kiln_thread_trampoline:
        xorl    %ebp, %ebp              /* end of the frame-pointer chain */
        call    kiln_thread_start
        ud2
        .size   kiln_thread_trampoline, . - kiln_thread_trampoline

        .section .note.GNU-stack, "", @progbits
