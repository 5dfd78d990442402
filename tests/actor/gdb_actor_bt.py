"""gdb_actor_bt.py — checks tools/smarm-gdb.py's smarm-bt on a parked actor, in a live process.

Run as: gdb -batch -nx -x tools/smarm-gdb.py -x gdb_actor_bt.py --args gdb_actor_driver_<stage>

The driver parks an actor inside parked_actor_body -> parked_actor_leaf -> smarm::park, and stops
in actor_parked on the first actor's stack. smarm-bt of the parked actor's slot must show the
parked actor's own functions down to its trampoline and none of the running actor's; afterwards
the thread's registers and selected frame must be what they were, which the driver proves by
running to its end. smarm-bt of the running actor, whose Context is empty, must refuse.
"""

import gdb

REGISTERS = ["rip", "rsp", "rbp", "rbx", "r12", "r13", "r14", "r15"]
SLOT = "(*smarm::detail::Scheduler::tls->chunks[{0} >> 12])[{0} & 4095]"

failures = []


def registers():
    word = gdb.lookup_type("unsigned long")
    return {r: int(gdb.parse_and_eval(f"${r}").cast(word)) for r in REGISTERS}


def check(condition, message):
    if not condition:
        failures.append(message)


def main():
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("break actor_parked", to_string=True)
    gdb.execute("run", to_string=True)
    gdb.execute("up", to_string=True)  # a frame other than the newest: it must stay selected
    selected = gdb.selected_frame()
    before = registers()

    index = int(gdb.parse_and_eval("parked_actor_index"))
    try:
        shown = gdb.execute("smarm-bt " + SLOT.format(index), to_string=True)
    except gdb.error as e:
        shown = ""
        failures.append(f"smarm-bt of the parked actor failed: {e}")
    print(shown)
    frames = [line for line in shown.splitlines() if line.startswith("#")]
    names = ["smarm::park", "parked_actor_leaf", "parked_actor_body", "smarm_trampoline"]
    for name in names:
        check(any(name in f for f in frames), f"no frame of {name} in the backtrace")
    ends = frames and "smarm_trampoline" in frames[-1]
    check(ends, "the backtrace does not end in the trampoline")
    check(not any("actor_parked" in f for f in frames), "the running actor's frames were shown")
    order = [next((i for i, f in enumerate(frames) if n in f), -1) for n in names]
    check(order == sorted(order), f"the frames are out of order: {order}")

    check(registers() == before, "the registers were not put back")
    check(gdb.selected_frame() == selected, "the selected frame changed")

    running = gdb.parse_and_eval("smarm::detail::Scheduler::tls->current")
    try:
        gdb.execute("smarm-bt " + SLOT.format(int(running)), to_string=True)
        failures.append("smarm-bt of the running actor did not refuse")
    except gdb.error as e:
        check("empty" in str(e), f"smarm-bt of the running actor: {e}")

    gdb.execute("delete")
    gdb.execute("continue", to_string=True)
    ended = gdb.selected_inferior().pid == 0
    check(ended and int(gdb.parse_and_eval("$_exitcode")) == 0, "the driver did not run to its end")

    for f in failures:
        print("gdb_actor_bt: " + f)
    if failures:
        if gdb.selected_inferior().pid != 0:
            gdb.execute("kill", to_string=True)
        gdb.execute("quit 1")
    print("gdb_actor_bt: smarm-bt showed the parked actor's own frames, and put the registers back")
    gdb.execute("quit 0")


main()
