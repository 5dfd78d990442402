// probes_aarch64.S — assembly probes for the context tests: only assembly can put known values in
// every callee-saved register across a switch and read them back without the compiler's help.

// Sentinel i goes into callee-saved register i; the C++ test computes the same values.
#define SENTINEL(i) (0x5EED000000000000 + (i) * 0x0000010101010101 + 1)

        .text

// void smarm_test_switch_with_sentinels(void** save, void* to, uint64_t out[20])
// Loads sentinels into x19-x29 (out[0..10]) and d8-d15 (out[11..18]), switches away with
// smarm_switch, and once resumed writes what those registers hold into out[], then FPCR into
// out[19]. Preserves the caller's callee-saved registers, as the ABI requires of it.
        .globl  smarm_test_switch_with_sentinels
        .type   smarm_test_switch_with_sentinels, %function
smarm_test_switch_with_sentinels:
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        str     x2, [sp, #160]          // out
        ldr     x19, =SENTINEL(0)
        ldr     x20, =SENTINEL(1)
        ldr     x21, =SENTINEL(2)
        ldr     x22, =SENTINEL(3)
        ldr     x23, =SENTINEL(4)
        ldr     x24, =SENTINEL(5)
        ldr     x25, =SENTINEL(6)
        ldr     x26, =SENTINEL(7)
        ldr     x27, =SENTINEL(8)
        ldr     x28, =SENTINEL(9)
        ldr     x29, =SENTINEL(10)
        ldr     x9, =SENTINEL(11)
        fmov    d8, x9
        ldr     x9, =SENTINEL(12)
        fmov    d9, x9
        ldr     x9, =SENTINEL(13)
        fmov    d10, x9
        ldr     x9, =SENTINEL(14)
        fmov    d11, x9
        ldr     x9, =SENTINEL(15)
        fmov    d12, x9
        ldr     x9, =SENTINEL(16)
        fmov    d13, x9
        ldr     x9, =SENTINEL(17)
        fmov    d14, x9
        ldr     x9, =SENTINEL(18)
        fmov    d15, x9
        bl      smarm_switch
        ldr     x9, [sp, #160]
        stp     x19, x20, [x9, #0]
        stp     x21, x22, [x9, #16]
        stp     x23, x24, [x9, #32]
        stp     x25, x26, [x9, #48]
        stp     x27, x28, [x9, #64]
        str     x29, [x9, #80]
        stp     d8, d9, [x9, #88]
        stp     d10, d11, [x9, #104]
        stp     d12, d13, [x9, #120]
        stp     d14, d15, [x9, #136]
        mrs     x10, fpcr
        str     x10, [x9, #152]
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        ret
        .ltorg
        .size   smarm_test_switch_with_sentinels, .-smarm_test_switch_with_sentinels

// void smarm_test_clobber_and_switch(void** save, void* to)
// Puts garbage in every callee-saved register and a different FPCR (flush-to-zero, round toward
// zero), switches away, and on resume restores everything.
        .globl  smarm_test_clobber_and_switch
        .type   smarm_test_clobber_and_switch, %function
smarm_test_clobber_and_switch:
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        ldr     x19, =~SENTINEL(0)
        mov     x20, x19
        mov     x21, x19
        mov     x22, x19
        mov     x23, x19
        mov     x24, x19
        mov     x25, x19
        mov     x26, x19
        mov     x27, x19
        mov     x28, x19
        mov     x29, x19
        fmov    d8, x19
        fmov    d9, x19
        fmov    d10, x19
        fmov    d11, x19
        fmov    d12, x19
        fmov    d13, x19
        fmov    d14, x19
        fmov    d15, x19
        mov     x9, #0x01c00000         // FZ (bit 24) and RMode = toward zero (bits 23:22)
        msr     fpcr, x9
        bl      smarm_switch
        ldr     x9, [sp, #160]
        msr     fpcr, x9
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        ret
        .ltorg
        .size   smarm_test_clobber_and_switch, .-smarm_test_clobber_and_switch

// uintptr_t smarm_test_caller_sp(void)
// The caller's stack pointer at its call; AAPCS64 requires it 16-aligned at every public call.
        .globl  smarm_test_caller_sp
        .type   smarm_test_caller_sp, %function
smarm_test_caller_sp:
        mov     x0, sp
        ret
        .size   smarm_test_caller_sp, .-smarm_test_caller_sp

        .section .note.GNU-stack, "", %progbits
