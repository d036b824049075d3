# errors.py: telling failures apart, in Python
import sys

import gi

gi.require_version("GCurl", "1.0")
from gi.repository import GCurl, Gio, GLib  # noqa: E402


def describe(error):
    if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED):
        return "cancelled"
    if error.matches(GCurl.error_quark(), GCurl.Error.COULDNT_RESOLVE_HOST) or \
            error.matches(GCurl.error_quark(), GCurl.Error.COULDNT_CONNECT):
        return "the server cannot be reached"
    if error.matches(GCurl.error_quark(), GCurl.Error.HTTP_RETURNED_ERROR):
        return "the server answered with an error status"
    if error.domain == GLib.quark_to_string(GCurl.error_quark()):
        # Any other CURLcode: the code is the CURLcode.
        return "libcurl error " + GCurl.Error(error.code).value_nick
    return "not a libcurl error"


def on_read(multi, result, transfer):
    global exit_status
    try:
        body = multi.send_and_read_finish(result)
    except GLib.Error as error:
        # From Python, is_transient() has the code only: a 503 is not
        # transient here, a refused connection still is.
        again = "; worth trying again later" if GCurl.error_is_transient(error) else ""
        print(f"failed: {describe(error)} ({error.message}){again}")
    else:
        print(f"HTTP {transfer.get_status_code()}, {body.get_size()} bytes")
        exit_status = 0
    loop.quit()


exit_status = 1
loop = GLib.MainLoop()
multi = GCurl.Multi(fail_on_http_error=True)  # a 404 raises too
transfer = GCurl.Transfer.new(sys.argv[1])
multi.send_and_read_async(transfer, None, on_read, transfer)
loop.run()
sys.exit(exit_status)
