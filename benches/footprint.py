#!/usr/bin/env python3
"""The code a delivery runs, in bytes: the "hot footprint" of a callgrind profile.

On some hosts (an AMD EPYC among ours) the time per delivery follows how much distinct code a
delivery runs more closely than how many instructions it runs: code beyond the 32 KiB level-1
instruction cache is fetched again for every delivery. This counts that code: the 64-byte lines
holding an instruction executed at least N times, N being the number of deliveries profiled.

    valgrind --tool=callgrind --dump-instr=yes --toggle-collect='*Runtime*block_on*' \\
        --callgrind-out-file=cg.out target/release/examples/profile framework new 1024 3000
    benches/footprint.py cg.out 2990               # total
    benches/footprint.py cg.out 2990 function 30   # the 30 functions with most hot lines
    benches/footprint.py cg.out 2990 crate         # hot instructions by source crate

SHA-256 is left out: valgrind has no SHA-NI, so HMAC runs the software compressor there, which
the machine does not (and both sides run the same one).
"""
import collections
import re
import sys

LINE = 64


def parse(path):
    """Per instruction address: executions, function and source file (inlined files count)."""
    names = {"fn": {}, "fl": {}}
    runs = collections.Counter()
    where = {}
    function = file = function_file = ""
    address = 0
    after_call = False

    def name(kind, spec):
        m = re.match(r"\((\d+)\)(?: (.*))?", spec)
        if not m:
            return spec
        if m.group(2):
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "")

    def position(token, base):
        if token == "*":
            return base
        if token[0] in "+-":
            sign = 1 if token[0] == "+" else -1
            return base + sign * int(token[1:], 0)
        return int(token, 0)

    with open(path) as profile:
        for text in profile:
            text = text.rstrip("\n")
            if not text:
                continue
            key, _, value = text.partition("=")
            if key == "fl":
                file = function_file = name("fl", value)
            elif key in ("fi", "fe"):
                file = name("fl", value)
            elif key == "fn":
                function, file = name("fn", value), function_file
            elif key == "cfn":
                name("fn", value)
            elif key in ("cfi", "cfl"):
                name("fl", value)
            elif key == "calls":
                after_call = True
            elif text[0] in "0123456789+-*":
                fields = text.split()
                # The address comes first and the cost last, with or without a line between.
                address = position(fields[0], address)
                if after_call:  # the call's inclusive cost, not this instruction's
                    after_call = False
                    continue
                if "sha2::" in function:
                    continue
                runs[address] += int(fields[-1])
                where[address] = (function, file)
    return runs, where


def crate_of(file):
    file = re.sub(r".*/(registry/src/[^/]+/|rustc/[0-9a-f]+/library/)", "", file)
    file = re.sub(r"^/work/[^/]+/", "", file)
    return file.split("/")[0] or "?"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, threshold = sys.argv[1], int(sys.argv[2])
    by = sys.argv[3] if len(sys.argv) > 3 else None
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    runs, where = parse(path)
    hot = {address for address, count in runs.items() if count >= threshold}
    lines = {address // LINE for address in hot}
    print(
        f"{path}: {len(lines)} lines ({len(lines) * LINE / 1024:.1f} KiB) of code run "
        f">= {threshold} times, {len(hot)} instructions"
    )
    if by == "function":
        owner = {}
        for address in sorted(hot):
            owner.setdefault(address // LINE, where[address][0])
        counts = collections.Counter(owner.values())
        for function, count in counts.most_common(top):
            print(f"{count * LINE / 1024:7.2f} KiB  {function[:140]}")
    elif by == "crate":
        counts = collections.Counter(crate_of(where[address][1]) for address in hot)
        for crate, count in counts.most_common(top):
            print(f"{count:7d} instructions  {crate}")


if __name__ == "__main__":
    main()
