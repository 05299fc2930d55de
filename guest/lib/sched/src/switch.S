/*
 * Context switch for the cooperative scheduler (x86_64 SysV).
 *
 * void sched_ctx_switch(void **save_sp, void *load_sp)
 *   Pushes the callee-saved registers (rbp rbx r12 r13 r14 r15) on the
 *   current stack, stores rsp into *save_sp, loads load_sp and pops the
 *   same registers from there, then returns on the new stack.  Everything
 *   else is caller-saved in the SysV ABI, so the C caller has already
 *   spilled it.  No FPU/SSE state: the guest is built -mgeneral-regs-only,
 *   and MXCSR / x87 control words are never changed.
 *
 * A new thread's stack is prepared by thread_create (sched.c) as
 *   [r15 r14 r13 r12 rbx rbp]=0, sched_thread_trampoline, 0, 0
 * with the trampoline's slot placed so that rsp % 16 == 0 when it starts:
 * its call then gives sched_thread_start the ABI's entry alignment.
 */
        .file   "switch.S"
        .text

        .globl  sched_ctx_switch
        .type   sched_ctx_switch, @function
        .p2align 4
sched_ctx_switch:
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
        .size   sched_ctx_switch, . - sched_ctx_switch

/* First code of every new thread; sched_thread_start never returns. */
        .globl  sched_thread_trampoline
        .type   sched_thread_trampoline, @function
        .p2align 4
sched_thread_trampoline:
        xorl    %ebp, %ebp              /* end of the frame-pointer chain */
        call    sched_thread_start
        ud2
        .size   sched_thread_trampoline, . - sched_thread_trampoline

        .section .note.GNU-stack, "", @progbits
