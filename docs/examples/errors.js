// errors.js: telling failures apart, in JavaScript (gjs -m errors.js URL)
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GCurl from 'gi://GCurl?version=1.0';
import System from 'system';

function describe(error) {
    if (error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED))
        return 'cancelled';
    if (error.matches(GCurl.Error, GCurl.Error.COULDNT_RESOLVE_HOST) ||
        error.matches(GCurl.Error, GCurl.Error.COULDNT_CONNECT))
        return 'the server cannot be reached';
    if (error.matches(GCurl.Error, GCurl.Error.HTTP_RETURNED_ERROR))
        return 'the server answered with an error status';
    if (error.domain === GCurl.error_quark())
        return `libcurl error ${error.code}`; // any other CURLcode
    return 'not a libcurl error';
}

let exitStatus = 1;
const loop = new GLib.MainLoop(null, false);
const multi = new GCurl.Multi({fail_on_http_error: true}); // a 404 rejects too
const transfer = GCurl.Transfer.new(ARGV[0]);

multi.send_and_read_async(transfer, null, (source, result) => {
    try {
        const body = source.send_and_read_finish(result);
        print(`HTTP ${transfer.get_status_code()}, ${body.get_size()} bytes`);
        exitStatus = 0;
    } catch (error) {
        const again = GCurl.error_is_transient(error) ? '; worth trying again later' : '';
        print(`failed: ${describe(error)} (${error.message})${again}`);
    }
    loop.quit();
});
loop.run();
System.exit(exitStatus);
