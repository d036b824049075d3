# threads.py: fetch URLs from worker threads, with blocking calls
#
# Usage: threads.py URL…
#
# One GCurl.Multi, made here on the main thread, serves a pool of worker
# threads that each call the blocking Multi.send_and_read(): no main loop
# anywhere. Prints "URL: SIZE bytes, SHA-256 HEX" or "URL: error: WHY" per
# URL, in order, and exits with 1 if one failed. Ctrl+C cancels what is
# still running, from the main thread.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor

import gi

gi.require_version("GCurl", "1.0")
from gi.repository import GCurl, Gio, GLib  # noqa: E402

multi = GCurl.Multi(user_agent="threads.py/1.0", fail_on_http_error=True)  # for every call
cancellable = Gio.Cancellable()


def fetch(url):
    # Runs in a worker thread: PyGObject lets go of the GIL while it blocks.
    transfer = GCurl.Transfer.new(url)
    try:
        body = multi.send_and_read(transfer, cancellable).get_data()
        return f"{url}: {len(body)} bytes, SHA-256 {hashlib.sha256(body).hexdigest()}", True
    except GLib.Error as error:
        return f"{url}: error: {error.message}", False


with ThreadPoolExecutor(max_workers=4) as pool:
    futures = [pool.submit(fetch, url) for url in sys.argv[1:]]
    try:
        outcomes = [future.result() for future in futures]
    except KeyboardInterrupt:
        cancellable.cancel()          # from any thread: the calls end at once
        outcomes = [future.result() for future in futures]

for line, _ in outcomes:
    print(line)
sys.exit(0 if all(ok for _, ok in outcomes) else 1)
