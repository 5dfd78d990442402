// switch_variants_x86_64.S — benchmark-only variants of the x86-64 switch, each differing from
// stages/NN/src/switch_x86_64.S in one decision, so chapter 1 can show what each decision costs.
// All use the same 64-byte frame, so smarm_make_frame builds the first frame for every variant.

        .text

// Variant "ret": enters the target with `ret` instead of pop + indirect jump. (It reloads the FP
// control words unconditionally: compare it with "fpalways", which differs only in the entry.)
        .globl  smarm_bench_switch_ret
        .type   smarm_bench_switch_ret, @function
        .p2align 4
smarm_bench_switch_ret:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   smarm_bench_switch_ret, .-smarm_bench_switch_ret

// Variant "nofp": does not carry MXCSR and the x87 control word (what the prototype did).
// Wrong as a runtime (the rounding mode leaks between contexts); here only to price that state.
        .globl  smarm_bench_switch_nofp
        .type   smarm_bench_switch_nofp, @function
        .p2align 4
smarm_bench_switch_nofp:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        popq    %rcx
        jmpq    *%rcx
        .size   smarm_bench_switch_nofp, .-smarm_bench_switch_nofp

// Variant "fpalways": reloads MXCSR and the x87 control word on every switch, as Boost.Context
// does, instead of only when the target's differ from the running context's.
        .globl  smarm_bench_switch_fpalways
        .type   smarm_bench_switch_fpalways, @function
        .p2align 4
smarm_bench_switch_fpalways:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        popq    %rcx
        jmpq    *%rcx
        .size   smarm_bench_switch_fpalways, .-smarm_bench_switch_fpalways

        .section .note.GNU-stack, "", @progbits
