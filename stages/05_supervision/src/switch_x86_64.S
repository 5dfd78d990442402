// switch_x86_64.S — the context switch for the x86-64 System V ABI: save the running context's
// callee-saved state on its own stack, adopt another stack, restore its state and jump into it.
//
// The System V ABI lets a called function clobber every register except rbx, rbp, r12-r15 and
// rsp, and the control bits of MXCSR and the x87 control word. To the code that calls
// smarm_switch it is an ordinary function call, so the compiler has already spilled everything
// else; these seven values are all a switch must carry. The xmm registers are all caller-saved
// in this ABI, so none is saved here.
//
// The exception flags (MXCSR bits 0-5) are status, not mode, and the ABI does not preserve them
// across a call, so the switch may choose what happens to them. Its rule: they belong to the
// context, like the modes. The switch saves and restores MXCSR whole, so a context's
// fetestexcept sees the flags its own SSE arithmetic raised, neither losing them to another
// context's feclearexcept nor seeing another's; that is what C11 promises for threads, and what
// Boost.Context does. It is also the only rule that is free on both paths below: letting the
// flags follow the thread instead would mean merging the running flags into the target's word,
// which puts a load of stmxcsr's result on the critical path: on AMD Zen 4 that doubles the cost
// of a switch. The x87 status word, whose flags only long double arithmetic raises, is not
// carried: reading it (fnstsw) alone costs as much as a whole switch on Zen 4.
//
// Intel CET. Indirect-branch tracking (IBT) lets an indirect call or jump land only on an
// endbr64, and a program keeps IBT only if every object linked into it says, in its GNU property
// note, that it was built for it; an assembly file says nothing unless told. So the functions
// here that are called through a pointer (the PLT, the initialiser table) open with endbr64, the
// trampoline's entry has one, and built with -fcf-protection this file carries the IBT note. The
// switch's own jump lands on a return address, which by design has no endbr64: it is marked
// `notrack`, as the compiler marks its jump tables. Shadow stacks are another matter: each
// context would need a shadow stack of its own, switched with rstorssp/saveprevssp, and a return
// after a switch would otherwise fail against the thread's shadow stack. smarm does not do that
// yet, so the note does not claim SHSTK, and a program that links smarm runs without shadow
// stacks (Debian 12's kernel and glibc enable neither for user space). On a processor without
// CET, endbr64 is a no-op and the notrack prefix is ignored.
//
// [frame]
// The saved frame, on the suspended context's own stack. `*save` receives the address of its
// lowest byte, which is 16-byte aligned:
//
//   high addresses
//   +56  resume address       where the context continues (pushed by its `call smarm_switch`,
//                             or the trampoline for a context that has never run)
//   +48  rbp
//   +40  rbx
//   +32  r12                  for a new context: the entry function
//   +24  r13                  for a new context: its argument
//   +16  r14
//   +8   r15
//   +4   x87 control word     (2 bytes, then 2 bytes of padding)
//   +0   MXCSR                (4 bytes: modes and exception flags)  <- saved stack pointer
//   low addresses
// [frame]

// [offsets]
// The frame above in numbers, for every instruction that addresses one of its slots. The pushes
// of smarm_switch lay the registers down from rbp to r15 and its `subq $8` the FP words; the
// check below fails the build if the numbers stop tiling the frame in that order. Whether the
// pushes themselves follow it, the first entry into every context tells: it pops r12 and r13
// from where smarm_make_frame wrote them, by these names.
#define FRAME_MXCSR   0
#define FRAME_X87CW   4
#define FRAME_R15     8
#define FRAME_R14    16
#define FRAME_R13    24
#define FRAME_R12    32
#define FRAME_RBX    40
#define FRAME_RBP    48
#define FRAME_RESUME 56
#define FRAME_SIZE   64
        .if (FRAME_MXCSR != 0) || (FRAME_X87CW != FRAME_MXCSR + 4) || (FRAME_R15 != 8) \
          || (FRAME_R14 != FRAME_R15 + 8) || (FRAME_R13 != FRAME_R14 + 8) \
          || (FRAME_R12 != FRAME_R13 + 8) || (FRAME_RBX != FRAME_R12 + 8) \
          || (FRAME_RBP != FRAME_RBX + 8) || (FRAME_RESUME != FRAME_RBP + 8) \
          || (FRAME_SIZE != FRAME_RESUME + 8) || (FRAME_SIZE & 15)
        .error "switch_x86_64.S: the frame offsets do not tile the frame in the order it is pushed"
        .endif
// [offsets]

        .text

