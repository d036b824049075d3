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
    if (error.domain === GCurl.error_quark())
        return `libcurl error ${error.code}`; // any other CURLcode
    return 'not a libcurl error';
}

let exitStatus = 1;
const loop = new GLib.MainLoop(null, false);
const multi = GCurl.Multi.new();
const transfer = GCurl.Transfer.new(ARGV[0]);

multi.send_and_read_async(transfer, null, (source, result) => {
    try {
        const body = source.send_and_read_finish(result);
        print(`HTTP ${transfer.get_status_code()}, ${body.get_size()} bytes`);
        exitStatus = 0;
    } catch (error) {
        print(`failed: ${describe(error)} (${error.message})`);
    }
    loop.quit();
});
loop.run();
System.exit(exitStatus);
