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
// FPSR holds the cumulative exception flags (and the saturation flag). They are status, which
// the ABI does not preserve across a call; the switch carries them anyway, so that the rule is
// the one x86-64 follows (see switch_x86_64.S): a context's exception flags are its own.
//
// [frame]
// The saved frame, on the suspended context's own stack. `*save` receives the address of its
// lowest byte; sp is always 16-byte aligned on AArch64, and so is the frame:
//
//   high addresses
//   +168  FPSR        +160  FPCR
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

// [offsets]
// The frame above in numbers, one for each 16-byte pair, for every instruction that addresses
// it. The check below fails the build if the numbers stop tiling the frame in this order; the
// paired stores and loads use the names, and the CFI tests check that each .cfi_offset agrees.
#define FRAME_X19    0
#define FRAME_X21   16
#define FRAME_X23   32
#define FRAME_X25   48
#define FRAME_X27   64
#define FRAME_X29   80
#define FRAME_D8    96
#define FRAME_D10  112
#define FRAME_D12  128
#define FRAME_D14  144
#define FRAME_FPCR 160
#define FRAME_SIZE 176
        .if (FRAME_X19 != 0) || (FRAME_X21 != FRAME_X19 + 16) || (FRAME_X23 != FRAME_X21 + 16) \
          || (FRAME_X25 != FRAME_X23 + 16) || (FRAME_X27 != FRAME_X25 + 16) \
          || (FRAME_X29 != FRAME_X27 + 16) || (FRAME_D8 != FRAME_X29 + 16) \
          || (FRAME_D10 != FRAME_D8 + 16) || (FRAME_D12 != FRAME_D10 + 16) \
          || (FRAME_D14 != FRAME_D12 + 16) || (FRAME_FPCR != FRAME_D14 + 16) \
          || (FRAME_SIZE != FRAME_FPCR + 16)
        .error "switch_aarch64.S: the frame offsets do not tile the frame in the order it is saved"
        .endif
// [offsets]

        .text

// void smarm_switch(void** save, void* to)
//
// Suspends the caller into a frame on its own stack, stores the frame's address in *save, and
// resumes the context whose frame starts at `to`. It "returns" only when some other context
// switches back to the frame stored in *save.
// The CFI gives every saved register's place in the frame; after the stack swap the target's
// frame has the same layout, so the same description holds for it.
// [switch]
        .globl  smarm_switch
        .type   smarm_switch, %function
        .p2align 4
