#!/usr/bin/python3
# test_gcurl.py: the GCurl API from Python (PyGObject), against the test
# server program (tests/test-server-main.c) on 127.0.0.1.
#
# Run by meson (suite "bindings") with GI_TYPELIB_PATH and LD_LIBRARY_PATH
# pointing at the build's libgcurlmulti/ and GCURL_TEST_SERVER naming the
# server program; prints TAP. Every case is bounded by CASE_TIMEOUT_S, and
# an exception raised in any callback or signal handler fails the case.
#
# PyGObject 3.42 (Debian 12) has no awaitable async calls (they came with
# gi.events in 3.50): the *_async calls take a callback, and the cases run
# the default main context until what they wait for has happened.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import traceback
import urllib.parse

import gi

gi.require_version("GCurl", "1.0")
gi.require_version("Gio", "2.0")
from gi.repository import GCurl, Gio, GLib, GObject  # noqa: E402

CASE_TIMEOUT_S = 30

# Not multiples of any buffer size, so a lost or repeated chunk shows.
SIZES = [1000, 65_543, 1_048_583, 4_194_311]
STREAM_SIZE = 4_194_311      # well above the stream's ~256 KiB of buffering
SLOW_SIZE = 65_536           # served at SLOW_RATE: about one second
SLOW_RATE = 65_536
READ_SIZE = 65_536


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def check_equal(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}: got {actual!r}, expected {expected!r}")


# Exceptions raised in callbacks and signal handlers: PyGObject prints them
# through sys.excepthook and carries on, so they are collected here and
# re-raised by wait_until().
callback_errors = []
sys.excepthook = lambda kind, value, tb: callback_errors.append((kind, value, tb))


def wait_until(done, what):
    """Runs the default main context until done() is true."""
    expired = []

    def on_timeout():
        expired.append(True)
        return GLib.SOURCE_REMOVE

    timeout = GLib.timeout_add_seconds(CASE_TIMEOUT_S, on_timeout)
    context = GLib.MainContext.default()
    try:
        while not done():
            context.iteration(True)
            if callback_errors:
                kind, value, tb = callback_errors.pop(0)
                raise Failure("in a callback: " + "".join(
                    traceback.format_exception(kind, value, tb)).rstrip())
            if expired:
                raise Failure(f"timed out after {CASE_TIMEOUT_S} s waiting for {what}")
    finally:
        if not expired:
            GLib.source_remove(timeout)


