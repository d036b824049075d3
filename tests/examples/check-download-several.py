#!/usr/bin/python3
# check-download-several.py: runs one of the examples/download-several.*
# programs against the test server program and checks what it saved.
#
# Usage: check-download-several.py COMMAND…
#   COMMAND is how to run the example (e.g. "gjs -m download-several.js");
#   GCURL_TEST_SERVER names the test server program (tests/test-server-main.c).
#
# What the examples promise (their header comments) and this checks, in TAP:
#   - given URLs and -d DIR, every file is saved in DIR, under the last
#     segment of its URL, with the SHA-256 of the body served; progress lines
#     are printed for each file ("NAME:  42% of SIZE bytes") and for all of
#     them ("N running:  42% at SPEED bytes/s"), then for each file the line
#     "NAME: SIZE bytes, SHA-256 HEX", and the exit status is 0;
#   - a Content-Disposition names the file, and a file already there is
#     kept as it was, the download taking "NAME (1)";
#   - without -d the files go to the current directory; a URL that answers
#     404 gives "URL: error: …", saves nothing, and the exit status is 1,
#     while the other URLs are still saved;
#   - with no URL the exit status is 2.
# Every run of the example is bounded by RUN_TIMEOUT_S.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse

RUN_TIMEOUT_S = 60

SIZES = [1000, 1_048_583]
SLOW_SIZE = 20_000        # at SLOW_RATE: a few progress lines, about 0.3 s
SLOW_RATE = 65_536


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def run_example(command, args, cwd):
    try:
        done = subprocess.run(command + args, cwd=cwd, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Failure(f"{' '.join(command + args)} did not end within {RUN_TIMEOUT_S} s")
    return done.returncode, done.stdout.splitlines(), done.stderr


def check_saved(directory, lines, name, expected_sha256):
    path = os.path.join(directory, name)
    check(os.path.exists(path), f"{name} was saved in {directory}")
    with open(path, "rb") as f:
        data = f.read()
    check(hashlib.sha256(data).hexdigest() == expected_sha256, f"{name}: SHA-256 of the saved file")
    final = f"{name}: {len(data)} bytes, SHA-256 {expected_sha256}"
    check(final in lines, f"the output has the line {final!r}")
    progress = [line for line in lines[:lines.index(final)]
                if re.fullmatch(rf"{re.escape(name)}: +\d+% of {len(data)} bytes", line)]
    check(progress, f"{name}: progress lines before the final line")


def main():
    command = sys.argv[1:]
    server = subprocess.Popen([os.environ["GCURL_TEST_SERVER"]] + [str(s) for s in SIZES + [SLOW_SIZE]],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(server.stdout.readline())
    base = info["uri"].rstrip("/")
    sha256 = info["sha256"]
    urls = [f"{base}/bytes/{size}" for size in SIZES] + [f"{base}/slow/{SLOW_SIZE}?rate={SLOW_RATE}"]
    names = [str(size) for size in SIZES + [SLOW_SIZE]]
    failed = 0

    def several_urls_into_a_directory():
        with tempfile.TemporaryDirectory(prefix="gcurl-example-") as work:
            directory = os.path.join(work, "saved")
            os.mkdir(directory)
            status, lines, stderr = run_example(command, ["-d", directory] + urls, work)
            check(status == 0, f"exit status 0 (got {status}; stderr: {stderr!r}; stdout: {lines!r})")
            for name in names:
                check_saved(directory, lines, name, sha256[name])
            check(sorted(os.listdir(directory)) == sorted(names), "nothing else in the directory")
            check(os.listdir(work) == ["saved"], "nothing saved in the current directory")
            check(any(re.fullmatch(r"\d+ running: +\d+% at \d+ bytes/s", line) for line in lines),
                  f"progress lines for all the downloads ({lines!r})")

    def names_from_the_server():
        with tempfile.TemporaryDirectory(prefix="gcurl-example-") as work:
            disposition = urllib.parse.quote('attachment; filename="report.bin"')
            with open(os.path.join(work, names[0]), "wb") as f:
                f.write(b"kept")
            status, lines, stderr = run_example(
                command, [urls[0], f"{base}/disposition/{SIZES[1]}/x?cd={disposition}"], work)
            check(status == 0, f"exit status 0 (got {status}; stderr: {stderr!r}; stdout: {lines!r})")
            check_saved(work, lines, f"{names[0]} (1)", sha256[names[0]])
            check_saved(work, lines, "report.bin", sha256[names[1]])
            with open(os.path.join(work, names[0]), "rb") as f:
                check(f.read() == b"kept", f"the file {names[0]} that was there is kept")
            check(sorted(os.listdir(work)) == sorted([names[0], f"{names[0]} (1)", "report.bin"]),
                  f"nothing else saved ({sorted(os.listdir(work))})")

    def a_404_is_an_error():
        with tempfile.TemporaryDirectory(prefix="gcurl-example-") as work:
            missing = f"{base}/status/404"
            status, lines, stderr = run_example(command, urls[:2] + [missing], work)
            check(status == 1, f"exit status 1 (got {status}; stderr: {stderr!r}; stdout: {lines!r})")
            check(any(line.startswith(f"{missing}: error: ") for line in lines),
                  f"the output has a line '{missing}: error: …' ({lines!r})")
            for name in names[:2]:
                check_saved(work, lines, name, sha256[name])
            check(sorted(os.listdir(work)) == sorted(names[:2]),
                  f"nothing saved for the 404 ({sorted(os.listdir(work))})")

    def no_url_is_a_usage_error():
        with tempfile.TemporaryDirectory(prefix="gcurl-example-") as work:
            status, lines, stderr = run_example(command, [], work)
            check(status == 2, f"exit status 2 (got {status})")
            check("URL" in stderr, f"a usage message on stderr ({stderr!r})")

    cases = [several_urls_into_a_directory, names_from_the_server, a_404_is_an_error,
             no_url_is_a_usage_error]
    print(f"1..{len(cases)}")
    for number, case in enumerate(cases, start=1):
        try:
            case()
            print(f"ok {number} - {case.__name__}")
        except Failure as error:
            failed += 1
            print(f"not ok {number} - {case.__name__}\n# {error}")
        sys.stdout.flush()

    server.stdin.close()
    server.wait(timeout=RUN_TIMEOUT_S)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
