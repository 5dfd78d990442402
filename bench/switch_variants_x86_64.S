// switch_variants_x86_64.S — benchmark-only variants of the x86-64 switch, each differing from
// stages/NN/src/switch_x86_64.S in one decision, so chapter 1 can show what each decision costs.
// All use the same 64-byte frame, so smarm_make_frame builds the first frame for every variant.
// None carries CFI: they are never unwound through.

        .text

#define SAVE_REGISTERS  pushq %rbp; pushq %rbx; pushq %r12; pushq %r13; pushq %r14; pushq %r15
#define LOAD_REGISTERS  popq %r15; popq %r14; popq %r13; popq %r12; popq %rbx; popq %rbp

// Variant "compare": the switch's compare path alone, without the start-up choice: reloads
// MXCSR and the x87 control word each only when the target's differs from the running one.
        .globl  smarm_bench_switch_compare
        .type   smarm_bench_switch_compare, @function
        .p2align 4
smarm_bench_switch_compare:
        SAVE_REGISTERS
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %eax
        movzwl  4(%rsp), %edx
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        cmpl    (%rsp), %eax
        jne     2f
        cmpw    4(%rsp), %dx
        jne     2f
1:      addq    $8, %rsp
        LOAD_REGISTERS
        popq    %rcx
        jmpq    *%rcx
2:      ldmxcsr (%rsp)
        fldcw   4(%rsp)
        jmp     1b
        .size   smarm_bench_switch_compare, .-smarm_bench_switch_compare

// Variant "fpalways": reloads both words on every switch, as Boost.Context does.
        .globl  smarm_bench_switch_fpalways
        .type   smarm_bench_switch_fpalways, @function
        .p2align 4
smarm_bench_switch_fpalways:
        SAVE_REGISTERS
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        LOAD_REGISTERS
        popq    %rcx
        jmpq    *%rcx
        .size   smarm_bench_switch_fpalways, .-smarm_bench_switch_fpalways

// Variant "ret": "fpalways", but enters the target with `ret` instead of pop + indirect jump.
        .globl  smarm_bench_switch_ret
        .type   smarm_bench_switch_ret, @function
        .p2align 4
smarm_bench_switch_ret:
        SAVE_REGISTERS
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        LOAD_REGISTERS
        ret
        .size   smarm_bench_switch_ret, .-smarm_bench_switch_ret

// Variant "mov": "fpalways" with movs to and from the frame instead of pushes and pops, and the
// resume address loaded first, as Boost.Context's fcontext does.
        .globl  smarm_bench_switch_mov
        .type   smarm_bench_switch_mov, @function
        .p2align 4
smarm_bench_switch_mov:
        leaq    -56(%rsp), %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %r15, 8(%rsp)
        movq    %r14, 16(%rsp)
        movq    %r13, 24(%rsp)
        movq    %r12, 32(%rsp)
        movq    %rbx, 40(%rsp)
        movq    %rbp, 48(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        movq    56(%rsp), %rcx
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        movq    8(%rsp), %r15
        movq    16(%rsp), %r14
        movq    24(%rsp), %r13
        movq    32(%rsp), %r12
        movq    40(%rsp), %rbx
        movq    48(%rsp), %rbp
        leaq    64(%rsp), %rsp
        jmpq    *%rcx
        .size   smarm_bench_switch_mov, .-smarm_bench_switch_mov

// Variant "x87cmp": the switch's MXCSR-always path alone, without the start-up choice: reloads
// MXCSR always and the x87 control word only when it differs. Reads back only what fnstcw
// stored, never what stmxcsr stored.
        .globl  smarm_bench_switch_x87cmp
        .type   smarm_bench_switch_x87cmp, @function
        .p2align 4
smarm_bench_switch_x87cmp:
        SAVE_REGISTERS
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movzwl  4(%rsp), %edx
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        cmpw    4(%rsp), %dx
        jne     2f
1:      addq    $8, %rsp
        LOAD_REGISTERS
        popq    %rcx
        jmpq    *%rcx
2:      fldcw   4(%rsp)
        jmp     1b
        .size   smarm_bench_switch_x87cmp, .-smarm_bench_switch_x87cmp

// Variant "readback": "fpalways", plus a load of the MXCSR that stmxcsr has just stored, whose
// value nothing uses. Prices the read-back the compare path needs, by itself.
        .globl  smarm_bench_switch_readback
        .type   smarm_bench_switch_readback, @function
        .p2align 4
smarm_bench_switch_readback:
        SAVE_REGISTERS
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %eax
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        LOAD_REGISTERS
        popq    %rcx
        jmpq    *%rcx
        .size   smarm_bench_switch_readback, .-smarm_bench_switch_readback

// Variant "thread flags": "fpalways", but the exception flags follow the thread: the running
// flags are merged into the target's MXCSR before it is loaded. The other rule for the flags.
        .globl  smarm_bench_switch_threadflags
        .type   smarm_bench_switch_threadflags, @function
        .p2align 4
smarm_bench_switch_threadflags:
        SAVE_REGISTERS
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %eax
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        andl    $0x3f, %eax
        movl    (%rsp), %ecx
        andl    $~0x3f, %ecx
        orl     %eax, %ecx
        movl    %ecx, (%rsp)
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        LOAD_REGISTERS
        popq    %rcx
        jmpq    *%rcx
        .size   smarm_bench_switch_threadflags, .-smarm_bench_switch_threadflags

// Variant "save only": saves both words and never restores them. Wrong as a runtime (a mode
// set in one context would stay with the thread); here only to price reading the words.
        .globl  smarm_bench_switch_saveonly
        .type   smarm_bench_switch_saveonly, @function
        .p2align 4
smarm_bench_switch_saveonly:
        SAVE_REGISTERS
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        addq    $8, %rsp
        LOAD_REGISTERS
        popq    %rcx
        jmpq    *%rcx
        .size   smarm_bench_switch_saveonly, .-smarm_bench_switch_saveonly

// Variant "nofp": does not carry MXCSR and the x87 control word (what the prototype did).
// Wrong as a runtime (the rounding mode leaks between contexts); here only to price that state.
        .globl  smarm_bench_switch_nofp
        .type   smarm_bench_switch_nofp, @function
        .p2align 4
smarm_bench_switch_nofp:
        SAVE_REGISTERS
        subq    $8, %rsp
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        addq    $8, %rsp
        LOAD_REGISTERS
        popq    %rcx
        jmpq    *%rcx
        .size   smarm_bench_switch_nofp, .-smarm_bench_switch_nofp

        .section .note.GNU-stack, "", @progbits
