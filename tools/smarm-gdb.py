"""smarm-gdb.py — gdb commands for smarm: the backtrace of a suspended context or actor.

gdb's `bt` shows the stack the thread is running on. An actor that is parked, or waiting to run,
is not running: its registers are in the frame smarm_switch saved on its own stack (chapter 1,
"The saved frame"), and its Context holds nothing but the address of that frame. This command
puts those registers in the thread for as long as a `bt` takes, then puts the thread's own back.

Load it into gdb, then name the suspended context:

    (gdb) source tools/smarm-gdb.py
    (gdb) smarm-bt (*smarm::detail::Scheduler::tls->chunks[0])[1]
    (gdb) smarm-bt some_context            a smarm::Context, or a pointer to one
    (gdb) smarm-bt 0x7ffff669fd70          the saved stack pointer itself
    (gdb) smarm-bt -full ...               with the local variables of each frame (`bt -full`)

The expression may be a smarm::Context, an actor's slot (smarm::detail::Slot, which holds one as
`ctx`), a pointer to either, or an address: the saved stack pointer, the value a Context keeps in
`sp_`. The slot of the actor whose Pid has index N is
`(*smarm::detail::Scheduler::tls->chunks[N >> 12])[N & 4095]`, on the thread that runs it (gdb's
libstdc++ xmethods evaluate `chunks[...]` without running code in the program).

Limits: x86-64 only (the frame layout of switch_x86_64.S); a live process only, since it writes
the thread's registers (gdb does not write a core file's). The context must be suspended: the
Context of a running actor is empty (its sp_ is null), and the command says so. The registers are
put back even if `bt` fails, and the frame selected before is selected again.
"""

import gdb

# [frame]
# The saved frame of switch_x86_64.S, as offsets from the saved stack pointer: MXCSR and the x87
# control word at 0, then the callee-saved registers, then the resume address; 64 bytes in all.
FRAME_X86_64 = {"r15": 8, "r14": 16, "r13": 24, "r12": 32, "rbx": 40, "rbp": 48, "rip": 56}
FRAME_SIZE_X86_64 = 64
# [frame]


def saved_stack_pointer(value):
    """The saved stack pointer that `value` names: a Context's sp_, a slot's ctx.sp_, or the
    value itself as an address."""
    while value.type.strip_typedefs().code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_REF):
        target = value.type.strip_typedefs().target().strip_typedefs()
        if target.code != gdb.TYPE_CODE_STRUCT:
            break
        pointer = value.type.strip_typedefs().code == gdb.TYPE_CODE_PTR
        value = value.dereference() if pointer else value.referenced_value()
    kind = value.type.strip_typedefs()
    if kind.code == gdb.TYPE_CODE_STRUCT:
        fields = {f.name for f in kind.fields()}
        if "ctx" in fields:
            value = value["ctx"]
            fields = {f.name for f in value.type.strip_typedefs().fields()}
        if "sp_" not in fields:
            raise gdb.GdbError(f"smarm-bt: {kind} is neither a smarm::Context nor an actor's slot")
        value = value["sp_"]
    elif kind.code not in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_INT):
        raise gdb.GdbError(f"smarm-bt: {kind} is not a context, a slot or an address")
    return int(value.cast(gdb.lookup_type("unsigned long")))


class SmarmBacktrace(gdb.Command):
    """Backtrace of a suspended smarm context: smarm-bt [-full] EXPRESSION.
EXPRESSION: a smarm::Context, an actor's slot, a pointer to either, or a saved stack pointer.
See tools/smarm-gdb.py for how to name an actor's slot."""

    def __init__(self):
        super().__init__("smarm-bt", gdb.COMMAND_STACK, gdb.COMPLETE_EXPRESSION)

    def invoke(self, argument, from_tty):
        words = argument.split()
        options = []
        if words and words[0] == "-full":
            options.append(words.pop(0))
        if not words:
            raise gdb.GdbError("usage: smarm-bt [-full] EXPRESSION")
        arch = gdb.selected_frame().architecture().name()
        if arch != "i386:x86-64":
            raise gdb.GdbError(f"smarm-bt: the frame layout is known for x86-64 only, not {arch}")
        sp = saved_stack_pointer(gdb.parse_and_eval(" ".join(words)))
        if sp == 0:
            raise gdb.GdbError("smarm-bt: the context is empty: it is running (or was never made)")

        if sp % 16 != 0:
            raise gdb.GdbError(f"smarm-bt: {sp:#x} is not a saved frame (they are 16-byte aligned)")
        # [swap]
        inferior = gdb.selected_inferior()
        word = gdb.lookup_type("unsigned long")
        saved = {reg: int(inferior.read_memory(sp + off, 8).cast("Q")[0])
                 for reg, off in FRAME_X86_64.items()}
        saved["rsp"] = sp + FRAME_SIZE_X86_64  # where the switch's return leaves it
        where = gdb.execute(f"info symbol {saved['rip']:#x}", to_string=True)
        if where.startswith("No symbol matches"):
            raise gdb.GdbError(f"smarm-bt: {sp:#x} is not a saved frame: its resume address "
                               f"{saved['rip']:#x} is in no function gdb knows")

        # The registers are written in the newest frame: in an older one, `set $reg` would write
        # the copy that frame's callee saved, in memory. The level selected is put back after.
        selected = gdb.selected_frame()
        level = 0
        frame = selected
        while frame.newer() is not None:
            frame, level = frame.newer(), level + 1
        gdb.newest_frame().select()
        own = {reg: int(gdb.parse_and_eval(f"${reg}").cast(word)) for reg in saved}
        try:
            for reg, value in saved.items():
                gdb.execute(f"set var ${reg} = {value:#x}", to_string=True)
            gdb.execute(" ".join(["backtrace"] + options), from_tty)
        finally:
            for reg, value in own.items():
                gdb.execute(f"set var ${reg} = {value:#x}", to_string=True)
            gdb.execute(f"frame {level}", to_string=True)
        # [swap]


SmarmBacktrace()
