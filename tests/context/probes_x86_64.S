// probes_x86_64.S — assembly probes for the context tests: only assembly can put known values in
// every callee-saved register across a switch and read them back without the compiler's help.

// Sentinel i goes into callee-saved register i; the C++ test computes the same values.
#define SENTINEL(i) (0x5EED000000000000 + (i) * 0x0000010101010101 + 1)

        .text

// void smarm_test_switch_with_sentinels(void** save, void* to, uint64_t out[8])
// Loads sentinels into rbx, rbp, r12-r15, switches away with smarm_switch, and once resumed
// writes what those registers hold into out[0..5], then MXCSR into out[6] and the x87 control
// word into out[7]. Preserves the caller's callee-saved registers, as the ABI requires of it.
        .globl  smarm_test_switch_with_sentinels
        .type   smarm_test_switch_with_sentinels, @function
smarm_test_switch_with_sentinels:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        pushq   %rdx                    // out; 7 pushes leave rsp 16-aligned for the call
        movabsq $SENTINEL(0), %rbx
        movabsq $SENTINEL(1), %rbp
        movabsq $SENTINEL(2), %r12
        movabsq $SENTINEL(3), %r13
        movabsq $SENTINEL(4), %r14
        movabsq $SENTINEL(5), %r15
        call    smarm_switch
        movq    (%rsp), %rax
        movq    %rbx, 0(%rax)
        movq    %rbp, 8(%rax)
        movq    %r12, 16(%rax)
        movq    %r13, 24(%rax)
        movq    %r14, 32(%rax)
        movq    %r15, 40(%rax)
        movq    $0, 48(%rax)
        stmxcsr 48(%rax)
        movq    $0, 56(%rax)
        fnstcw  56(%rax)
        popq    %rdx
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   smarm_test_switch_with_sentinels, .-smarm_test_switch_with_sentinels

// void smarm_test_clobber_and_switch(void** save, void* to)
// Puts garbage in every callee-saved register and different FP control words (flush-to-zero,
// round toward zero, single precision), switches away, and on resume restores everything.
        .globl  smarm_test_clobber_and_switch
        .type   smarm_test_clobber_and_switch, @function
smarm_test_clobber_and_switch:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp                // MXCSR and x87 CW of the caller; keeps rsp aligned
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movabsq $~SENTINEL(0), %rbx
        movabsq $~SENTINEL(1), %rbp
        movabsq $~SENTINEL(2), %r12
        movabsq $~SENTINEL(3), %r13
        movabsq $~SENTINEL(4), %r14
        movabsq $~SENTINEL(5), %r15
        pushq   $0xffc0                 // MXCSR: FTZ, DAZ, round toward zero, all masked
        ldmxcsr (%rsp)
        movq    $0x0c7f, (%rsp)         // x87: round toward zero, single precision
        fldcw   (%rsp)
        addq    $8, %rsp
        call    smarm_switch
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
        .size   smarm_test_clobber_and_switch, .-smarm_test_clobber_and_switch

// uintptr_t smarm_test_caller_sp(void)
// The caller's stack pointer at its call instruction, which the ABI requires to be 16-aligned.
        .globl  smarm_test_caller_sp
        .type   smarm_test_caller_sp, @function
smarm_test_caller_sp:
        leaq    8(%rsp), %rax
        ret
        .size   smarm_test_caller_sp, .-smarm_test_caller_sp

        .section .note.GNU-stack, "", @progbits
