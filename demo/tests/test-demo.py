#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs the downloader demo as a person would, on a real (virtual) display.

Usage: xvfb-run -a test-demo.py DOWNLOADER SCHEMA_DIR SCREENSHOT.png

Starts an HTTP server on 127.0.0.1 in this process (Range requests,
rate-limited so downloads stay visibly in progress for a few seconds), then
runs the app with GCURL_DEMO_AUTOTEST=1 (see demo/main.c), temporary
XDG folders, GSETTINGS_BACKEND=memory and the build's compiled schema:

  list     seven URLs on the command line: the app downloads them three at
           a time, saves SCREENSHOT.png of its window while they run (and
           prints what its rows and title say then: the waiting ones must
           say "Queued", the title how many run), and quits when none is
           left. Every file must have the SHA-256 of what the server sent,
           the one 404 must fail with a plain-words message (and stay in
           the saved list, to retry), the one the server names with
           Content-Disposition must have that name, and no .part may be
           left beside a complete file.
  restart  one large download; the app is stopped with SIGTERM (a quit),
           started again without URLs, killed with SIGKILL (a crash), and
           started again: each start must continue the .part with a Range
           request from where the last one stopped, and the file must end
           complete and correct.
"""

import hashlib
import http.server
import os
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

KIB = 1024
MIB = 1024 * 1024

RATE = 1 * MIB            # bytes per second, per connection
CHUNK = 16 * KIB          # what the server writes at a time
RUN_TIMEOUT = 90          # seconds one run of the app may take

# (file name, size): served as /files/SIZE/NAME; /files/SIZE/NAME?name=N
# is sent with "Content-Disposition: attachment" naming it N.
LIST_FILES = [
    ("README.txt", 64 * KIB),
    ("gnome-wallpapers.tar.xz", 2 * MIB),
    ("debian-12-netinst.iso", 5 * MIB),
    ("podcast-episode-42.ogg", 8 * MIB),
    ("holiday-photos.zip", 3 * MIB),
]
MISSING_NAME = "old-release.tar.gz"   # 404, second in the list
# Last in the list: the URL says "get", the server "Résumé 2026.pdf".
NAMED_FILE = ("get", "Résumé 2026.pdf", 1 * MIB)
RESTART_FILE = ("big-video.webm", 6 * MIB)

# Byte i of every file is i % 251, as examples/example-server.c makes them.
PERIOD = 251
PATTERN = bytes(range(PERIOD)) * (CHUNK // PERIOD + 2)


def pattern(offset, length):
    start = offset % PERIOD
    return PATTERN[start:start + length]


def expected_sha256(size):
    digest = hashlib.sha256()
    for offset in range(0, size, CHUNK):
        digest.update(pattern(offset, min(CHUNK, size - offset)))
    return digest.hexdigest()


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):   # quiet
        pass

    def do_GET(self):
        server = self.server
        with server.lock:
            server.requests.append((self.path, self.headers.get("Range")))

        url = urllib.parse.urlsplit(self.path)
        parts = url.path.split("/")
        query = urllib.parse.parse_qs(url.query)
        if len(parts) != 4 or parts[1] != "files" or not parts[2].isdigit():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return

        size = int(parts[2])
        etag = f'"demo-{size}"'
        first = 0
        ranged = self.headers.get("Range", "")
        if_range = self.headers.get("If-Range")
        if ranged.startswith("bytes=") and ranged.endswith("-") and \
                (if_range is None or if_range == etag):
            first = int(ranged[len("bytes="):-1])
        if first:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if "name" in query:
            # RFC 6266: filename* (UTF-8) wins over the plain fallback.
            encoded = urllib.parse.quote(query["name"][0], safe="")
            self.send_header("Content-Disposition",
                             f"attachment; filename=\"fallback.bin\"; filename*=UTF-8''{encoded}")
        self.send_header("Content-Length", str(size - first))
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Connection", "close")
        self.end_headers()

        start = time.monotonic()
        sent = 0
        try:
            for offset in range(first, size, CHUNK):
                data = pattern(offset, min(CHUNK, size - offset))
                self.wfile.write(data)
                sent += len(data)
                with server.lock:
                    server.sent[self.path] = server.sent.get(self.path, 0) + len(data)
                ahead = sent / RATE - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.requests = []
        self.sent = {}

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def ranges_for(self, path):
        with self.lock:
            return [r for p, r in self.requests if p == path]

    def sent_for(self, path):
        with self.lock:
            return self.sent.get(path, 0)


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)
    print(f"ok: {message}")


class App:
    """The app's environment: its own XDG folders and in-memory settings."""

    def __init__(self, binary, schema_dir, home, screenshot=None):
        self.binary = binary
        self.env = dict(os.environ)
        for name in ("DATA", "CONFIG", "CACHE", "STATE"):
            path = os.path.join(home, name.lower())
            os.makedirs(path, exist_ok=True)
            self.env[f"XDG_{name}_HOME"] = path
        runtime = os.path.join(home, "runtime")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        self.env.update({
            "XDG_RUNTIME_DIR": runtime,
            "GSETTINGS_BACKEND": "memory",
            "GSETTINGS_SCHEMA_DIR": schema_dir,
            "GCURL_DEMO_AUTOTEST": "1",
            # A critical is a bug of ours; warnings may come from the
            # machine (fonts, icon themes).
            "G_DEBUG": "fatal-criticals",
            # No session bus: the app is not unique, and GTK's
            # accessibility bridge has nothing to talk to.
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
            "GTK_A11Y": "none",
            "GDK_BACKEND": "x11",
            "LANGUAGE": "",
            "LC_ALL": "C.UTF-8",
            "NO_PROXY": "*",
            "no_proxy": "*",
        })
        if screenshot:
            self.env["GCURL_DEMO_SCREENSHOT"] = screenshot
        self.state_file = os.path.join(home, "data", "org.gcurlmulti.Downloader",
                                       "downloads.ini")

    def start(self, args):
        return subprocess.Popen([self.binary, *args], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, args):
        process = self.start(args)
        try:
            out, err = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            raise Failure(f"the app did not quit within {RUN_TIMEOUT} s\n{out}\n{err}")
        sys.stdout.write(out)
        sys.stderr.write(err)
        return process.returncode, out

    def saved_state(self):
        if not os.path.exists(self.state_file):
            return ""
        with open(self.state_file, encoding="utf-8") as f:
            return f.read()


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_list(server, binary, schema_dir, screenshot, workdir):
    print("# list: six downloads, three at a time, with a screenshot")
    folder = os.path.join(workdir, "list-downloads")
    app = App(binary, schema_dir, os.path.join(workdir, "list-home"), screenshot)
    if os.path.exists(screenshot):
        os.unlink(screenshot)

    urls = [server.url(f"/files/{LIST_FILES[0][1]}/{LIST_FILES[0][0]}"),
            server.url(f"/missing/{MISSING_NAME}")]
    urls += [server.url(f"/files/{size}/{name}") for name, size in LIST_FILES[1:]]
    url_name, named, named_size = NAMED_FILE
    urls.append(server.url(f"/files/{named_size}/{url_name}?name=" +
                           urllib.parse.quote(named, safe="")))
    status, out = app.run(["--folder", folder, *urls])

    check(status == 0, "the app quit by itself with status 0 once nothing was left to run")
    lines = out.splitlines()
    for name, size in LIST_FILES:
        path = os.path.join(folder, name)
        check(f"done {name}" in lines, f"{name} reported done")
        check(os.path.isfile(path) and file_sha256(path) == expected_sha256(size),
              f"{name}: {size} bytes with the server's SHA-256")
        check(not os.path.exists(path + ".part"), f"{name}: no .part left")

    path = os.path.join(folder, named)
    check(f"done {named}" in lines, f"{named} reported done, by the server's name")
    check(os.path.isfile(path) and file_sha256(path) == expected_sha256(named_size),
          f"{named}: named by Content-Disposition, {named_size} bytes with the server's SHA-256")
    check(not any(os.path.exists(os.path.join(folder, n)) for n in (url_name, "fallback.bin")),
          "neither the URL's name nor the plain filename was used")

    failed = [l for l in lines if l.startswith(f"failed {MISSING_NAME}: ")]
    check(len(failed) == 1, f"{MISSING_NAME} reported failed")
    check("not found" in failed[0] and "404" in failed[0],
          f"the 404 is told in plain words: {failed[0]!r}")
    check(not os.path.exists(os.path.join(folder, MISSING_NAME)),
          "no file was made of the error page")

    state = app.saved_state()
    check(MISSING_NAME in state and "State=failed" in state,
          "the failed download is kept in the saved list, to retry")
    check(all(name not in state for name, _ in LIST_FILES),
          "the finished downloads are not in the saved list")

    check(f"screenshot {screenshot}" in lines, "the app saved a screenshot mid-transfer")
    # What the window said then (dl_window_describe()): the app waits for
    # a moment with a download queued (5 s at most), and with seven
    # downloads for three connections the last ones wait for one in the
    # multi, in "In Progress", until two have finished.
    rows = [l for l in lines if l.startswith("row ")]
    queued = [l for l in rows if l.startswith("row active ") and l.endswith(": Queued")]
    check(len(queued) >= 1, f"a waiting download's row says Queued: {queued or rows}")
    subtitle = [l for l in lines if l.startswith("subtitle ")]
    check(len(subtitle) == 1 and " active downloads" in subtitle[0],
          f"the title says how many downloads run: {subtitle}")
    size = png_size(screenshot)
    check(size is not None and size[0] >= 360 and size[1] >= 294,
          f"the screenshot is a PNG of the window ({size})")
    check(os.path.getsize(screenshot) > 20 * KIB, "the screenshot is not blank")


