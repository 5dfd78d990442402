#!/usr/bin/env python3
"""check_cet.py — checks that the x86-64 switch keeps Intel CET's indirect-branch tracking (IBT).

A program runs with IBT only if every object linked into it carries the IBT bit in its GNU
property note; one object without it turns IBT off for the whole program, silently. The switch is
assembly, so nothing adds the note for it: switch_x86_64.S must. And with IBT on, an indirect
jump or call must land on an endbr64, unless it is marked notrack. This test:

1. builds the switch and a tiny C driver with -fcf-protection=full, links them and runs the
   program: a new context must run and come back;
2. links the two objects into one (`-r`, which combines the notes as the final link does) and
   reads its property note: IBT must be there, and SHSTK must not (smarm does not switch shadow
   stacks: see the top of the .S file). A whole program is not checked, because Debian 12's own
   start files (crt1.o, crti.o) carry no note, so every program linked there loses IBT anyway;
   a distribution that builds them for CET keeps it;
3. links the driver with the switch built without -fcf-protection, and checks that IBT is gone:
   the control that shows the note is what keeps it;
4. reads the switch's disassembly: the functions entered through a pointer open with endbr64,
   the trampoline's entry (the resume address of a new context) is an endbr64, and every
   indirect jump is notrack. (The trampoline's indirect call lands on the entry of a compiled
   function, which opens with endbr64 when built for CET.)

usage: check_cet.py --cc CC --readelf READELF --objdump OBJDUMP --workdir DIR SWITCH_S DRIVER_C
"""

import argparse
import os
import re
import subprocess
import sys


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def features(readelf, path):
    """The x86 feature line of a file's GNU property note, or '' without one."""
    for line in run([readelf, "-n", path]).splitlines():
        if "x86 feature:" in line:
            return line.split("x86 feature:", 1)[1].strip()
    return ""


def functions(objdump, path):
    """{function: [(mnemonic, operands)]} from objdump's disassembly."""
    found, current = {}, None
    for line in run([objdump, "-d", "--no-show-raw-insn", path]).splitlines():
        head = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if head:
            current = found.setdefault(head.group(1), [])
            continue
        insn = re.match(r"^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$", line)
        if insn and current is not None:
            current.append((insn.group(1), re.sub(r"\s+#.*$", "", insn.group(2)).strip()))
    return found


def main():
    parser = argparse.ArgumentParser()
    for option in ("--cc", "--readelf", "--objdump", "--workdir"):
        parser.add_argument(option, required=True)
    parser.add_argument("switch")
    parser.add_argument("driver")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    out = lambda name: os.path.join(args.workdir, name)
    problems = []

    cet = ["-fcf-protection=full"]
    run([args.cc, *cet, "-c", args.switch, "-o", out("switch_cet.o")])
    run([args.cc, *cet, "-O1", "-c", args.driver, "-o", out("driver.o")])
    run([args.cc, *cet, out("switch_cet.o"), out("driver.o"), "-o", out("driver_cet")])
    result = subprocess.run([out("driver_cet")], capture_output=True, text=True)
    if result.returncode != 0 or result.stdout.strip() != "42":
        problems.append(f"the program built for CET did not switch and come back: "
                        f"exit {result.returncode}, output {result.stdout!r}")
    run([args.cc, "-r", "-nostdlib", out("switch_cet.o"), out("driver.o"), "-o", out("linked.o")])
    kept = features(args.readelf, out("linked.o"))
    if "IBT" not in kept:
        problems.append(f"linked with the switch, the program lost IBT (features: {kept!r})")
    if "SHSTK" in kept:
        problems.append("the program claims shadow stacks, which the switch does not switch")

    run([args.cc, "-fcf-protection=none", "-c", args.switch, "-o", out("switch_plain.o")])
    run([args.cc, "-r", "-nostdlib", out("switch_plain.o"), out("driver.o"), "-o",
         out("linked_plain.o")])
    if "IBT" in features(args.readelf, out("linked_plain.o")):
        problems.append("control failed: IBT survived a switch object without the note, so "
                        "this test cannot tell whether the note works")

    code = functions(args.objdump, out("switch_cet.o"))
    for name in ("smarm_switch", "smarm_make_frame", "smarm_select_switch"):
        first = code.get(name, [("(missing)", "")])[0][0]
        if first != "endbr64":
            problems.append(f"{name} opens with {first}, not endbr64")
    trampoline = [m for m, _ in code.get("smarm_trampoline", [])]
    if trampoline[:2] != ["nop", "endbr64"]:
        problems.append(f"the trampoline's entry, one byte in, is not an endbr64: {trampoline[:2]}")
    for name, insns in code.items():
        for mnemonic, ops in insns:
            if mnemonic == "jmp" and ops.startswith("*"):
                problems.append(f"{name}: '{mnemonic} {ops}' is an indirect branch without notrack")

    for p in problems:
        print("check_cet:", p)
    if problems:
        return 1
    print(f"check_cet: IBT kept ({kept}), control lost it, endbr64 and notrack in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