class TestServer:
    """tests/test-server-main.c in a subprocess; it exits when its stdin closes."""

    def __init__(self, sizes):
        self.process = subprocess.Popen(
            [os.environ["GCURL_TEST_SERVER"]] + [str(s) for s in sizes],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        info = json.loads(self.process.stdout.readline())
        self.uri = info["uri"]
        self.raw_uri = info["raw_uri"]
        self.sha256 = {int(size): digest for size, digest in info["sha256"].items()}

    def url(self, path):
        return self.uri.rstrip("/") + "/" + path.lstrip("/")

    def close(self):
        self.process.stdin.close()
        check_equal(self.process.wait(timeout=CASE_TIMEOUT_S), 0, "test server exit status")


class Gauge(GObject.Object):
    """Stands for a widget: one double property that something binds to."""
    value = GObject.Property(type=float, default=0.0)


def sha256_of_bytes(data):
    return hashlib.sha256(data.get_data() if data is not None else b"").hexdigest()


def record_signals(transfer, events):
    """Appends ("progress", downloaded, size) and ("finished", state) to events."""
    transfer.connect("progress", lambda t, downloaded, size, uploaded, upload_size:
                     events.append(("progress", downloaded, size)))
    transfer.connect("finished", lambda t: events.append(("finished", t.get_state())))


def check_signal_order(events, size, what):
    kinds = [event[0] for event in events]
    check_equal(kinds.count("finished"), 1, f"{what}: number of 'finished' emissions")
    check_equal(kinds[-1], "finished", f"{what}: the last signal")
    check(kinds.count("progress") >= 1, f"{what}: 'progress' was emitted before 'finished'")
    last_progress = events[-2]
    check_equal(last_progress[1:], (size, size),
                f"{what}: the last 'progress' (downloaded, download_size)")
    downloaded = [event[1] for event in events if event[0] == "progress"]
    check_equal(downloaded, sorted(downloaded), f"{what}: 'progress' figures never go back")


def refused_url():
    """A URL on 127.0.0.1 whose connections are refused: the port is bound
    (so no other program can take it meanwhile) but not listening."""
    bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bound.bind(("127.0.0.1", 0))
    return bound, "http://127.0.0.1:%d/" % bound.getsockname()[1]


# The cases. Each takes the server.

def test_concurrent_transfers(server):
    """Several transfers at once on one multi: bodies, signals, states."""
    multi = GCurl.Multi.new()
    transfers = {}
    events = {}

    for size in SIZES:
        transfer = GCurl.Transfer.new(server.url(f"/bytes/{size}"))
        events[size] = []
        record_signals(transfer, events[size])
        transfers[size] = transfer
        multi.add_transfer(transfer)

    check_equal(multi.props.n_transfers, len(SIZES), "n-transfers once all are added")
    wait_until(lambda: all(e and e[-1][0] == "finished" for e in events.values()),
               "every transfer to finish")
    GLib.MainContext.default().iteration(False)   # anything emitted late shows up

    for size, transfer in transfers.items():
        what = f"/bytes/{size}"
        check_signal_order(events[size], size, what)
        check_equal(transfer.get_state(), GCurl.TransferState.SUCCEEDED, f"{what}: state")
        check(transfer.get_error() is None, f"{what}: no error")
        check_equal(transfer.get_status_code(), 200, f"{what}: status")
        check_equal(transfer.props.downloaded_bytes, size, f"{what}: downloaded-bytes")
        check_equal(transfer.props.fraction, 1.0, f"{what}: fraction")
        check_equal(sha256_of_bytes(transfer.get_body()), server.sha256[size], f"{what}: SHA-256")
    check_equal(multi.props.n_transfers, 0, "n-transfers once all have finished")


def test_bind_fraction(server):
    """A transfer's fraction, bound to another object's property, ends at 1.0."""
    multi = GCurl.Multi.new()
    transfer = GCurl.Transfer.new(server.url(f"/slow/{SLOW_SIZE}?rate={SLOW_RATE}"))
    gauge = Gauge()
    values = []
    events = []

    transfer.bind_property("fraction", gauge, "value", GObject.BindingFlags.SYNC_CREATE)
    gauge.connect("notify::value", lambda g, pspec: values.append(g.value))
    record_signals(transfer, events)
    multi.add_transfer(transfer)
    wait_until(lambda: events and events[-1][0] == "finished", "the transfer to finish")

    check_equal(transfer.get_state(), GCurl.TransferState.SUCCEEDED, "state")
    check_equal(gauge.value, 1.0, "the bound value at the end")
    check(values == sorted(values), f"the bound value never goes back ({values})")
    check(any(0.0 < v < 1.0 for v in values),
          f"the bound value went through values between 0 and 1 ({values})")
    check_equal(sha256_of_bytes(transfer.get_body()), server.sha256[SLOW_SIZE], "SHA-256")


def test_list_model(server):
    """The multi is a Gio.ListModel of its transfers: items in order, items-changed, QUEUED and a shared limit."""
    multi = GCurl.Multi(max_total_connections=1, max_download_speed=1_000_000)
    check(isinstance(multi, Gio.ListModel), "a Gio.ListModel")
    check_equal(multi.get_item_type(), GCurl.Transfer.__gtype__, "item type")
    changes = []
    multi.connect("items-changed", lambda model, position, removed, added:
                  changes.append((position, removed, added)))
    transfers = [GCurl.Transfer.new(server.url(f"/bytes/{size}")) for size in SIZES[:3]]
    finished = []
    for transfer in transfers:
        transfer.connect("finished", lambda t: finished.append(t))
        multi.add_transfer(transfer)
        check_equal(transfer.get_state(), GCurl.TransferState.QUEUED, "state once added")

    check_equal(multi.get_n_items(), 3, "n_items once all are added")
    check_equal(multi.props.n_transfers, 3, "n-transfers once all are added")
    check_equal([multi.get_item(i) for i in range(3)], transfers, "the items, in order")
    check_equal(changes, [(0, 0, 1), (1, 0, 1), (2, 0, 1)], "items-changed on adding")
    check_equal(multi.props.max_download_speed, 1_000_000, "max-download-speed")

    wait_until(lambda: len(finished) == 3 and multi.get_n_items() == 0, "every transfer to leave")
    check_equal(len(changes), 6, "one items-changed per add and per removal")
    check(all(removed == 1 and added == 0 for _, removed, added in changes[3:]),
          f"removals ({changes[3:]})")
    check_equal(multi.props.downloaded_bytes, 0, "downloaded-bytes with none left")
    for transfer in transfers:
        check_equal(transfer.get_state(), GCurl.TransferState.SUCCEEDED, "state at the end")


def test_send_and_read_cancel(server):
    """send_and_read_async: one result, one cancelled with its Gio.Cancellable."""
    multi = GCurl.Multi.new()
    results = {}

    def on_done(multi, result, name):
        try:
            results[name] = multi.send_and_read_finish(result)
        except GLib.Error as error:
            results[name] = error

    slow = GCurl.Transfer.new(server.url(f"/slow/{1024 * 1024}?rate={SLOW_RATE}"))
    slow_events = []
    record_signals(slow, slow_events)
    cancellable = Gio.Cancellable()

    def cancel_once_data_flows(transfer, downloaded, *sizes):
        if downloaded > 0 and not cancellable.is_cancelled():
            cancellable.cancel()

    slow.connect("progress", cancel_once_data_flows)
    multi.send_and_read_async(slow, cancellable, on_done, "slow")

    size = SIZES[2]
    fast = GCurl.Transfer.new(server.url(f"/bytes/{size}"))
    multi.send_and_read_async(fast, Gio.Cancellable(), on_done, "fast")

    early = Gio.Cancellable()
    early.cancel()
    never_sent = GCurl.Transfer.new(server.url("/bytes/1000"))
    multi.send_and_read_async(never_sent, early, on_done, "early")

    wait_until(lambda: len(results) == 3, "the three results")

    error = results["slow"]
    check(isinstance(error, GLib.Error), f"the cancelled call raised GLib.Error ({error!r})")
    check(error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED),
          f"the error is Gio.IOErrorEnum.CANCELLED ({error.domain} {error.code}: {error.message})")
    check_equal(slow.get_state(), GCurl.TransferState.CANCELLED, "state of the cancelled transfer")
    check_equal([e[0] for e in slow_events].count("finished"), 1,
                "'finished' emissions of the cancelled transfer")

    error = results["early"]
    check(isinstance(error, GLib.Error)
          and error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED),
          f"an already cancelled Gio.Cancellable gives CANCELLED ({error!r})")

    body = results["fast"]
    check(isinstance(body, GLib.Bytes), f"the other call returned GLib.Bytes ({body!r})")
    check_equal(sha256_of_bytes(body), server.sha256[size], "SHA-256 of the other body")