smarm_switch:
        .cfi_startproc
        sub     sp, sp, #FRAME_SIZE
        .cfi_def_cfa_offset FRAME_SIZE
        stp     x19, x20, [sp, #FRAME_X19]
        .cfi_offset x19, -176
        .cfi_offset x20, -168
        stp     x21, x22, [sp, #FRAME_X21]
        .cfi_offset x21, -160
        .cfi_offset x22, -152
        stp     x23, x24, [sp, #FRAME_X23]
        .cfi_offset x23, -144
        .cfi_offset x24, -136
        stp     x25, x26, [sp, #FRAME_X25]
        .cfi_offset x25, -128
        .cfi_offset x26, -120
        stp     x27, x28, [sp, #FRAME_X27]
        .cfi_offset x27, -112
        .cfi_offset x28, -104
        stp     x29, x30, [sp, #FRAME_X29]
        .cfi_offset x29, -96
        .cfi_offset x30, -88
        stp     d8, d9, [sp, #FRAME_D8]
        .cfi_offset d8, -80
        .cfi_offset d9, -72
        stp     d10, d11, [sp, #FRAME_D10]
        .cfi_offset d10, -64
        .cfi_offset d11, -56
        stp     d12, d13, [sp, #FRAME_D12]
        .cfi_offset d12, -48
        .cfi_offset d13, -40
        stp     d14, d15, [sp, #FRAME_D14]
        .cfi_offset d14, -32
        .cfi_offset d15, -24
        mrs     x9, fpcr                // x9-x15 are caller-saved scratch
        mrs     x11, fpsr
        stp     x9, x11, [sp, #FRAME_FPCR]

        mov     x10, sp
        str     x10, [x0]               // the suspended context is now just this address
        mov     sp, x1                  // from here on we run on the target's stack

        // Writing FPCR can stall the pipeline on some cores, and two contexts almost always
        // have the same modes and flags: write each register only when the target's differs.
        ldp     x10, x12, [sp, #FRAME_FPCR]
        cmp     x10, x9
        ccmp    x12, x11, #0, eq        // equal FPCRs: compare the FPSRs; else force "ne"
        b.ne    2f
1:      ldp     x19, x20, [sp, #FRAME_X19]
        .cfi_remember_state
        .cfi_restore x19
        .cfi_restore x20
        ldp     x21, x22, [sp, #FRAME_X21]
        .cfi_restore x21
        .cfi_restore x22
        ldp     x23, x24, [sp, #FRAME_X23]
        .cfi_restore x23
        .cfi_restore x24
        ldp     x25, x26, [sp, #FRAME_X25]
        .cfi_restore x25
        .cfi_restore x26
        ldp     x27, x28, [sp, #FRAME_X27]
        .cfi_restore x27
        .cfi_restore x28
        ldp     x29, x30, [sp, #FRAME_X29]
        .cfi_restore x29
        .cfi_restore x30
        ldp     d8, d9, [sp, #FRAME_D8]
        .cfi_restore d8
        .cfi_restore d9
        ldp     d10, d11, [sp, #FRAME_D10]
        .cfi_restore d10
        .cfi_restore d11
        ldp     d12, d13, [sp, #FRAME_D12]
        .cfi_restore d12
        .cfi_restore d13
        ldp     d14, d15, [sp, #FRAME_D14]
        .cfi_restore d14
        .cfi_restore d15
        add     sp, sp, #FRAME_SIZE
        .cfi_def_cfa_offset 0
        // Enter the target with an indirect branch, not `ret`: the return-stack predictor holds
        // where *this* context was called from, so `ret` would mispredict on almost every switch.
        br      x30

        .cfi_restore_state              // as at 1: the whole frame in place
2:      cmp     x10, x9
        b.eq    3f
        msr     fpcr, x10
3:      cmp     x12, x11
        b.eq    1b
        msr     fpsr, x12
        b       1b
        .cfi_endproc
        .size   smarm_switch, .-smarm_switch
// [switch]

// void* smarm_make_frame(void* stack_top, void (*fn)(void*), void* arg)
//
// Builds the frame of a context that has never run, just below `stack_top`, and returns the
// value to pass as `to` to smarm_switch. The first switch into it restores the frame and
// branches into smarm_trampoline with fn in x19 and arg in x20. The new context inherits the
// creator's FPCR and FPSR, as a new thread does.
// [make]
        .globl  smarm_make_frame
        .type   smarm_make_frame, %function
        .p2align 4
smarm_make_frame:
        .cfi_startproc
        and     x0, x0, #~15            // sp must be 16-aligned at every access
        sub     x0, x0, #FRAME_SIZE
        stp     x1, x2, [x0, #FRAME_X19] // x19 = fn, x20 = arg
        stp     xzr, xzr, [x0, #FRAME_X21]
        stp     xzr, xzr, [x0, #FRAME_X23]
        stp     xzr, xzr, [x0, #FRAME_X25]
        stp     xzr, xzr, [x0, #FRAME_X27]
        adr     x9, .Ltrampoline_entry
        stp     xzr, x9, [x0, #FRAME_X29] // x29 = 0 ends frame-pointer walks; x30 = trampoline
        stp     xzr, xzr, [x0, #FRAME_D8]
        stp     xzr, xzr, [x0, #FRAME_D10]
        stp     xzr, xzr, [x0, #FRAME_D12]
        stp     xzr, xzr, [x0, #FRAME_D14]
        mrs     x9, fpcr
        mrs     x10, fpsr
        stp     x9, x10, [x0, #FRAME_FPCR]
        ret
        .cfi_endproc
        .size   smarm_make_frame, .-smarm_make_frame
// [make]

// The first code a new context runs, with sp = the 16-aligned stack top. The CFI marks the
// return address (x30) as undefined: this is the outermost frame, and both the C++ unwinder and
// gdb stop here. A debugger looks up a caller's CFI at the return address minus one, so the
// resume address is one instruction into the trampoline, past a `nop` that keeps that lookup
// inside this function while the switch is entering a new context.
// `fn` must never return (the C++ layer switches away instead); if it does, brk traps at once.
// [trampoline]
        .globl  smarm_trampoline
        .hidden smarm_trampoline
        .type   smarm_trampoline, %function
        .p2align 4
smarm_trampoline:
        .cfi_startproc
        .cfi_undefined x30
        nop
.Ltrampoline_entry:
        mov     x0, x20
        blr     x19
        brk     #0
        .cfi_endproc
        .size   smarm_trampoline, .-smarm_trampoline
// [trampoline]

        .section .note.GNU-stack, "", %progbits
