// switch_aarch64.S — the context switch for AArch64 (AAPCS64): save the running context's
// callee-saved state on its own stack, adopt another stack, restore its state and branch into it.
//
// AAPCS64 lets a called function clobber every register except x19-x28, the frame pointer x29,
// sp, and the low 64 bits of v8-v15 (d8-d15); the link register x30 holds where the caller
// continues. The rounding mode and the other control bits of FPCR are, as MXCSR's are on x86-64,
// state a function must leave as it found it unless changing them is its purpose, so the switch
// carries FPCR too: that is what makes the rounding mode belong to a context.
// The upper halves of v8-v15 and all other vector registers are caller-saved: not saved here.
//
// [frame]
// The saved frame, on the suspended context's own stack. `*save` receives the address of its
// lowest byte; sp is always 16-byte aligned on AArch64, and so is the frame:
//
//   high addresses
//   +168  (padding, keeps the frame a multiple of 16)
//   +160  FPCR
//   +152  d15         +144  d14
//   +136  d13         +128  d12
//   +120  d11         +112  d10
//   +104  d9          +96   d8
//   +88   x30 (lr)    resume address: after the caller's `bl smarm_switch`,
//                     or the trampoline for a context that has never run
//   +80   x29 (fp)
//   +72   x28         +64   x27
//   +56   x26         +48   x25
//   +40   x24         +32   x23
//   +24   x22         +16   x21     for a new context: x20 = its argument
//   +8    x20         +0    x19     for a new context: x19 = the entry function
//   low addresses                   <- saved stack pointer
// [frame]

#define FRAME_SIZE 176

        .text

// void smarm_switch(void** save, void* to)
//
// Suspends the caller into a frame on its own stack, stores the frame's address in *save, and
// resumes the context whose frame starts at `to`. It "returns" only when some other context
// switches back to the frame stored in *save.
// [switch]
        .globl  smarm_switch
        .type   smarm_switch, %function
        .p2align 4
smarm_switch:
        .cfi_startproc
        sub     sp, sp, #FRAME_SIZE
        .cfi_def_cfa_offset FRAME_SIZE
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        .cfi_offset x29, -96
        .cfi_offset x30, -88
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr                // x9-x15 are caller-saved scratch
        str     x9, [sp, #160]

        mov     x10, sp
        str     x10, [x0]               // the suspended context is now just this address
        mov     sp, x1                  // from here on we run on the target's stack

        ldr     x10, [sp, #160]
        cmp     x10, x9                 // writing FPCR can stall the pipeline on some cores:
        b.eq    1f                      // skip it when both contexts use the same modes
        msr     fpcr, x10
1:      ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #FRAME_SIZE
        .cfi_def_cfa_offset 0
        // Enter the target with an indirect branch, not `ret`: the return-stack predictor holds
        // where *this* context was called from, so `ret` would mispredict on almost every switch.
        br      x30
        .cfi_endproc
        .size   smarm_switch, .-smarm_switch
// [switch]

// void* smarm_make_frame(void* stack_top, void (*fn)(void*), void* arg)
//
// Builds the frame of a context that has never run, just below `stack_top`, and returns the
// value to pass as `to` to smarm_switch. The first switch into it restores the frame and
// branches to smarm_trampoline with fn in x19 and arg in x20. The new context inherits the
// creator's FPCR, as a new thread does.
// [make]
        .globl  smarm_make_frame
        .type   smarm_make_frame, %function
        .p2align 4
smarm_make_frame:
        .cfi_startproc
        and     x0, x0, #~15            // sp must be 16-aligned at every access
        sub     x0, x0, #FRAME_SIZE
        stp     x1, x2, [x0, #0]        // x19 = fn, x20 = arg
        stp     xzr, xzr, [x0, #16]
        stp     xzr, xzr, [x0, #32]
        stp     xzr, xzr, [x0, #48]
        stp     xzr, xzr, [x0, #64]
        adr     x9, smarm_trampoline
        stp     xzr, x9, [x0, #80]      // x29 = 0 ends frame-pointer walks; x30 = trampoline
        stp     xzr, xzr, [x0, #96]
        stp     xzr, xzr, [x0, #112]
        stp     xzr, xzr, [x0, #128]
        stp     xzr, xzr, [x0, #144]
        mrs     x9, fpcr
        stp     x9, xzr, [x0, #160]
        ret
        .cfi_endproc
        .size   smarm_make_frame, .-smarm_make_frame
// [make]

// The first code a new context runs, with sp = the 16-aligned stack top. The CFI marks the
// return address (x30) as undefined: this is the outermost frame, and both the C++ unwinder and
// gdb stop here. `fn` must never return (the C++ layer switches away instead); if it does, brk
// traps at once.
// [trampoline]
        .globl  smarm_trampoline
        .hidden smarm_trampoline
        .type   smarm_trampoline, %function
        .p2align 4
smarm_trampoline:
        .cfi_startproc
        .cfi_undefined x30
        mov     x0, x20
        blr     x19
        brk     #0
        .cfi_endproc
        .size   smarm_trampoline, .-smarm_trampoline
// [trampoline]

        .section .note.GNU-stack, "", %progbits