def test_refused_connection(server):
    """A refused connection is GCurl.Error.COULDNT_CONNECT, from the call and the transfer,
    and GCurl.error_is_transient() says it is worth a retry."""
    multi = GCurl.Multi.new()
    bound, url = refused_url()
    outcome = []

    def on_done(multi, result):
        try:
            outcome.append(multi.send_and_read_finish(result))
        except GLib.Error as error:
            outcome.append(error)

    with bound:
        transfer = GCurl.Transfer.new(url)
        multi.send_and_read_async(transfer, None, on_done)
        wait_until(lambda: outcome, "the result")

    error = outcome[0]
    check(isinstance(error, GLib.Error), f"send_and_read_finish raised GLib.Error ({error!r})")
    check(error.matches(GCurl.error_quark(), GCurl.Error.COULDNT_CONNECT),
          f"the error is GCurl.Error.COULDNT_CONNECT ({error.domain} {error.code}: {error.message})")
    check_equal(error.domain, GLib.quark_to_string(GCurl.error_quark()), "error domain")
    check_equal(GCurl.Error(error.code), GCurl.Error.COULDNT_CONNECT, "error code as a GCurl.Error")
    check_equal(transfer.get_state(), GCurl.TransferState.FAILED, "state")
    check(transfer.get_error().matches(GCurl.error_quark(), GCurl.Error.COULDNT_CONNECT),
          "GCurl.Transfer.get_error() is COULDNT_CONNECT too")
    check(GCurl.error_is_transient(error), "a refused connection is worth a retry")
    check(not GCurl.error_is_transient(GLib.Error.new_literal(
        GCurl.error_quark(), "bad URL", GCurl.Error.URL_MALFORMAT)),
        "a malformed URL is not worth a retry")


def test_response_headers(server):
    """Two Set-Cookie stay two values, header names list once each, reason and effective URL."""
    multi = GCurl.Multi.new()
    transfer = GCurl.Transfer.new(server.raw_uri.rstrip("/") + "/cookies")
    outcome = []

    multi.send_and_read_async(transfer, None,
                              lambda multi, result: outcome.append(multi.send_and_read_finish(result)))
    wait_until(lambda: outcome, "the response")
    check_equal(outcome[0].get_data(), b"ok", "body")
    check_equal(transfer.get_status_code(), 299, "status")
    check_equal(transfer.get_reason_phrase(), "Caf\ufffd Cr\ufffdme", "reason phrase, made UTF-8")
    check_equal(transfer.get_response_header_values("set-cookie"),
                ["a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/",
                 "b=2; Expires=Thu, 22 Oct 2037 07:28:00 GMT"], "Set-Cookie values")
    # PyGObject gives a NULL string array as an empty list.
    check_equal(transfer.get_response_header_values("X-Missing"), [], "a header not sent")
    check_equal(transfer.list_response_headers(),
                ["Connection", "Set-Cookie", "X-Other", "Content-Length"], "header names")
    check_equal(transfer.props.effective_url, server.raw_uri.rstrip("/") + "/cookies",
                "effective-url")