// void smarm_switch(void** save, void* to)
//
// Suspends the caller into a frame on its own stack, stores the frame's address in *save, and
// resumes the context whose frame starts at `to`. It "returns" only when some other context
// switches back to the frame stored in *save.
// [switch]
// Restores the frame at rsp and enters the context it belongs to: the end of both paths below.
// Enter the target with an indirect jump, not `ret`. The return-stack predictor holds the
// address *this* context called from, so a `ret` here would mispredict whenever the two
// contexts called the switch from different places; an indirect jump is predicted from the
// branch history instead. rcx is caller-saved and carries no argument.
// The CFA offsets here are absolute: after a .cfi_restore_state, clang's integrated assembler
// (LLVM 14) bases .cfi_adjust_cfa_offset on the offset in force before the restore.
.macro  RESTORE_AND_ENTER
        addq    $FRAME_R15, %rsp        // past the FP words, to the first register
        .cfi_def_cfa_offset 56
        popq    %r15
        .cfi_def_cfa_offset 48
        .cfi_restore %r15
        popq    %r14
        .cfi_def_cfa_offset 40
        .cfi_restore %r14
        popq    %r13
        .cfi_def_cfa_offset 32
        .cfi_restore %r13
        popq    %r12
        .cfi_def_cfa_offset 24
        .cfi_restore %r12
        popq    %rbx
        .cfi_def_cfa_offset 16
        .cfi_restore %rbx
        popq    %rbp
        .cfi_def_cfa_offset 8
        .cfi_restore %rbp
        popq    %rcx
        .cfi_def_cfa_offset 0
        .cfi_register %rip, %rcx
        notrack jmpq *%rcx              // a return address: no endbr64 there (see the top)
.endm

        .globl  smarm_switch
        .type   smarm_switch, @function
        .p2align 4
smarm_switch:
        .cfi_startproc
        endbr64                         // reached through the PLT from a shared library
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r15, 0
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        stmxcsr FRAME_MXCSR(%rsp)       // SSE rounding, flush-to-zero, masks, exception flags
        fnstcw  FRAME_X87CW(%rsp)       // x87 rounding, precision, exception masks
        testb   $1, smarm_switch_mxcsr_always(%rip)    // chosen once, at start-up: see below
        jnz     3f

        // Compare path (Intel). Writing MXCSR or the x87 control word costs more than reading
        // them back and comparing, and two contexts almost always have the same words: reload
        // each only when it differs. The running words are read back before the frame is
        // published, while it is still ours alone. rax, rdx, rcx are caller-saved scratch.
        movl    FRAME_MXCSR(%rsp), %eax
        movzwl  FRAME_X87CW(%rsp), %edx
        movq    %rsp, (%rdi)            // the suspended context is now just this address
        movq    %rsi, %rsp              // from here on we run on the target's stack
                                        // (its frame has the same layout, so the CFI holds)
        cmpl    FRAME_MXCSR(%rsp), %eax // the whole word: modes and flags (see the top)
        jne     2f
1:      cmpw    FRAME_X87CW(%rsp), %dx
        jne     4f
5:      .cfi_remember_state             // the whole frame in place, for the code after the jump
        RESTORE_AND_ENTER
        .cfi_restore_state
2:      ldmxcsr FRAME_MXCSR(%rsp)
        jmp     1b
4:      fldcw   FRAME_X87CW(%rsp)
        jmp     5b

        // MXCSR-always path (AMD). On Zen, stmxcsr is slow and a load of what it has just
        // stored waits for it, while ldmxcsr is cheap: load the target's MXCSR without reading
        // ours back. The x87 word is compared as on the other path: reading back what fnstcw
        // stored is cheap there, and fldcw is not, after a mispredicted return.
3:      movzwl  FRAME_X87CW(%rsp), %edx
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr FRAME_MXCSR(%rsp)
        cmpw    FRAME_X87CW(%rsp), %dx
        jne     4b
        RESTORE_AND_ENTER
        .cfi_endproc
        .size   smarm_switch, .-smarm_switch
// [switch]

// [select]
// Which path smarm_switch takes: 1 on AMD (and Hygon, its Zen licensee), where loading MXCSR
// without comparing is cheapest, 0 elsewhere. Both paths are correct whatever its value, so a
// switch made before the choice below runs is merely slower. Tests and benchmarks set it to
// force a path.
        .data
        .globl  smarm_switch_mxcsr_always
        .hidden smarm_switch_mxcsr_always
        .type   smarm_switch_mxcsr_always, @object
