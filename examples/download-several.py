#!/usr/bin/python3
# download-several.py: download several files at once, with progress
#
# Usage: download-several.py [-d DIR] URL…
#
# Downloads the URLs concurrently into DIR (default: the current directory),
# each under the name the server gives: its Content-Disposition, else the
# last segment of the URL, else "index.html". A file already there is never
# replaced: the download takes "name (1).ext" instead. Prints the progress
# of each file of known size ("NAME:  42% of SIZE bytes") and of all those
# still running ("N running:  42% at SPEED bytes/s"), then per file "NAME:
# SIZE bytes, SHA-256 HEX", or "URL: error: WHY" (an HTTP status >= 400 is
# an error, and saves nothing). Exits with 1 if a download failed, 2 on a
# usage error. The same program is in download-several.c and
# download-several.js.
#
# Its length is checked by tests/examples/check-example-length.py, which
# counts the lines that are neither blank nor only a comment, except those
# between the ARGS markers: they parse the arguments.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import sys

import gi

gi.require_version("GCurl", "1.0")
from gi.repository import GCurl, Gio, GLib  # noqa: E402

# ARGS
parser = argparse.ArgumentParser(description="Download several files at once.")
parser.add_argument("-d", "--dir", default=".", help="save the files in DIR")
parser.add_argument("urls", nargs="+", metavar="URL")
args = parser.parse_args()
directory = Gio.File.new_for_commandline_arg(args.dir)
# ARGS

saved = {}  # URL: whether its download succeeded, once it has ended


def on_progress(transfer, downloaded, size, uploaded, upload_size):
    # The destination is known from the response's headers on.
    if transfer.props.destination is not None and size > 0:
        name = transfer.props.destination.get_basename()
        print(f"{name}: {downloaded / size:4.0%} of {size} bytes")


def on_total_progress(multi, pspec):
    # The sums over the downloads still running: one that ends leaves them.
    print(f"{multi.props.n_transfers} running: {multi.props.fraction:4.0%} "
          f"at {multi.props.download_speed} bytes/s")


def on_downloaded(multi, result, url):
    try:
        file = multi.download_to_directory_finish(result)
        contents = file.load_bytes()[0]
        sha256 = GLib.compute_checksum_for_bytes(GLib.ChecksumType.SHA256, contents)
        print(f"{file.get_basename()}: {contents.get_size()} bytes, SHA-256 {sha256}")
        saved[url] = True
    except GLib.Error as error:
        print(f"{url}: error: {error.message}")
        saved[url] = False


multi = GCurl.Multi()
multi.connect("notify::fraction", on_total_progress)
for url in args.urls:
    transfer = GCurl.Transfer.new(url)
    transfer.connect("progress", on_progress)
    multi.download_to_directory_async(transfer, directory, GCurl.DownloadFlags.NONE, None,
                                      on_downloaded, url)

while len(saved) < len(args.urls):
    GLib.MainContext.default().iteration(True)
sys.exit(0 if all(saved.values()) else 1)