def test_fail_on_http_error(server):
    """fail-on-http-error: a 404 raises GCurl.Error.HTTP_RETURNED_ERROR, the page still readable."""
    multi = GCurl.Multi(fail_on_http_error=True)
    transfer = GCurl.Transfer.new(server.url("/status/404"))
    outcome = []

    def on_done(multi, result):
        try:
            outcome.append(multi.send_and_read_finish(result))
        except GLib.Error as error:
            outcome.append(error)

    multi.send_and_read_async(transfer, None, on_done)
    wait_until(lambda: outcome, "the result")
    error = outcome[0]
    check(isinstance(error, GLib.Error)
          and error.matches(GCurl.error_quark(), GCurl.Error.HTTP_RETURNED_ERROR),
          f"send_and_read_finish raised HTTP_RETURNED_ERROR ({error!r})")
    check("404" in error.message and "Not Found" in error.message,
          f"the message names the status and reason ({error.message})")
    check_equal(transfer.get_state(), GCurl.TransferState.FAILED, "state")
    check_equal(transfer.get_body().get_data(), b"status 404", "the error page")


def test_authenticate(server):
    """authenticate: a wrong password is asked again (retrying), a later answer gets the 200."""
    multi = GCurl.Multi.new()
    transfer = GCurl.Transfer.new(server.url("/auth/basic"))
    asked = []
    outcome = []

    def on_authenticate(transfer, auth, retrying):
        asked.append((auth.get_scheme_name(), auth.get_realm(), auth.props.authority,
                      auth.is_for_proxy(), retrying))
        password = "wrong" if len(asked) == 1 else "s3cret"
        # Answered from the main loop later, as after a password dialog.
        GLib.idle_add(lambda: auth.authenticate("user", password) and False)
        return True

    transfer.connect("authenticate", on_authenticate)
    multi.send_and_read_async(transfer, None,
                              lambda multi, result: outcome.append(multi.send_and_read_finish(result)))
    wait_until(lambda: outcome, "the response")
    authority = server.uri[len("http://"):].rstrip("/")
    check_equal(asked, [("Basic", "gcurl tests", authority, False, False),
                        ("Basic", "gcurl tests", authority, False, True)], "the challenges asked")
    check_equal(outcome[0].get_data(), b"welcome user", "body")
    check_equal(transfer.get_status_code(), 200, "status")

    # Declined: the 401 is the response, its page whole.
    declined = GCurl.Transfer.new(server.url("/auth/basic"))
    declined.connect("authenticate", lambda transfer, auth, retrying: False)
    outcome.clear()
    multi.send_and_read_async(declined, None,
                              lambda multi, result: outcome.append(multi.send_and_read_finish(result)))
    wait_until(lambda: outcome, "the 401")
    check_equal(declined.get_status_code(), 401, "status when declined")
    check_equal(outcome[0].get_data(), b"please log in", "the 401's page")
    check_equal(declined.get_response_header("WWW-Authenticate"), 'Basic realm="gcurl tests"',
                "the challenge")


def test_blocking_threads(server):
    """send_and_read from 8 Python threads at once, one multi, no main loop: exact bodies; a cancel from the main thread."""
    import threading
    multi = GCurl.Multi.new()
    results = {}
    errors = []

    def worker(index):
        try:
            for size in SIZES[:3]:
                body = multi.send_and_read(GCurl.Transfer.new(server.url(f"/bytes/{size}")), None)
                results[(index, size)] = sha256_of_bytes(body)
        except Exception as error:  # noqa: BLE001: reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CASE_TIMEOUT_S)
    check_equal(errors, [], "errors in the threads")
    check_equal(len(results), 8 * 3, "calls that returned")
    for (index, size), digest in results.items():
        check_equal(digest, server.sha256[size], f"SHA-256 of thread {index}'s {size} bytes")

    # A call that would last a minute, cancelled from this thread.
    cancellable = Gio.Cancellable()
    outcome = []

    def slow():
        try:
            multi.send_and_read(GCurl.Transfer.new(server.url(f"/slow/{SLOW_SIZE}?rate=1024")),
                                cancellable)
            outcome.append("returned")
        except GLib.Error as error:
            outcome.append(error)

    thread = threading.Thread(target=slow)
    thread.start()
    GLib.usleep(200_000)
    cancellable.cancel()
    thread.join(CASE_TIMEOUT_S)
    check(not thread.is_alive(), "the cancelled call returned")
    check(isinstance(outcome[0], GLib.Error)
          and outcome[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED),
          f"G_IO_ERROR_CANCELLED ({outcome[0]!r})")


def test_content_decoding(server):
    """accept-encoding: "" (the default) decodes a gzip body; None gets it as served."""
    outcome = {}

    def fetch(key, multi):
        transfer = GCurl.Transfer.new(server.url("/gzip-zeros/100000"))
        multi.send_and_read_async(transfer, None,
                                  lambda m, result: outcome.update({key: m.send_and_read_finish(result)}))

    fetch("decoded", GCurl.Multi.new())
    raw_multi = GCurl.Multi.new()
    raw_multi.props.accept_encoding = None
    fetch("raw", raw_multi)
    wait_until(lambda: len(outcome) == 2, "both bodies")
    check_equal(outcome["decoded"].get_data(), bytes(100000), "the decoded body: 100000 zero bytes")
    raw = outcome["raw"].get_data()
    check(len(raw) < 100000 and raw[:2] == b"\x1f\x8b", f"the body as served is gzip ({len(raw)} bytes)")


