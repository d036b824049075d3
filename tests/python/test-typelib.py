#!/usr/bin/python3
# test-typelib.py: GCurl-1.0.typelib loads from the build directory, with
# the library next to it, and its basic calls work from Python.
#
# Run by meson with GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at the
# build's libgcurlmulti/ (see tests/meson.build), and GCURL_BUILD_LIB_DIR
# naming that directory so that the test can check nothing else was loaded.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import socket
import sys

import gi

gi.require_version("GIRepository", "2.0")
gi.require_version("GCurl", "1.0")
from gi.repository import GCurl, GIRepository, GLib  # noqa: E402

TIMEOUT_S = 30

build_lib_dir = os.path.realpath(os.environ["GCURL_BUILD_LIB_DIR"])


def check(condition, what):
    if not condition:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


# The typelib and the shared library are the build's, not installed ones.
typelib = GIRepository.Repository.get_default().get_typelib_path("GCurl")
check(os.path.dirname(os.path.realpath(typelib)) == build_lib_dir,
      f"typelib loaded from the build directory ({typelib})")

# Types, enums and the error domain as the GIR describes them.
check(GCurl.Error.COULDNT_CONNECT == 7, "GCurl.Error.COULDNT_CONNECT is CURLE_COULDNT_CONNECT")
check(GLib.quark_to_string(GCurl.error_quark()) == "g-curl-error-quark",
      "GCurl.error_quark() is the G_CURL_ERROR domain")
check(int(GCurl.DownloadFlags.RESUME) == 1, "GCurl.DownloadFlags.RESUME")

multi = GCurl.Multi.new()
check(multi.props.n_transfers == 0 and multi.props.allowed_protocols == "http,https",
      "GCurl.Multi properties")
check(multi.get_context() == GLib.MainContext.default(), "the multi runs on the default context")

# The typelib names the library without a path: the loader found it
# through LD_LIBRARY_PATH (it is loaded by the first call into it).
with open("/proc/self/maps", encoding="utf-8") as maps:
    libraries = {line.split()[-1] for line in maps if "libgcurlmulti-1.so" in line}
check(libraries and all(os.path.dirname(os.path.realpath(lib)) == build_lib_dir
                        for lib in libraries),
      f"libgcurlmulti-1.so loaded from the build directory ({', '.join(libraries)})")


# A refused connection, through send_and_read_async(): the async callback
# is called, and the error arrives in the GCurl.Error domain.
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
    # Bound and not listening: connections are refused, and no other
    # program can take the port meanwhile.
    bound.bind(("127.0.0.1", 0))
    url = "http://127.0.0.1:%d/" % bound.getsockname()[1]

    transfer = GCurl.Transfer.new(url)
    check(transfer.props.url == url and transfer.get_state() == GCurl.TransferState.NEW,
          "GCurl.Transfer.new()")

    loop = GLib.MainLoop()
    outcome = {}
    finished = []

    def on_done(source, result):
        try:
            outcome["body"] = source.send_and_read_finish(result)
        except GLib.Error as error:
            outcome["error"] = error
        loop.quit()

    def on_timeout():
        print(f"FAIL: no result within {TIMEOUT_S} s", file=sys.stderr)
        sys.exit(1)

    transfer.connect("finished", lambda t: finished.append(t.get_state()))
    multi.send_and_read_async(transfer, None, on_done)
    GLib.timeout_add_seconds(TIMEOUT_S, on_timeout)
    loop.run()

error = outcome.get("error")
check(error is not None and error.matches(GCurl.error_quark(), GCurl.Error.COULDNT_CONNECT),
      f"send_and_read_finish() raised GCurl.Error.COULDNT_CONNECT ({error})")
check(finished == [GCurl.TransferState.FAILED], "finished was emitted once, FAILED")
check(transfer.get_error().matches(GCurl.error_quark(), GCurl.Error.COULDNT_CONNECT),
      "GCurl.Transfer.get_error()")
check(transfer.get_body() is None, "no body")