smarm_switch_mxcsr_always:
        .byte   0
        .size   smarm_switch_mxcsr_always, 1

// Run once at start-up, before main, from the initialiser table: reads the CPU vendor string.
        .text
        .type   smarm_select_switch, @function
        .p2align 4
smarm_select_switch:
        .cfi_startproc
        endbr64                         // called through the initialiser table
        pushq   %rbx                    // cpuid writes rbx, which is callee-saved
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        xorl    %eax, %eax              // leaf 0: the vendor string in ebx, edx, ecx
        cpuid
        xorl    %eax, %eax
        cmpl    $0x68747541, %ebx       // "Auth" of "AuthenticAMD"
        sete    %al
        cmpl    $0x6f677948, %ebx       // "Hygo" of "HygonGenuine"
        sete    %dl
        orb     %dl, %al
        movb    %al, smarm_switch_mxcsr_always(%rip)
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbx
        ret
        .cfi_endproc
        .size   smarm_select_switch, .-smarm_select_switch

        .section .init_array, "aw"
        .p2align 3
        .quad   smarm_select_switch
        .text
// [select]

// void* smarm_make_frame(void* stack_top, void (*fn)(void*), void* arg)
//
// Builds the frame of a context that has never run, just below `stack_top`, and returns the
// value to pass as `to` to smarm_switch. The first switch into it pops the frame and jumps into
// smarm_trampoline with fn in r12 and arg in r13. The new context inherits the creator's
// floating-point control words and flags, as a new thread does.
// [make]
        .globl  smarm_make_frame
        .type   smarm_make_frame, @function
        .p2align 4
smarm_make_frame:
        .cfi_startproc
        endbr64
        andq    $-16, %rdi              // the top must be 16-aligned: see smarm_trampoline
        leaq    -FRAME_SIZE(%rdi), %rax // the frame, so that popping it leaves rsp = top
        stmxcsr FRAME_MXCSR(%rax)
        fnstcw  FRAME_X87CW(%rax)
        movw    $0, FRAME_X87CW+2(%rax) // the padding
        movq    $0, FRAME_R15(%rax)
        movq    $0, FRAME_R14(%rax)
        movq    %rdx, FRAME_R13(%rax)   // r13 = arg
        movq    %rsi, FRAME_R12(%rax)   // r12 = fn
        movq    $0, FRAME_RBX(%rax)
        movq    $0, FRAME_RBP(%rax)     // rbp = 0 ends frame-pointer walks
        leaq    .Ltrampoline_entry(%rip), %rcx
        movq    %rcx, FRAME_RESUME(%rax)
        ret
        .cfi_endproc
        .size   smarm_make_frame, .-smarm_make_frame
// [make]

// The first code a new context runs. It is reached by the switch's jump with rsp = the 16-aligned
// stack top, so the `call` below leaves rsp = 8 (mod 16) at fn's first instruction, exactly the
// alignment the ABI promises a function on entry.
//
// The CFI marks the return address as undefined: this is the outermost frame, and both the C++
// unwinder and gdb stop here instead of reading whatever lies above the stack top. While the
// switch is entering a new context, its frame shows the trampoline as the caller; a debugger
// looks up a caller's CFI at the return address minus one, so the resume address is one byte
// into the trampoline, past a `nop` that keeps that lookup inside this function.
// `fn` must never return (the C++ layer switches away instead); if it does, ud2 traps at once.
// [trampoline]
        .globl  smarm_trampoline
        .hidden smarm_trampoline
        .type   smarm_trampoline, @function
        .p2align 4
smarm_trampoline:
        .cfi_startproc
        .cfi_undefined %rip
        nop
.Ltrampoline_entry:
        endbr64                         // the switch's indirect jump lands here
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   smarm_trampoline, .-smarm_trampoline
// [trampoline]

        .section .note.GNU-stack, "", @progbits

// The GNU property note that -fcf-protection (which defines __CET__) puts in every compiled object:
// this object is ready for IBT (bit 0 of GNU_PROPERTY_X86_FEATURE_1_AND), and not for shadow
// stacks (bit 1), see the top.
#if defined(__CET__) && (__CET__ & 1)
        .section .note.gnu.property, "a"
        .p2align 3
        .long   4                       // name size: "GNU\0"
        .long   16                      // descriptor size: one property, padded to 8 bytes
        .long   5                       // NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .long   0xc0000002              // GNU_PROPERTY_X86_FEATURE_1_AND
        .long   4                       // its data: 4 bytes
        .long   1                       // IBT
        .p2align 3
#endif