def test_send_and_splice(server):
    """send_and_splice_async: the body written into a Gio.MemoryOutputStream, its byte count."""
    multi = GCurl.Multi.new()
    transfer = GCurl.Transfer.new(server.url(f"/bytes/{STREAM_SIZE}"))
    output = Gio.MemoryOutputStream.new_resizable()
    outcome = []

    multi.send_and_splice_async(transfer, output, Gio.OutputStreamSpliceFlags.CLOSE_TARGET, None,
                                lambda m, result: outcome.append(m.send_and_splice_finish(result)))
    wait_until(lambda: outcome, "the splice")
    check_equal(outcome[0], STREAM_SIZE, "bytes spliced")
    check(output.is_closed(), "the output is closed (CLOSE_TARGET)")
    data = output.steal_as_bytes().get_data()
    check_equal(hashlib.sha256(data).hexdigest(), server.sha256[STREAM_SIZE], "SHA-256 of the output")


def test_send_stream(server):
    """send_async: the Gio.InputStream, read to the end with read_bytes_async."""
    multi = GCurl.Multi.new()
    transfer = GCurl.Transfer.new(server.url(f"/bytes/{STREAM_SIZE}"))
    digest = hashlib.sha256()
    state = {"length": 0, "eof": False}

    def on_read(stream, result):
        data = stream.read_bytes_finish(result)
        if data.get_size() == 0:
            stream.close(None)
            state["eof"] = True
            return
        digest.update(data.get_data())
        state["length"] += data.get_size()
        stream.read_bytes_async(READ_SIZE, GLib.PRIORITY_DEFAULT, None, on_read)

    def on_sent(multi, result):
        stream = multi.send_finish(result)
        check(isinstance(stream, Gio.InputStream), f"send_finish returned a Gio.InputStream ({stream!r})")
        state["status_at_stream"] = transfer.get_status_code()
        stream.read_bytes_async(READ_SIZE, GLib.PRIORITY_DEFAULT, None, on_read)

    multi.send_async(transfer, None, on_sent)
    wait_until(lambda: state["eof"], "the end of the stream")

    check_equal(state["status_at_stream"], 200, "status code once the stream is returned")
    check_equal(state["length"], STREAM_SIZE, "bytes read from the stream")
    check_equal(digest.hexdigest(), server.sha256[STREAM_SIZE], "SHA-256 of the stream")
    wait_until(lambda: transfer.get_state() == GCurl.TransferState.SUCCEEDED, "the transfer to succeed")


def test_download(server):
    """download_async to a temporary directory; a 404 saves nothing."""
    multi = GCurl.Multi.new()
    size = SIZES[2]
    outcome = {}

    def on_done(multi, result, name):
        try:
            outcome[name] = multi.download_finish(result)
        except GLib.Error as error:
            outcome[name] = error

    with tempfile.TemporaryDirectory(prefix="gcurl-python-") as directory:
        path = os.path.join(directory, "pattern")
        missing_path = os.path.join(directory, "missing")
        transfer = GCurl.Transfer.new(server.url(f"/bytes/{size}"))
        multi.download_async(transfer, Gio.File.new_for_path(path), GCurl.DownloadFlags.NONE,
                             None, on_done, "pattern")
        missing = GCurl.Transfer.new(server.url("/status/404"))
        multi.download_async(missing, Gio.File.new_for_path(missing_path),
                             GCurl.DownloadFlags.NONE, None, on_done, "missing")
        wait_until(lambda: len(outcome) == 2, "both downloads to end")

        check_equal(outcome["pattern"], True, "download_finish")
        with open(path, "rb") as f:
            check_equal(hashlib.sha256(f.read()).hexdigest(), server.sha256[size],
                        "SHA-256 of the downloaded file")
        error = outcome["missing"]
        check(isinstance(error, GLib.Error)
              and error.matches(GCurl.error_quark(), GCurl.Error.HTTP_RETURNED_ERROR),
              f"a 404 is GCurl.Error.HTTP_RETURNED_ERROR ({error!r})")
        check_equal(sorted(os.listdir(directory)), ["pattern"],
                    "the directory holds the file and nothing else (no .part, no error page)")


