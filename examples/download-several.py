#!/usr/bin/python3
# download-several.py: download several files at once, with progress
#
# Usage: download-several.py [-d DIR] URL…
#
# Downloads the URLs concurrently into DIR (default: the current directory),
# each to the last segment of its path ("index.html" if none), replacing
# existing files. Prints progress lines, then per file "NAME: SIZE bytes,
# SHA-256 HEX" or "NAME: error: WHY" (an HTTP status >= 400 is an error, and
# saves nothing). Exits with 1 if a download failed, 2 on a usage error.
# The same program is in download-several.c and download-several.js.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import hashlib
import os
import sys
from urllib.parse import urlsplit

import gi

gi.require_version("GCurl", "1.0")
from gi.repository import GCurl, Gio, GLib  # noqa: E402

parser = argparse.ArgumentParser(description="Download several files at once.")
parser.add_argument("-d", "--dir", default=".", help="save the files in DIR")
parser.add_argument("urls", nargs="+", metavar="URL")
args = parser.parse_args()

multi = GCurl.Multi.new()
loop = GLib.MainLoop()
running = len(args.urls)
failed = False


def on_progress(transfer, downloaded, size, uploaded, upload_size, name):
    if size > 0:
        print(f"{name}: {100 * downloaded / size:3.0f}% of {size} bytes")
    else:
        print(f"{name}: {downloaded} bytes")


def on_downloaded(multi, result, path):
    global running, failed
    name = os.path.basename(path)
    try:
        multi.download_finish(result)
        with open(path, "rb") as f:
            sha256 = hashlib.file_digest(f, "sha256").hexdigest()
        print(f"{name}: {os.path.getsize(path)} bytes, SHA-256 {sha256}")
    except GLib.Error as error:
        print(f"{name}: error: {error.message}")
        failed = True
    running -= 1
    if running == 0:
        loop.quit()


for url in args.urls:
    name = os.path.basename(urlsplit(url).path) or "index.html"
    path = os.path.join(args.dir, name)
    transfer = GCurl.Transfer.new(url)
    transfer.connect("progress", on_progress, name)
    multi.download_async(transfer, Gio.File.new_for_path(path), GCurl.DownloadFlags.OVERWRITE,
                         None, on_downloaded, path)

loop.run()
sys.exit(1 if failed else 0)
