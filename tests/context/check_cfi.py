#!/usr/bin/env python3
"""check_cfi.py — checks the unwind information (CFI) of smarm_switch at every instruction.

Debuggers, profilers and the C++ unwinder find a function's caller through the CFI the .S file
declares beside its instructions. Nothing at run time notices when one of those directives is
wrong: a backtrace taken at that instruction merely shows a bogus caller. So this test derives,
from the instructions alone, what the CFI must say at each of them, and compares that with what
`readelf --debug-dump=frames-interp` reports for the built library.

The derivation follows every path through smarm_switch (both outcomes of every conditional
branch) with a small model of the frame: where the canonical frame address (CFA, the caller's
stack pointer) is relative to the stack pointer, and where the caller's value of every
callee-saved register and of the return address lives. Pushes and paired stores put a register
in a slot; pops and paired loads must take each register back from the slot that holds it, on
the target's stack just as on ours, since the two frames have the same layout. A place reached by
two paths must be reached in the same state. The trampoline, the outermost frame of every
context, must declare its return address undefined from its first byte.

usage: check_cfi.py --arch x86_64|aarch64 --objdump OBJDUMP --readelf READELF FILE
FILE is the stage's static library (or any object or executable that contains the switch).
"""

import argparse
import re
import subprocess
import sys

# The registers a caller relies on (as readelf names their columns), and the return address.
CALLEE_SAVED = {
    "x86_64": ["rbx", "rbp", "r12", "r13", "r14", "r15"],
    "aarch64": [f"x{i}" for i in range(19, 30)] + [f"v{i}" for i in range(8, 16)],
}
STACK_POINTER = {"x86_64": "rsp", "aarch64": "sp"}
# DWARF register numbers of the return address, as `readelf --debug-dump=frames` prints them.
RETURN_ADDRESS = {"x86_64": "r16 (rip)", "aarch64": "r30 (x30)"}


class CheckFailed(Exception):
    pass


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


# --- the instructions -------------------------------------------------------------------------


def disassemble(arch, objdump, path):
    """({function: [(address, mnemonic, operands)]}, member) for the object file that defines
    smarm_switch; member is its name inside an archive, or None."""
    text = run([objdump, "-d", "--no-show-raw-insn", path])
    member = None
    for part in re.split(r"\n(?=\S+:\s+file format )", text):
        if "<smarm_switch>:" in part:
            text = part
            header = re.match(r"(\S+):\s+file format ", part)
            member = header.group(1) if header and "In archive" in run_header(path) else None
    comment = r"\s+#.*$" if arch == "x86_64" else r"\s*//.*$"
    functions, current = {}, None
    for line in text.splitlines():
        head = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if head:
            current = functions.setdefault(head.group(2), [])
            continue
        insn = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if insn and current is not None:
            mnemonic, operands = insn.group(2), re.sub(comment, "", insn.group(3)).strip()
            if mnemonic == "notrack":  # a prefix (Intel CET): the instruction follows it
                mnemonic, _, operands = operands.partition(" ")
                operands = operands.strip()
            current.append((int(insn.group(1), 16), mnemonic, operands))
    for name in ("smarm_switch", "smarm_trampoline"):
        if not functions.get(name):
            raise CheckFailed(f"{name} not found in the disassembly of {path}")
    return functions, member


def run_header(path):
    with open(path, "rb") as f:
        return "In archive" if f.read(8) == b"!<arch>\n" else ""


def only_member(text, member):
    """readelf's output about one archive member ("File: lib.a(member)"), or all of it."""
    if member is None:
        return text
    for part in re.split(r"\n(?=File: )", text):
        if part.startswith("File: ") and part.split("\n", 1)[0].endswith(f"({member})"):
            return part
    raise CheckFailed(f"readelf says nothing of {member}")


# --- the CFI as readelf decodes it ------------------------------------------------------------