def test_download_to_directory(server):
    """download_to_directory_async: the server names the file (filename* over
    filename), "destination" says it once, a hostile name stays inside."""
    multi = GCurl.Multi.new()
    size = SIZES[2]
    outcome = {}

    def on_done(multi, result, name):
        try:
            outcome[name] = multi.download_to_directory_finish(result)
        except GLib.Error as error:
            outcome[name] = error

    def disposition_url(value):
        return server.url(f"/disposition/{size}/url.bin?cd={urllib.parse.quote(value, safe='')}")

    with tempfile.TemporaryDirectory(prefix="gcurl-python-") as parent:
        directory = os.path.join(parent, "downloads")
        os.mkdir(directory)
        folder = Gio.File.new_for_path(directory)
        transfer = GCurl.Transfer.new(disposition_url(
            "attachment; filename=\"fallback.bin\"; filename*=UTF-8''caf%C3%A9.bin"))
        destinations = []
        transfer.connect("notify::destination", lambda t, pspec: destinations.append(t.props.destination))
        multi.download_to_directory_async(transfer, folder, GCurl.DownloadFlags.NONE, None,
                                          on_done, "named")
        hostile = GCurl.Transfer.new(disposition_url("attachment; filename=\"../../.bashrc\""))
        multi.download_to_directory_async(hostile, folder, GCurl.DownloadFlags.NONE, None,
                                          on_done, "hostile")
        wait_until(lambda: len(outcome) == 2, "both downloads to end")

        named = outcome["named"]
        check(isinstance(named, Gio.File), f"download_to_directory_finish gives a Gio.File ({named!r})")
        check_equal(named.get_basename(), "café.bin", "the name from filename*")
        check_equal(len(destinations), 1, "destination notified once")
        check(destinations[0].equal(named), "destination is the file")
        check(transfer.get_destination().equal(named), "get_destination()")
        with open(named.get_path(), "rb") as f:
            check_equal(hashlib.sha256(f.read()).hexdigest(), server.sha256[size],
                        "SHA-256 of the downloaded file")
        check_equal(outcome["hostile"].get_basename(), "bashrc", "a hostile name, visible, inside")
        check_equal(sorted(os.listdir(directory)), ["bashrc", "café.bin"], "the folder")
        check_equal(os.listdir(parent), ["downloads"], "nothing outside the folder")


class TlsServer:
    """A GIO TLS server on 127.0.0.1 with a self-signed certificate (made with
    openssl), answering every request on a connection with TLS_BODY."""

    def __init__(self, directory):
        key = os.path.join(directory, "server.key")
        pem = os.path.join(directory, "server.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-keyout", key, "-out", pem, "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        self.certificate = Gio.TlsCertificate.new_from_files(pem, key)
        self.connections = []
        self.service = Gio.SocketService.new()
        address = Gio.InetSocketAddress.new_from_string("127.0.0.1", 0)
        _, bound = self.service.add_address(address, Gio.SocketType.STREAM,
                                            Gio.SocketProtocol.TCP, None)
        self.port = bound.get_port()
        self.service.connect("incoming", self.on_incoming)
        self.service.start()

    def on_incoming(self, service, connection, source):
        tls = Gio.TlsServerConnection.new(connection, self.certificate)
        self.connections.append(tls)
        self.read_request(tls)
        return True

    def read_request(self, tls):
        tls.get_input_stream().read_bytes_async(65536, GLib.PRIORITY_DEFAULT, None,
                                                self.on_request, tls)

    def on_request(self, stream, result, tls):
        try:
            request = stream.read_bytes_finish(result)
        except GLib.Error:       # the client refused the handshake
            request = None
        if request is None or request.get_size() == 0:
            tls.close(None)
            return
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(TLS_BODY)}\r\n\r\n".encode()
        tls.get_output_stream().write_all(head + TLS_BODY, None)
        self.read_request(tls)

    def url(self):
        return f"https://127.0.0.1:{self.port}/"

    def close(self):
        self.service.stop()
        self.service.close()


TLS_BODY = bytes((i * 7 + 3) & 0xFF for i in range(65_543))


def run_transfer(multi, transfer):
    finished = []
    transfer.connect("finished", lambda t: finished.append(True))
    multi.add_transfer(transfer)
    wait_until(lambda: finished, "'finished'")


def test_accept_certificate(server):
    """accept-certificate: TRUE gets the exact body after one emission; FALSE and no handler fail with PEER_FAILED_VERIFICATION."""
    with tempfile.TemporaryDirectory() as directory:
        tls_server = TlsServer(directory)
        try:
            multi = GCurl.Multi.new()
            asked = []

            def accept(answer):
                def handler(transfer, peer, errors):
                    asked.append((peer, errors))
                    return answer
                return handler

            accepted = GCurl.Transfer.new(tls_server.url())
            accepted.connect("accept-certificate", accept(True))
            run_transfer(multi, accepted)
            check_equal(accepted.get_error(), None, "error of the accepted transfer")
            check_equal(accepted.get_status_code(), 200, "status")
            check_equal(sha256_of_bytes(accepted.get_body()), hashlib.sha256(TLS_BODY).hexdigest(),
                        "SHA-256 of the body")
            check_equal(len(asked), 1, "emissions of accept-certificate")
            check(asked[0][0].is_same(tls_server.certificate), "the peer is the server's certificate")
            check_equal(asked[0][1], Gio.TlsCertificateFlags.UNKNOWN_CA, "the errors")
            check(accepted.props.tls_peer_certificate.is_same(tls_server.certificate),
                  "tls-peer-certificate")

            refused = GCurl.Transfer.new(tls_server.url())
            refused.connect("accept-certificate", accept(False))
            unhandled = GCurl.Transfer.new(tls_server.url())
            for transfer, emissions in ((refused, 2), (unhandled, 2)):
                run_transfer(multi, transfer)
                error = transfer.get_error()
                check(error is not None and
                      error.matches(GCurl.error_quark(), GCurl.Error.PEER_FAILED_VERIFICATION),
                      f"PEER_FAILED_VERIFICATION, got {error}")
                check_equal(error.message,
                            "The certificate of 127.0.0.1 is not trusted: unknown certificate authority",
                            "the message")
                check_equal(transfer.get_body(), None, "no body")
                check_equal(len(asked), emissions, "emissions of accept-certificate")
                check(transfer.get_tls_peer_certificate().is_same(tls_server.certificate),
                      "the peer of the failed transfer")
        finally:
            tls_server.close()


