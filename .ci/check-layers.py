#!/usr/bin/env python3
# check-layers.py: every #include of the library points down its layers
#
# A unit is gcurl-<unit>.c with its gcurl-<unit>.h and gcurl-<unit>-private.h.
# A file may include the headers of its own layer's units or of lower ones,
# the units' includes may not go round in a circle, and no .c file grows
# past MAX_LINES. Run by the build (libgcurlmulti/meson.build) and as the
# test "layers"; prints every violation and exits 1 if there is one.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import pathlib
import re
import sys

LAYERS = {
    # L0 leaves: pure units, and what every layer may use
    'version': 0, 'enum-types': 0, 'auth': 0, 'date': 0, 'error': 0, 'log': 0, 'util': 0, 'headers': 0,
    'redirect': 0, 'progress': 0, 'rate-limit': 0, 'stall': 0, 'timings': 0,
    'request-options': 0, 'sink': 0,
    'retry': 0,                                 # how long to wait before trying again
    'copy': 0,                                  # a stream into another, reading while writing
    'tls': 0,                                   # a TLS peer, its trust, client certificates
    'filename': 0,                              # a downloaded file's name in a folder
    'jar': 0,                                   # a multi's cookies and HSTS: its CURLSH
    'source': 1,                                # the GSource that drives a CURLM
    'engine': 2,                                # the CURLM, its runs, the watchdog
    'upload': 3, 'easy': 3, 'watch': 3, 'transfer': 3,  # one transfer
    'transfer-tls': 3,                          # …its TLS properties and accept-certificate
    'transfer-retry': 3,                        # …whether it may be sent again
    'transfer-destination': 3,                  # …where its download is saved
    'transfer-mirrors': 3,                      # …more URLs of the same file
    'transfer-segments': 3,                     # …over how many connections it downloads
    'transfer-state': 3,                        # …its states: pause, resume, cancel
    'response': 3, 'figures': 3,                # …what its response and its meter said
    'proxy': 4, 'multi': 4,                     # the session
    'multi-list': 4,                            # …its transfers as a list, their sums
    'send': 5, 'input-stream': 5, 'download': 5, 'sync': 5,  # the GIO layer, on the public API
    'download-directory': 5,                    # …download_to_directory_async, on download's hook
    'download-mirrors': 5,                      # …which URL the next attempt of a download asks
    'download-segments': 5,                     # …one file over several connections at once
    'download-validators': 5,                   # …a saved file's validators in a side file
}
MAX_LINES = 1700
INCLUDE = re.compile(r'^\s*#\s*include\s+"gcurl-([a-z0-9-]+?)(-private)?\.h"', re.M)


def unit_of(path):
    m = re.fullmatch(r'gcurl-([a-z0-9-]+?)(-private)?\.(c|h|h\.in)', path.name)
    return m.group(1) if m else None


def main(top):
    lib = pathlib.Path(top) / 'libgcurlmulti'
    errors, deps = [], {}
    for path in sorted(lib.glob('gcurl-*')):
        unit = unit_of(path)
        if unit is None:
            continue
        if unit not in LAYERS:
            errors.append(f'{path.name}: unit "{unit}" has no layer in .ci/check-layers.py')
            continue
        text = path.read_text(encoding='utf-8')
        if path.suffix == '.c' and text.count('\n') > MAX_LINES:
            errors.append(f'{path.name}: {text.count(chr(10))} lines, more than {MAX_LINES}')
        for used, _ in INCLUDE.findall(text):
            if used == unit:
                continue
            if used not in LAYERS:
                errors.append(f'{path.name}: includes gcurl-{used}, which has no layer')
            elif LAYERS[used] > LAYERS[unit]:
                errors.append(f'{path.name} (L{LAYERS[unit]}) includes gcurl-{used} '
                              f'(L{LAYERS[used]}): an arrow pointing up')
            else:
                deps.setdefault(unit, set()).add(used)

    # Within a layer, the arrows must not go round.
    state = {}

    def visit(unit, trail):
        state[unit] = 'open'
        for used in sorted(deps.get(unit, ())):
            if state.get(used) == 'open':
                path = trail + [unit]
                errors.append('include circle: ' + ' → '.join(path[path.index(used):] + [used]))
            elif used not in state:
                visit(used, trail + [unit])
        state[unit] = 'done'

    for unit in sorted(deps):
        if unit not in state:
            visit(unit, [])

    for error in errors:
        print(error, file=sys.stderr)
    print(f'layers: {"FAILED" if errors else "every include points down"}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else '.'))
