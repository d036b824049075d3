#!/usr/bin/env -S gjs -m
// download-several.js: download several files at once, with progress
//
// Usage: gjs -m download-several.js [-d DIR] URL…
//
// Downloads the URLs concurrently into DIR (default: the current directory),
// each to the last segment of its path ("index.html" if none), replacing
// existing files. Prints progress lines, then per file "NAME: SIZE bytes,
// SHA-256 HEX" or "NAME: error: WHY" (an HTTP status >= 400 is an error, and
// saves nothing). Exits with 1 if a download failed, 2 on a usage error.
// The same program is in download-several.c and download-several.py.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GCurl from 'gi://GCurl?version=1.0';
import System from 'system';

Gio._promisify(GCurl.Multi.prototype, 'download_async', 'download_finish');

let [dir, urls] = ['.', System.programArgs];
if (['-d', '--dir'].includes(urls[0]))
    [dir, urls] = [urls[1], urls.slice(2)];
if (!dir || urls.length === 0 || urls[0].startsWith('-')) {
    printerr('Usage: gjs -m download-several.js [-d DIR] URL…');
    System.exit(2);
}

const multi = GCurl.Multi.new();

async function download(url) {
    let name = url;
    try {
        name = GLib.Uri.parse(url, GLib.UriFlags.NONE).get_path().split('/').pop() || 'index.html';
        const file = Gio.File.new_for_path(GLib.build_filenamev([dir, name]));
        const transfer = GCurl.Transfer.new(url);
        transfer.connect('progress', (t, downloaded, size) => print(size > 0
            ? `${name}: ${(100 * downloaded / size).toFixed(0).padStart(3)}% of ${size} bytes`
            : `${name}: ${downloaded} bytes`));
        await multi.download_async(transfer, file, GCurl.DownloadFlags.OVERWRITE, null);
        const [contents] = file.load_bytes(null);
        const sha256 = GLib.compute_checksum_for_bytes(GLib.ChecksumType.SHA256, contents);
        print(`${name}: ${contents.get_size()} bytes, SHA-256 ${sha256}`);
        return true;
    } catch (error) {
        print(`${name}: error: ${error.message}`);
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