def test_cookies(server):
    """cookie-file "": a Set-Cookie is kept and sent back, listed by get_cookies; add_cookie, clear_cookies."""
    multi = GCurl.Multi(cookie_file="")
    host = GLib.Uri.parse(server.uri, GLib.UriFlags.NONE).get_host()

    def get(path):
        outcome = []
        multi.send_and_read_async(GCurl.Transfer.new(server.url(path)), None,
                                  lambda multi, result: outcome.append(multi.send_and_read_finish(result)))
        wait_until(lambda: outcome, path)
        return outcome[0].get_data().decode()

    def sent_cookie():
        lines = [line for line in get("/echo-headers").split("\n") if line.lower().startswith("cookie: ")]
        check(len(lines) <= 1, f"one Cookie header at most: {lines!r}")
        return lines[0][len("cookie: "):] if lines else None

    check_equal(multi.get_cookies(), [], "an empty jar")
    check_equal(get("/set-cookie?c=py%3D1"), "ok", "body")
    check_equal(multi.get_cookies(), [f"{host}\tFALSE\t/\tFALSE\t0\tpy\t1"], "the cookie's line")
    check_equal(sent_cookie(), "py=1", "the cookie sent back")

    multi.add_cookie(server.url("/dir/page"), "added=2; Expires=Wed, 01 Jan 2031 00:00:00 GMT; HttpOnly")
    check_equal(sorted(multi.get_cookies()),
                [f"#HttpOnly_{host}\tFALSE\t/dir\tFALSE\t1924992000\tadded\t2",
                 f"{host}\tFALSE\t/\tFALSE\t0\tpy\t1"], "both lines")
    check_equal(sent_cookie(), "py=1", "a cookie for /dir not sent to /echo-headers")

    multi.clear_cookies()
    check_equal(multi.get_cookies(), [], "cleared")
    check_equal(sent_cookie(), None, "no Cookie header once cleared")
    check_equal(GCurl.Multi.new().get_cookies(), [], "a multi without cookie-file has none")


def test_retries(server):
    """retries: a GET cut off twice is sent again until it succeeds, one
    "finished" per run; a POST is sent once unless set idempotent."""
    multi = GCurl.Multi(retries=3, retry_delay=10, fail_on_http_error=True)
    check_equal(GCurl.Multi.new().props.retries, 0, "retries by default")

    def send_and_read(transfer):
        outcome = []
        runs = []

        def on_done(multi, result):
            try:
                outcome.append(multi.send_and_read_finish(result))
            except GLib.Error as error:
                outcome.append(error)

        handler = transfer.connect("finished", lambda t: runs.append(t.get_state()))
        multi.send_and_read_async(transfer, None, on_done)
        wait_until(lambda: outcome, "the result")
        transfer.disconnect(handler)
        return outcome[0], runs

    flaky = GCurl.Transfer.new(server.raw_uri.rstrip("/") + "/bytes/1000?key=py-get&fail=2&after=10")
    check(flaky.props.idempotent, "a GET is idempotent")
    body, runs = send_and_read(flaky)
    check(isinstance(body, GLib.Bytes), f"the third run's body ({body!r})")
    check_equal(sha256_of_bytes(body), server.sha256[1000], "SHA-256 of the body")
    check_equal(runs, [GCurl.TransferState.FAILED, GCurl.TransferState.FAILED,
                       GCurl.TransferState.SUCCEEDED], "the runs")

    data = GLib.Bytes.new(b"once")
    post = GCurl.Transfer.new(server.url("/echo?key=py-post&fail=1"))
    post.set_request_body(data, "text/plain")
    check(not post.get_idempotent(), "a POST is not idempotent")
    error, runs = send_and_read(post)
    check(isinstance(error, GLib.Error)
          and error.matches(GCurl.error_quark(), GCurl.Error.HTTP_RETURNED_ERROR),
          f"the 503 of the only run ({error!r})")
    check_equal(len(runs), 1, "a POST is sent once")

    again = GCurl.Transfer.new(server.url("/echo?key=py-again&fail=1"))
    again.set_request_body(data, "text/plain")
    again.props.idempotent = True
    body, runs = send_and_read(again)
    check(isinstance(body, GLib.Bytes), f"the second run's body ({body!r})")
    check_equal(body.get_data().decode(), "POST 4 " + hashlib.sha256(b"once").hexdigest(),
                "the body sent again, whole")
    check_equal(len(runs), 2, "an idempotent POST is sent again")