def wait_for_bytes(server, path, count, process):
    deadline = time.monotonic() + RUN_TIMEOUT
    while server.sent_for(path) < count:
        if process.poll() is not None:
            raise Failure(f"the app quit before {count} bytes of {path} were sent")
        if time.monotonic() > deadline:
            raise Failure(f"{count} bytes of {path} were never sent")
        time.sleep(0.05)


def part_size(path):
    return os.path.getsize(path + ".part") if os.path.exists(path + ".part") else 0


def test_restart(server, binary, schema_dir, workdir):
    print("# restart: quit, crash, and continue where it stopped")
    name, size = RESTART_FILE
    folder = os.path.join(workdir, "restart-downloads")
    destination = os.path.join(folder, name)
    path = f"/files/{size}/{name}"
    app = App(binary, schema_dir, os.path.join(workdir, "restart-home"))

    # 1. Quit (SIGTERM, as a session ending does) after a third.
    process = app.start(["--folder", folder, server.url(path)])
    wait_for_bytes(server, path, size // 3, process)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=RUN_TIMEOUT)
    sys.stderr.write(err)
    check(process.returncode == 0, "SIGTERM quits the app cleanly")
    first_part = part_size(destination)
    check(first_part > 0 and not os.path.exists(destination),
          f"a .part of {first_part} bytes is kept, and no complete file")
    state = app.saved_state()
    check(server.url(path) in state and "State=queued" in state,
          "the unfinished download is in the saved list")

    # 2. Start again without URLs, and kill it (a crash) after two thirds.
    process = app.start([])
    wait_for_bytes(server, path, size * 2 // 3, process)
    process.kill()
    process.communicate(timeout=RUN_TIMEOUT)
    ranges = server.ranges_for(path)
    check(len(ranges) == 2 and ranges[1] == f"bytes={first_part}-",
          f"the second start continued the .part: Range {ranges[-1]!r}")
    second_part = part_size(destination)
    check(second_part > first_part, f"after the crash the .part has {second_part} bytes")

    # 3. Start again: it finishes, and quits.
    status, out = app.run([])
    check(status == 0, "the third start quit by itself")
    ranges = server.ranges_for(path)
    check(len(ranges) == 3 and ranges[2] is not None and
          int(ranges[2][len("bytes="):-1]) > first_part,
          f"the third start continued after the crash: Range {ranges[-1]!r}")
    check(f"done {name}" in out.splitlines(), f"{name} reported done")
    check(os.path.isfile(destination) and file_sha256(destination) == expected_sha256(size),
          f"{name}: {size} bytes with the server's SHA-256 across three runs")
    check(not os.path.exists(destination + ".part"), "no .part left")
    check("Download " not in app.saved_state(), "the saved list is empty")


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    binary, schema_dir, screenshot = sys.argv[1:]
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("no display: run this under xvfb-run -a", file=sys.stderr)
        return 77

    server = Server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory(prefix="gcurl-demo-test-") as workdir:
            test_list(server, binary, schema_dir, screenshot, workdir)
            test_restart(server, binary, schema_dir, workdir)
    except Failure as failure:
        print(f"FAIL: {failure}")
        return 1
    finally:
        server.shutdown()
    print("test-demo: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
