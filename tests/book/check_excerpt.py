#!/usr/bin/env python3
"""check_excerpt.py — an abridged output the book shows is still what the command prints.

Some outputs in the book are too long to show whole, so the book shows some of their lines and
marks the rest `...`. This check runs the command, takes the first fenced block after the first
line of the chapter that contains ANCHOR, and requires every line of the block other than `...`
to be a line of the output, in the same order (runs of spaces count as one, and trailing spaces
are ignored). With --after TEXT, the output is read from its first line containing TEXT on, so
that an archive's members before the one shown cannot match.

usage: check_excerpt.py --document BOOK.md --anchor TEXT [--after TEXT] -- COMMAND [ARG...]
"""

import argparse
import re
import subprocess
import sys


def normal(line):
    return re.sub(r"\s+", " ", line).strip()


def block_after(document, anchor):
    lines = open(document, encoding="utf-8").read().splitlines()
    start = next((i for i, line in enumerate(lines) if anchor in line), None)
    if start is None:
        sys.exit(f"check_excerpt: {document} has no line containing {anchor!r}")
    opened = next((i for i in range(start, len(lines)) if lines[i].startswith("```")), None)
    if opened is None:
        sys.exit(f"check_excerpt: {document}: no fenced block after {anchor!r}")
    shown = []
    for line in lines[opened + 1:]:
        if line.startswith("```"):
            return shown
        shown.append(line)
    sys.exit(f"check_excerpt: {document}: the block after {anchor!r} is not closed")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--document", required=True)
    parser.add_argument("--anchor", required=True)
    parser.add_argument("--after")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    shown = [normal(line) for line in block_after(args.document, args.anchor)]
    output = subprocess.run(args.command, check=True, capture_output=True, text=True).stdout
    printed = [normal(line) for line in output.splitlines()]
    if args.after:
        at = next((i for i, line in enumerate(printed) if args.after in line), None)
        if at is None:
            sys.exit(f"check_excerpt: the output has no line containing {args.after!r}")
        printed = printed[at:]
    position = 0
    for line in shown:
        if line == "...":
            continue
        try:
            position = printed.index(line, position) + 1
        except ValueError:
            print(f"check_excerpt: {args.document} shows, after {args.anchor!r}, the line\n  {line}\n"
                  f"which `{' '.join(args.command)}` does not print there (or not in this order).\n"
                  "Update the block in the book from the command's output.")
            return 1
    print(f"check_excerpt: the {len([l for l in shown if l != '...'])} lines the book shows are "
          "printed, in order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