def cfi_tables(readelf, path, member):
    """[(start, end, {address: {column: rule}})]: each FDE's table, one row per location."""
    text = only_member(run([readelf, "--debug-dump=frames-interp", path]), member)
    fdes = []
    for block in re.split(r"\n(?=[0-9a-f]{8} [0-9a-f]+ [0-9a-f]{8} )", text):
        fde = re.search(r"FDE cie=\w+ pc=([0-9a-f]+)\.\.([0-9a-f]+)", block)
        if not fde:
            continue
        rows, columns = {}, None
        for line in block.splitlines()[1:]:
            line = re.sub(r"(r\d+) \((\w+)\)", r"in:\2", line)  # "r2 (rcx)" as one word
            words = line.split()
            if words[:2] == ["LOC", "CFA"]:
                columns = words[1:]
            elif columns and words and re.fullmatch(r"[0-9a-f]+", words[0]):
                rows[int(words[0], 16)] = dict(zip(columns, words[1:]))
        fdes.append((int(fde.group(1), 16), int(fde.group(2), 16), rows))
    return fdes


def rule_at(fdes, address):
    for start, end, rows in fdes:
        if start <= address < end:
            locations = [loc for loc in rows if loc <= address]
            return rows[max(locations)] if locations else {}
    raise CheckFailed(f"no unwind information covers {address:#x}")


# --- the frame model --------------------------------------------------------------------------


class Frame:
    """Where the caller's state is: CFA = sp + cfa; rules[reg] is "same" (still in the
    register), ("cfa", offset) (saved in a slot) or ("in", reg) (moved to another register);
    slots[offset] is the register whose caller value the slot at CFA + offset holds."""

    def __init__(self, arch):
        self.arch = arch
        self.swapped = False
        self.rules = {reg: "same" for reg in CALLEE_SAVED[arch]}
        if arch == "x86_64":
            self.cfa, self.rules["ra"], self.slots = 8, ("cfa", -8), {-8: "ra"}
        else:
            self.cfa, self.rules["ra"], self.slots = 0, "same", {}

    def key(self):
        return (self.cfa, self.swapped, tuple(sorted(self.rules.items(), key=str)),
                tuple(sorted(self.slots.items())))

    def copy(self):
        other = Frame(self.arch)
        other.cfa, other.swapped = self.cfa, self.swapped
        other.rules, other.slots = dict(self.rules), dict(self.slots)
        return other

    def expected(self):
        """The frames-interp row this state calls for."""
        row = {"CFA": f"{STACK_POINTER[self.arch]}+{self.cfa}"}
        for reg, rule in self.rules.items():
            if rule == "same":
                row[reg] = "u"  # no rule: the register still holds the caller's value
            elif rule[0] == "cfa":
                row[reg] = f"c{rule[1]}"
            else:
                row[reg] = f"in:{rule[1]}"
        return row

    def save(self, reg, offset):
        """The register's caller value is stored at sp + offset."""
        slot = offset - self.cfa
        if reg in self.rules:
            if self.rules[reg] != "same":
                raise CheckFailed(f"{reg} saved twice")
            self.rules[reg] = ("cfa", slot)
            self.slots[slot] = reg
        else:
            self.slots.pop(slot, None)  # scratch data, e.g. the FP control words

    def restore(self, reg, offset):
        """The register is loaded from sp + offset: the slot must hold its caller value."""
        slot = offset - self.cfa
        holder = self.slots.get(slot)
        if reg in self.rules:
            if holder != reg:
                raise CheckFailed(f"{reg} is loaded from CFA{slot:+d}, which holds {holder}")
            self.rules[reg] = "same"
        elif holder == "ra":
            self.rules["ra"] = ("in", reg)
        elif holder is not None:
            raise CheckFailed(f"{holder}'s slot at CFA{slot:+d} is loaded into scratch {reg}")

    def clobber(self, reg):
        if self.rules.get(reg) == "same":
            raise CheckFailed(f"{reg} is overwritten while it holds the caller's value")


def number(text):
    return int(text.lstrip("#$"), 0)


