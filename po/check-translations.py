#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the translations against the sources.

Usage: check-translations.py SOURCE_ROOT

Fails (exit 1) and says why if:
  - a source file has translatable strings but is not in po/POTFILES.in
    (its strings would never reach the translators), or POTFILES.in names
    a file that does not exist;
  - a language in po/LINGUAS has no .po, or `msgfmt --check` rejects it
    (bad format strings, plural forms, header);
  - a translation is not complete: untranslated or fuzzy entries, in the
    .po as it is OR once merged with a template freshly extracted from the
    sources (so a new or changed string without its translations fails);
  - a .po still translates a string that the sources no longer have.

The template is made with xgettext and the same options as meson's i18n
module with preset 'glib' (mesonbuild/modules/i18n.py), so it has the
msgids `meson compile gcurlmulti-1-pot` would give.
"""

import os
import re
import subprocess
import sys
import tempfile

# meson's 'glib' preset for xgettext.
XGETTEXT_GLIB_PRESET = [
    "--from-code=UTF-8",
    "--add-comments",
    "--keyword=_",
    "--keyword=N_",
    "--keyword=C_:1c,2",
    "--keyword=NC_:1c,2",
    "--keyword=g_dcgettext:2",
    "--keyword=g_dngettext:2,3",
    "--keyword=g_dpgettext2:2c,3",
    "--flag=N_:1:pass-c-format",
    "--flag=C_:2:pass-c-format",
    "--flag=NC_:2:pass-c-format",
    "--flag=g_dngettext:2:pass-c-format",
    "--flag=g_strdup_printf:1:c-format",
    "--flag=g_string_printf:2:c-format",
    "--flag=g_string_append_printf:2:c-format",
    "--flag=g_error_new:3:c-format",
    "--flag=g_set_error:4:c-format",
    "--flag=g_markup_printf_escaped:1:c-format",
    "--flag=g_log:3:c-format",
    "--flag=g_print:1:c-format",
    "--flag=g_printerr:1:c-format",
    "--flag=g_printf:1:c-format",
    "--flag=g_fprintf:2:c-format",
    "--flag=g_sprintf:2:c-format",
    "--flag=g_snprintf:3:c-format",
]

# Where user-visible strings live, and how to tell a file has some.
SCANNED_DIRS = ["libgcurlmulti", "demo", "data"]
SKIPPED_DIRS = {"tests"}
C_MARKER = re.compile(r"(?<![A-Za-z0-9_])(_|N_|C_|NC_|ngettext|g_dngettext)\s*\(")
UI_MARKER = re.compile(r'translatable="yes"')


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def read_list(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f
                if line.strip() and not line.lstrip().startswith("#")]


def has_translatable_strings(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if path.endswith(".c"):
        return C_MARKER.search(text) is not None
    if path.endswith(".ui"):
        return UI_MARKER.search(text) is not None
    # Desktop file, metainfo, schema: translatable by nature.
    return path.endswith((".desktop.in", ".metainfo.xml.in", ".gschema.xml"))


def check_potfiles(root, potfiles, problems):
    listed = set(potfiles)
    for name in potfiles:
        if not os.path.isfile(os.path.join(root, name)):
            problems.append(f"POTFILES.in names {name}, which does not exist")

    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
            for filename in filenames:
                path = os.path.join(dirpath, filename)
                relative = os.path.relpath(path, root)
                if (filename.endswith((".c", ".ui", ".desktop.in", ".metainfo.xml.in",
                                       ".gschema.xml"))
                        and relative not in listed and has_translatable_strings(path)):
                    problems.append(f"{relative} has translatable strings but is not in "
                                    "po/POTFILES.in")


def statistics(po_path):
    """msgfmt --check --statistics: (ok, its one-line summary or errors)."""
    result = run(["msgfmt", "--check", "--statistics", "-o", os.devnull, po_path])
    return result.returncode == 0, result.stderr.strip()


def incomplete_entries(po_path):
    """The msgids of the untranslated and the fuzzy entries, for the report."""
    entries = []
    for flag in ("--untranslated", "--only-fuzzy"):
        result = run(["msgattrib", flag, "--no-obsolete", "--no-wrap", po_path])
        entries += [line[len("msgid "):] for line in result.stdout.splitlines()
                    if line.startswith('msgid "') and line != 'msgid ""']
    return entries


def shorten(msgids, most=20):
    listed = ", ".join(msgids[:most])
    return listed + (f" and {len(msgids) - most} more" if len(msgids) > most else "")


def check_language(root, language, template, workdir, problems):
    po_path = os.path.join(root, "po", f"{language}.po")
    if not os.path.isfile(po_path):
        problems.append(f"{language}: po/{language}.po is missing")
        return

    ok, summary = statistics(po_path)
    print(f"{language}.po: {summary}")
    if not ok:
        problems.append(f"{language}: msgfmt --check rejects po/{language}.po:\n{summary}")
        return
    if "fuzzy" in summary or "untranslated" in summary:
        problems.append(f"{language}: po/{language}.po is incomplete ({summary}): "
                        + shorten(incomplete_entries(po_path)))
        return

    # Against the strings in the sources now.
    merged = os.path.join(workdir, f"{language}.po")
    result = run(["msgmerge", "--quiet", "--output-file", merged, po_path, template])
    if result.returncode != 0:
        problems.append(f"{language}: msgmerge failed: {result.stderr.strip()}")
        return
    ok, summary = statistics(merged)
    print(f"{language}.po merged with the sources: {summary}")
    if not ok or "fuzzy" in summary or "untranslated" in summary:
        problems.append(f"{language}: po/{language}.po is out of date with the sources "
                        f"({summary}); new or changed: "
                        + shorten(incomplete_entries(merged)))

    # Translations of strings the sources no longer have: stale entries
    # that msgmerge keeps as obsolete.
    result = run(["msgattrib", "--only-obsolete", "--no-wrap", merged])
    stale = [line[len("#~ msgid "):] for line in result.stdout.splitlines()
             if line.startswith('#~ msgid "')]
    if stale:
        problems.append(f"{language}: po/{language}.po translates strings the sources no "
                        "longer have (meson compile gcurlmulti-1-update-po, then drop the "
                        "#~ entries): " + shorten(stale))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(sys.argv[1])
    po_dir = os.path.join(root, "po")
    problems = []

    potfiles = read_list(os.path.join(po_dir, "POTFILES.in"))
    check_potfiles(root, potfiles, problems)

    with tempfile.TemporaryDirectory() as workdir:
        template = os.path.join(workdir, "sources.pot")
        result = run(["xgettext", "--output", template, "--directory", root,
                      "--files-from", os.path.join(po_dir, "POTFILES.in"),
                      *XGETTEXT_GLIB_PRESET])
        if result.returncode != 0 or not os.path.isfile(template):
            problems.append(f"xgettext failed: {result.stderr.strip()}")
        else:
            count = sum(1 for line in open(template, encoding="utf-8")
                        if line.startswith("msgid ")) - 1
            print(f"{count} strings in the sources")
            for language in read_list(os.path.join(po_dir, "LINGUAS")):
                check_language(root, language, template, workdir, problems)

    for problem in problems:
        print(f"FAIL: {problem}")
    print("translations: " + ("FAILED" if problems else "complete and up to date"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
