#!/usr/bin/env python3
# run-example.py: runs one program of the documentation against a small
# HTTP server on 127.0.0.1, and checks its exit status and output.
#
#   run-example.py EXIT_STATUS PATTERN PROGRAM [ARG…]
#
# In the arguments, @BASE@ becomes the server's http://127.0.0.1:PORT,
# @REFUSED@ a URL whose connection is refused, @TMPDIR@ a new empty
# directory and @EXISTING@ a file that exists in it. The server answers
# /hello with 200 and 64 KiB of text/html, anything else with 404.
# PROGRAM may be an interpreter, with the script as its first ARG.
# PATTERN is a regular expression that the program's output (stdout and
# stderr together) must match. Exits 0 when the program did as expected.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import http.server
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

HELLO_SIZE = 64 * 1024
TIMEOUT_S = 60


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/hello":
            status, content_type, body = 200, "text/html", b"x" * HELLO_SIZE
        else:
            status, content_type, body = 404, "text/plain", b"not found\n"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(argv):
    if len(argv) < 4:
        print("usage: run-example.py EXIT_STATUS PATTERN PROGRAM [ARG…]", file=sys.stderr)
        return 2
    expected_status, pattern, program = int(argv[1]), argv[2], argv[3]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % server.server_address[1]

    # Bound and not listening: connections are refused, and no other
    # program can take the port meanwhile.
    refused = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    refused.bind(("127.0.0.1", 0))
    refused_url = "http://127.0.0.1:%d/" % refused.getsockname()[1]

    with tempfile.TemporaryDirectory(prefix="gcurl-example-") as tmpdir:
        existing = os.path.join(tmpdir, "existing")
        with open(existing, "w", encoding="utf-8") as f:
            f.write("already here\n")
        replacements = {"@BASE@": base, "@REFUSED@": refused_url,
                        "@TMPDIR@": tmpdir, "@EXISTING@": existing}
        args = []
        for a in argv[4:]:
            for key, value in replacements.items():
                a = a.replace(key, value)
            args.append(a)
        env = dict(os.environ, NO_PROXY="*", no_proxy="*")
        result = subprocess.run([program] + args, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env,
                                timeout=TIMEOUT_S, check=False)
    server.shutdown()
    refused.close()

    print(f"$ {os.path.basename(program)} {' '.join(args)}")
    print(result.stdout, end="")
    ok = True
    if result.returncode != expected_status:
        print(f"FAIL: exit status {result.returncode}, expected {expected_status}")
        ok = False
    if not re.search(pattern, result.stdout, re.MULTILINE):
        print(f"FAIL: the output does not match {pattern!r}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