def aarch64_reg(name):
    """objdump's name -> readelf's column: d8 -> v8; x30 -> ra."""
    if name == "x30":
        return "ra"
    return "v" + name[1:] if name.startswith("d") else name


def step_x86_64(frame, mnemonic, ops):
    """Applies one instruction; returns its successors as ("next",) / ("jump", address) /
    ("branch", address) / ("end",)."""
    op = mnemonic
    if re.fullmatch(r"(push|pop|sub|add|lea|mov)[qlw]", mnemonic):
        op = mnemonic[:-1]
    if op == "push":
        frame.cfa += 8
        frame.save(ops.lstrip("%"), 0)
    elif op == "pop":
        frame.restore(ops.lstrip("%"), 0)
        frame.slots.pop(-frame.cfa, None)
        frame.cfa -= 8
    elif op in ("sub", "add", "lea") and ops.endswith(",%rsp"):
        if op == "lea":
            m = re.fullmatch(r"(-?0x[0-9a-f]+)?\(%rsp\),%rsp", ops)
            frame.cfa -= int(m.group(1) or "0", 16)
        else:
            frame.cfa += number(ops.split(",")[0]) * (1 if op == "sub" else -1)
    elif op == "mov" and ops == "%rsi,%rsp":
        if frame.swapped:
            raise CheckFailed("the stack is swapped twice")
        frame.swapped = True  # the target's frame: same layout, so same CFA and slots
    elif ops.endswith("%rsp"):
        raise CheckFailed(f"unmodelled change of the stack pointer: {mnemonic} {ops}")
    elif mnemonic == "jmp" and ops.startswith("*"):
        return ("end",)
    elif mnemonic == "ret":
        return ("end",)
    elif mnemonic == "jmp":
        return ("jump", int(ops.split()[0], 16))
    elif mnemonic.startswith("j"):
        return ("branch", int(ops.split()[0], 16))
    else:
        dest = ops.split(",")[-1]
        if dest.startswith("%") and not re.match(r"(cmp|test)", mnemonic):
            frame.clobber(re.sub(r"^%e", "%r", dest).lstrip("%"))
    return ("next",)


def step_aarch64(frame, mnemonic, ops):
    args = [a.strip() for a in re.split(r",(?![^\[]*\])", ops)] if ops else []
    if mnemonic in ("sub", "add") and args[:2] == ["sp", "sp"]:
        frame.cfa += number(args[2]) * (1 if mnemonic == "sub" else -1)
    elif mnemonic == "mov" and args[0] == "sp":
        if args[1] != "x1" or frame.swapped:
            raise CheckFailed(f"unexpected change of the stack pointer: mov {ops}")
        frame.swapped = True
    elif mnemonic in ("stp", "ldp", "str", "ldr") and args[-1].startswith("[sp"):
        m = re.fullmatch(r"\[sp(?:, #(-?\w+))?\]", args[-1])
        if not m:
            raise CheckFailed(f"unmodelled addressing mode: {mnemonic} {ops}")
        offset = number(m.group(1) or "0")
        for i, reg in enumerate(args[:-1]):
            if mnemonic.startswith("st"):
                frame.save(aarch64_reg(reg), offset + 8 * i)
            else:
                frame.restore(aarch64_reg(reg), offset + 8 * i)
    elif mnemonic == "br":
        return ("end",)
    elif mnemonic == "ret":
        return ("end",)
    elif mnemonic == "b":
        return ("jump", int(args[0].split()[0], 16))
    elif mnemonic.startswith("b."):
        return ("branch", int(args[0].split()[0], 16))
    elif mnemonic in ("mov", "mrs", "ldr", "ldp", "add", "sub", "and", "adr", "fmov"):
        for reg in args[: 2 if mnemonic == "ldp" else 1]:
            frame.clobber(aarch64_reg(reg))
    return ("next",)


