"""gdb_step_switch.py — steps gdb through every instruction of every smarm_switch the driver makes
and checks, at each one, the backtrace a user would see there.

Run as: gdb -batch -nx -x gdb_step_switch.py --args gdb_switch_driver_<stage>

A switch has two truths. Until the stack pointer is swapped, the running function's caller is
the code that called smarm_switch: the backtrace from frame 1 on must be the one seen at the
switch's first instruction (same return addresses, same stack pointer, same callee-saved
registers). Once the stack is swapped, the caller is wherever the target resumes: frame 1 on must
be what the backtrace from frame 0 will be when the jump lands there. For a context that has
never run, that is the trampoline, and nothing older. Both truths are taken from gdb itself at
the two ends of the switch, so nothing here is a copy of the expected unwind tables.
"""

import gdb

CALLEE_SAVED = ["rbx", "rbp", "r12", "r13", "r14", "r15"]
DEPTH = 4  # frames compared beyond the first, enough to show a walk that goes astray
EXPECTED_SWITCHES = 12  # two runs of the driver's pair, six switches each

failures = []


def describe(frame):
    """The backtrace from `frame` on: its pc, stack pointer and callee-saved registers, then
    the pcs of up to DEPTH older frames."""
    if frame is None:
        return None
    regs = {r: int(frame.read_register(r)) for r in CALLEE_SAVED + ["rsp"]}
    older, pcs = frame.older(), []
    while older is not None and len(pcs) < DEPTH:
        pcs.append(older.pc())
        older = older.older()
    return {"pc": frame.pc(), "regs": regs, "older": pcs}


def show(d):
    if d is None:
        return "no caller"
    names = [gdb.execute(f"info symbol {pc:#x}", to_string=True).split(" in ")[0].strip()
             for pc in [d["pc"]] + d["older"]]
    return f"pc {d['pc']:#x} sp {d['regs']['rsp']:#x} chain {names} regs " + " ".join(
        f"{r}={d['regs'][r]:#x}" for r in CALLEE_SAVED)


def switch_range():
    lines = gdb.execute("disassemble smarm_switch", to_string=True).splitlines()
    addrs = [int(line.split()[0], 16) for line in lines if line.strip().startswith("0x")]
    addrs += [int(line.split()[1], 16) for line in lines if line.strip().startswith("=>")]
    return min(addrs), max(addrs)


def step_one_switch(first, last, number):
    caller = describe(gdb.newest_frame().older())  # the truth before the swap
    seen, swapped = [], False
    while first <= gdb.newest_frame().pc() <= last:
        insn = gdb.execute("x/i $pc", to_string=True).split(":", 1)[1].strip()
        seen.append((insn, swapped, describe(gdb.newest_frame().older())))
        swapped = swapped or insn.startswith("mov    %rsi,%rsp")
        gdb.execute("stepi", to_string=True)
    target = describe(gdb.newest_frame())  # the truth after the swap: where the jump landed
    for insn, after_swap, unwound in seen:
        want = target if after_swap else caller
        if unwound != want:
            failures.append(f"switch #{number}, at '{insn}': the caller unwinds to\n"
                            f"    {show(unwound)}\n  but is\n    {show(want)}")
    return len(seen)


def main():
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("break *smarm_switch", to_string=True)
    gdb.execute("run", to_string=True)
    first, last = switch_range()
    switches = steps = 0
    while gdb.selected_inferior().pid != 0 and gdb.newest_frame().pc() == first:
        switches += 1
        steps += step_one_switch(first, last, switches)
        gdb.execute("continue", to_string=True)
    for f in failures:
        print("gdb_step_switch: " + f)
    if switches != EXPECTED_SWITCHES:
        print(f"gdb_step_switch: stepped {switches} switches, expected {EXPECTED_SWITCHES}")
        gdb.execute("kill", to_string=True)
        gdb.execute("quit 1")
    if failures:
        gdb.execute("kill", to_string=True)
        gdb.execute("quit 1")
    print(f"gdb_step_switch: the backtrace was right at all {steps} instructions "
          f"of {switches} switches")
    gdb.execute("quit 0")


main()
