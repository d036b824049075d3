#!/usr/bin/python3
# check-example-length.py: checks that example programs stay short
#
# Usage: check-example-length.py FILE MAX [FILE MAX…]
#
# Counts the lines of code of each FILE (C, Python or JavaScript, told by
# its extension) and checks, in TAP, that there are at most MAX. A line of
# code is one that is neither blank nor only a comment (a line that starts
# with "//" or "/*", or is inside a "/* … */", in C and JavaScript; one that
# starts with "#" in Python and on a JavaScript "#!" line); the lines
# between two marker lines "/* ARGS */", "# ARGS" or "// ARGS" (the marker
# alone on its line) parse the program's arguments and are not counted.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys

ARGS_MARKERS = {"/* ARGS */", "# ARGS", "// ARGS"}


def lines_of_code(path):
    python = path.endswith(".py")
    count = 0
    in_args = in_block_comment = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            text = line.strip()
            if in_block_comment:
                in_block_comment = "*/" not in text
            elif text in ARGS_MARKERS:
                in_args = not in_args
            elif not text or text.startswith("#" if python else ("//", "#!")):
                pass
            elif not python and text.startswith("/*"):
                in_block_comment = "*/" not in text
            elif not in_args:
                count += 1
    if in_args:
        raise ValueError(f"{path}: an ARGS marker is not closed")
    return count


def main():
    checks = list(zip(sys.argv[1::2], sys.argv[2::2]))
    failed = 0
    print(f"1..{len(checks)}")
    for number, (path, limit) in enumerate(checks, start=1):
        name = os.path.basename(path)
        count = lines_of_code(path)
        if count <= int(limit):
            print(f"ok {number} - {name}: {count} lines of code, at most {limit}")
        else:
            failed += 1
            print(f"not ok {number} - {name}: {count} lines of code, more than {limit}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
