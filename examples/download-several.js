#!/usr/bin/env -S gjs -m
// download-several.js: download several files at once, with progress
//
// Usage: gjs -m download-several.js [-d DIR] URL…
//
// Downloads the URLs concurrently into DIR (default: the current directory),
// each under the name the server gives: its Content-Disposition, else the
// last segment of the URL, else "index.html". A file already there is never
// replaced: the download takes "name (1).ext" instead. Prints the progress
// of each file of known size ("NAME:  42% of SIZE bytes") and of all those
// still running ("N running:  42% at SPEED bytes/s"), then per file "NAME:
// SIZE bytes, SHA-256 HEX", or "URL: error: WHY" (an HTTP status >= 400 is
// an error, and saves nothing). Exits with 1 if a download failed, 2 on a
// usage error. The same program is in download-several.c and
// download-several.py.
//
// Its length is checked by tests/examples/check-example-length.py, which
// counts the lines that are neither blank nor only a comment, except those
// between the ARGS markers: they parse the arguments.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GCurl from 'gi://GCurl?version=1.0';
import System from 'system';

// ARGS
let [dir, urls] = ['.', System.programArgs];
if (['-d', '--dir'].includes(urls[0]))
    [dir, urls] = [urls[1], urls.slice(2)];
if (!dir || urls.length === 0 || urls[0].startsWith('-')) {
    printerr('Usage: gjs -m download-several.js [-d DIR] URL…');
    System.exit(2);
}
const directory = Gio.File.new_for_commandline_arg(dir);
// ARGS

Gio._promisify(GCurl.Multi.prototype, 'download_to_directory_async',
    'download_to_directory_finish');
const percent = fraction => `${Math.round(100 * fraction)}%`.padStart(4);

const multi = new GCurl.Multi();
multi.connect('notify::fraction', () => {
    // The sums over the downloads still running: one that ends leaves them.
    print(`${multi.nTransfers} running: ${percent(multi.fraction)} at ` +
        `${multi.downloadSpeed} bytes/s`);
});

async function download(url) {
    const transfer = new GCurl.Transfer({url});
    transfer.connect('progress', (_, downloaded, size) => {
        // The destination is known from the response's headers on.
        const name = transfer.destination?.get_basename();
        if (name && size > 0)
            print(`${name}: ${percent(downloaded / size)} of ${size} bytes`);
    });
    try {
        const file = await multi.download_to_directory_async(transfer, directory,
            GCurl.DownloadFlags.NONE, null);
        const [contents] = file.load_bytes(null);
        const sha256 = GLib.compute_checksum_for_bytes(GLib.ChecksumType.SHA256, contents);
        print(`${file.get_basename()}: ${contents.get_size()} bytes, SHA-256 ${sha256}`);
        return true;
    } catch (error) {
        print(`${url}: error: ${error.message}`);
        return false;
    }
}

const loop = new GLib.MainLoop(null, false);
let succeeded = false;
Promise.all(urls.map(download)).then(results => {
    succeeded = results.every(ok => ok);
    loop.quit();
});
loop.run();
System.exit(succeeded ? 0 : 1);