def check_switch(arch, code, fdes):
    """Walks every path through smarm_switch; returns the list of mismatches."""
    step = step_x86_64 if arch == "x86_64" else step_aarch64
    entry = code[0][0]
    covering = [(s, e) for s, e, _ in fdes if s <= entry < e]
    if not covering:
        raise CheckFailed("no unwind information covers smarm_switch")
    end = covering[0][1]
    code = [insn for insn in code if insn[0] < end]  # not the alignment padding after it
    by_address = {addr: (mn, ops) for addr, mn, ops in code}
    order = [addr for addr, _, _ in code]
    seen, problems = {}, []
    pending = [(order[0], Frame(arch))]
    while pending:
        address, frame = pending.pop()
        while True:
            if address not in by_address:
                raise CheckFailed(f"a path leaves smarm_switch at {address:#x}")
            mnemonic, ops = by_address[address]
            where = f"{address:#x} {mnemonic} {ops}"
            if address in seen:
                if seen[address] != frame.key():
                    problems.append(f"{where}: reached by paths that disagree on the frame")
                break
            seen[address] = frame.key()
            actual = rule_at(fdes, address)
            expected = frame.expected()
            for column, want in expected.items():
                have = actual.get(column, "u")
                if have != want:
                    problems.append(f"{where}: {column} is {have}, the frame says {want}")
            try:
                outcome = step(frame, mnemonic, ops)
            except CheckFailed as e:
                problems.append(f"{where}: {e}")
                break
            if outcome[0] == "end":
                unrestored = [r for r in CALLEE_SAVED[arch] if frame.rules[r] != "same"]
                if frame.cfa != 0 or not frame.swapped or unrestored:
                    problems.append(f"{where}: leaves with CFA = sp{frame.cfa:+d}, stack "
                                    f"{'' if frame.swapped else 'not '}swapped, "
                                    f"not restored: {unrestored or 'none'}")
                break
            if outcome[0] == "branch":
                pending.append((outcome[1], frame.copy()))
            if outcome[0] == "jump":
                address = outcome[1]
            else:
                address = order[order.index(address) + 1]
    missed = [a for a in order if a not in seen]
    problems += [f"{a:#x}: never reached by the walk" for a in missed]
    return problems


def check_trampoline(arch, readelf, path, member, start):
    """The FDE of the trampoline must make its return address undefined before any code."""
    text = only_member(run([readelf, "--debug-dump=frames", path]), member)
    for block in re.split(r"\n(?=[0-9a-f]{8} [0-9a-f]+ [0-9a-f]{8} )", text):
        fde = re.search(r"FDE cie=\w+ pc=([0-9a-f]+)\.\.([0-9a-f]+)", block)
        if fde and int(fde.group(1), 16) <= start < int(fde.group(2), 16):
            if int(fde.group(1), 16) != start:
                return [f"the trampoline's unwind information starts at {fde.group(1)}"]
            first = block.splitlines()[1].strip() if len(block.splitlines()) > 1 else ""
            if first != f"DW_CFA_undefined: {RETURN_ADDRESS[arch]}":
                return [f"the trampoline's unwind information begins with '{first}', "
                        f"not with its return address undefined"]
            return []
    return ["no unwind information covers the trampoline"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", required=True, choices=sorted(CALLEE_SAVED))
    parser.add_argument("--objdump", required=True)
    parser.add_argument("--readelf", required=True)
    parser.add_argument("file")
    args = parser.parse_args()
    try:
        code, member = disassemble(args.arch, args.objdump, args.file)
        fdes = cfi_tables(args.readelf, args.file, member)
        problems = check_switch(args.arch, code["smarm_switch"], fdes)
        problems += check_trampoline(args.arch, args.readelf, args.file, member,
                                     code["smarm_trampoline"][0][0])
    except CheckFailed as e:
        problems = [str(e)]
    for p in problems:
        print(f"check_cfi: {p}")
    if problems:
        return 1
    print(f"check_cfi: smarm_switch's CFI matches its frame at all {len(code['smarm_switch'])} "
          "instructions, on every path; the trampoline ends every backtrace")
    return 0


if __name__ == "__main__":
    sys.exit(main())