def test_mirrors(server):
    """set_mirrors: a GStrv in and out; the primary refuses, the mirror serves the file,
    and effective-url names it."""
    multi = GCurl.Multi.new()
    multi.props.download_retries = 0
    size = SIZES[2]
    bound, primary = refused_url()
    mirror = server.url(f"/bytes/{size}")
    outcome = []

    def on_done(multi, result):
        try:
            outcome.append(multi.download_finish(result))
        except GLib.Error as error:
            outcome.append(error)

    with bound, tempfile.TemporaryDirectory(prefix="gcurl-python-") as directory:
        transfer = GCurl.Transfer.new(primary + f"bytes/{size}")
        # PyGObject gives a NULL array as [].
        check_equal(list(transfer.get_mirrors() or []), [], "no mirrors at first")
        transfer.set_mirrors([mirror])
        check_equal(list(transfer.get_mirrors()), [mirror], "get_mirrors")
        check_equal(list(transfer.props.mirrors), [mirror], "the mirrors property")
        transfer.set_mirrors([])
        check_equal(list(transfer.get_mirrors() or []), [], "an empty list is no mirrors")
        transfer.props.mirrors = [mirror]
        path = os.path.join(directory, "file")
        multi.download_async(transfer, Gio.File.new_for_path(path), GCurl.DownloadFlags.NONE,
                             None, on_done)
        wait_until(lambda: outcome, "the download to end")
        check_equal(outcome[0], True, "download_finish")
        with open(path, "rb") as f:
            check_equal(hashlib.sha256(f.read()).hexdigest(), server.sha256[size],
                        "SHA-256 of the file the mirror served")
        check_equal(transfer.props.effective_url, mirror, "effective-url is the mirror")
        check_equal(transfer.props.url, primary + f"bytes/{size}", "url does not change")


def test_segments(server):
    """segments: a guint property; a 4 MiB file over two connections is exact, with one
    "finished" and every byte in downloaded-bytes."""
    multi = GCurl.Multi.new()
    size = SIZES[3]
    outcome = []
    finished = []

    def on_done(multi, result):
        try:
            outcome.append(multi.download_finish(result))
        except GLib.Error as error:
            outcome.append(error)

    transfer = GCurl.Transfer.new(server.url(f"/bytes/{size}"))
    check_equal(transfer.props.segments, 1, "one segment by default")
    transfer.set_segments(4)
    check_equal(transfer.get_segments(), 4, "get_segments")
    transfer.connect("finished", lambda t: finished.append(t))
    with tempfile.TemporaryDirectory(prefix="gcurl-python-") as directory:
        path = os.path.join(directory, "file")
        multi.download_async(transfer, Gio.File.new_for_path(path), GCurl.DownloadFlags.NONE,
                             None, on_done)
        wait_until(lambda: outcome, "the download to end")
        check_equal(outcome[0], True, "download_finish")
        with open(path, "rb") as f:
            check_equal(hashlib.sha256(f.read()).hexdigest(), server.sha256[size],
                        "SHA-256 of the segmented file")
        check_equal(os.listdir(directory), ["file"], "no .part nor .part.segments left")
    check_equal(len(finished), 1, "one finished")
    check_equal(transfer.props.downloaded_bytes, size, "downloaded-bytes counts every segment")


CASES = [
    test_concurrent_transfers,
    test_bind_fraction,
    test_list_model,
    test_send_and_read_cancel,
    test_refused_connection,
    test_send_stream,
    test_download,
    test_download_to_directory,
    test_mirrors,
    test_segments,
    test_response_headers,
    test_fail_on_http_error,
    test_content_decoding,
    test_send_and_splice,
    test_authenticate,
    test_accept_certificate,
    test_cookies,
    test_blocking_threads,
    test_retries,
]


def main():
    server = TestServer(sorted(set(SIZES + [STREAM_SIZE, SLOW_SIZE])))
    failed = 0

    print(f"1..{len(CASES) + 1}")
    for number, case in enumerate(CASES, start=1):
        name = case.__name__[len("test_"):]
        try:
            case(server)
            print(f"ok {number} - {name}")
        except Exception as error:  # noqa: BLE001: every failure is reported the same way
            failed += 1
            print(f"not ok {number} - {name}")
            message = str(error) if isinstance(error, Failure) else traceback.format_exc()
            for line in message.splitlines():
                print(f"# {line}")
        callback_errors.clear()
        sys.stdout.flush()

    try:
        server.close()
        print(f"ok {len(CASES) + 1} - test server exits cleanly")
    except Exception as error:  # noqa: BLE001
        failed += 1
        print(f"not ok {len(CASES) + 1} - test server exits cleanly\n# {error}")

    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
