#!/usr/bin/env python3
# check-reference.py: the checks of the 'docs' test suite (docs/meson.build).
#
#   check-reference.py check GI_DOCGEN CONFIG GIR [LIBRARY]
#       gi-docgen check reports no warning, and every public symbol in the
#       GIR has a non-empty doc comment (each parameter, return value and
#       enum value too) and a "Since:" (gi-docgen check only looks for a
#       missing doc comment, not an empty one or a missing Since), and no
#       Since: names a version after the one in CONFIG (valac's since check
#       would refuse the symbol against the installed package). With
#       LIBRARY (the shared library), every g_curl_* symbol it exports is
#       in the GIR, so that the checks above and the reference see it: a
#       function of a header the scanner was not given would otherwise go
#       unnoticed.
#
#   check-reference.py generate GI_DOCGEN CONFIG CONTENT_DIR GIR PAGE.md…
#       gi-docgen generate, into a temporary directory, reports no warning
#       (a link to a symbol that does not exist is a warning); the index
#       links every page and each page has a title; every relative link in
#       the generated HTML leads to a file that exists.
#
#   check-reference.py snippets CONTENT_DIR EXAMPLES_DIR
#       every code block of a page whose first line names a file
#       ("/* NAME.c: …", "# NAME.py: …", "// NAME.js: …") is exactly
#       docs/examples/NAME, which the 'docs' tests build and run, and every
#       example appears on a page: the programs on the pages work.
#
# Each prints what is wrong and exits 1, or exits 0.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import html.parser
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

CORE = "{http://www.gtk.org/introspection/core/1.0}"
GLIB = "{http://www.gtk.org/introspection/glib/1.0}"

# gi-docgen's log prefixes; it colours them even when not on a terminal.
WARNING_RE = re.compile(r"^(WARNING|DEPRECATED|ERROR)\b")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")

problems = []


def problem(text):
    problems.append(text)


def finish():
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        sys.exit(1)
    print("ok")
    sys.exit(0)


def run_gidocgen(argv):
    """Runs gi-docgen; every warning it prints is a problem."""
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, check=False)
    output = ANSI_RE.sub("", result.stdout)
    print(output, end="")
    for line in output.splitlines():
        if WARNING_RE.search(line):
            problem(f"{os.path.basename(argv[0])} {argv[1]}: {line.strip()}")
    if result.returncode != 0:
        problem(f"{' '.join(argv)} exited with status {result.returncode}")


def doc_text(element):
    doc = element.find(CORE + "doc")
    return doc.text.strip() if doc is not None and doc.text else ""


def version_key(version):
    return tuple(int(part) for part in re.findall(r"\d+", version))


def check_gir(path, project_version=None):
    """Empty doc comments and missing Since: lines, which gi-docgen check
    does not report, and Since: versions after PROJECT_VERSION (the
    release being built)."""
    tree = ET.parse(path)
    namespace = tree.getroot().find(CORE + "namespace")
    ns = namespace.get("name")

    symbol_tags = {"class", "interface", "record", "union", "enumeration", "bitfield",
                   "callback", "function", "function-macro", "constant", "alias",
                   "method", "constructor", "virtual-method", "property",
                   GLIB + "signal"}

    def walk(element, path):
        for child in element:
            tag = child.tag.replace(CORE, "")
            if tag not in symbol_tags and child.tag not in symbol_tags:
                continue
            # Class structs are described by their class.
            if child.get(GLIB + "is-gtype-struct-for") is not None:
                continue
            name = ".".join(path + [child.get("name")])
            if not doc_text(child):
                problem(f"{name} has no documentation")
            since = child.get("version")
            if since is None:
                problem(f"{name} has no Since: line")
            elif project_version is not None and \
                    version_key(since) > version_key(project_version):
                # Vala's since check would refuse it against this release.
                problem(f"{name} says Since: {since}, after this release ({project_version})")
            for member in child.findall(CORE + "member"):
                if not doc_text(member):
                    problem(f"{name}.{member.get('name')} has no documentation")
            params = child.find(CORE + "parameters")
            if params is not None:
                for p in params:
                    if p.tag in (CORE + "parameter", CORE + "instance-parameter") and \
                            not doc_text(p):
                        problem(f"parameter {p.get('name')} of {name} has no documentation")
            ret = child.find(CORE + "return-value")
            if ret is not None:
                rtype = ret.find(CORE + "type")
                void = rtype is not None and rtype.get("name") == "none"
                if not void and not doc_text(ret):
                    problem(f"the return value of {name} has no documentation")
            walk(child, path + [child.get("name")])

    walk(namespace, [ns])


def check_exports(gir, library):
    """Every g_curl_* symbol the library exports is a function, method,
    constructor or get_type function of the GIR."""
    try:
        result = subprocess.run(["nm", "-D", "--defined-only", library],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, check=False)
    except OSError as e:
        problem(f"cannot run nm on {library}: {e}")
        return
    if result.returncode != 0:
        problem(f"nm -D {library} failed: {result.stderr.strip()}")
        return
    exported = {fields[-1].split("@")[0] for fields in map(str.split, result.stdout.splitlines())
                if len(fields) >= 3 and fields[-1].startswith("g_curl_")}
    if not exported:
        problem(f"{library} exports no g_curl_ symbol")

    described = set()
    for element in ET.parse(gir).iter():
        for attribute in ("{http://www.gtk.org/introspection/c/1.0}identifier",
                          GLIB + "get-type"):
            value = element.get(attribute)
            if value:
                described.add(value)
    for name in sorted(exported - described):
        problem(f"{name} is exported by {os.path.basename(library)} but not in the GIR "
                f"(so not in the reference)")


class LinkCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse_html(path):
    collector = LinkCollector()
    with open(path, encoding="utf-8") as f:
        collector.feed(f.read())
    return collector


def check_generated(outdir, pages):
    index = parse_html(os.path.join(outdir, "index.html"))
    for page in pages:
        target = os.path.basename(page).replace(".md", ".html")
        if target not in index.hrefs:
            problem(f"index.html does not link {target}")
        page_path = os.path.join(outdir, target)
        if not os.path.exists(page_path):
            problem(f"{target} was not generated")
            continue
        title = " ".join(parse_html(page_path).title.split())
        if not title or "Unknown document" in title:
            problem(f"{target} has no title (a 'Title:' line at the top of {page})")

    for name in sorted(os.listdir(outdir)):
        if not name.endswith(".html"):
            continue
        for href in parse_html(os.path.join(outdir, name)).hrefs:
            if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith(("#", "/")):
                continue
            target = href.split("#")[0].split("?")[0]
            if target and not os.path.exists(os.path.join(outdir, target)):
                problem(f"{name} links {href}, which does not exist")


def check_snippets(content_dir, examples_dir):
    examples = {name for name in os.listdir(examples_dir)
                if name.endswith((".c", ".py", ".js"))}
    shown = set()
    for page in sorted(os.listdir(content_dir)):
        if not page.endswith(".md"):
            continue
        with open(os.path.join(content_dir, page), encoding="utf-8") as f:
            text = f.read()
        for block in re.findall(r"^```\w+\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
            m = re.match(r"(?:/\* |# |// )([\w-]+\.(?:c|py|js)): ", block)
            if m is None:
                continue
            name = m.group(1)
            path = os.path.join(examples_dir, name)
            if name not in examples:
                problem(f"{page} shows {name}, which is not in {examples_dir}")
                continue
            shown.add(name)
            with open(path, encoding="utf-8") as f:
                if f.read() != block:
                    problem(f"the {name} of {page} differs from {path}: "
                            f"copy one onto the other")
    for name in sorted(examples - shown):
        problem(f"{name} is on no page")


def main(argv):
    if len(argv) >= 5 and argv[1] == "check":
        gidocgen, config, gir = argv[2:5]
        run_gidocgen([gidocgen, "check", "--quiet", "--config", config, gir])
        with open(config, encoding="utf-8") as f:
            m = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.MULTILINE)
        check_gir(gir, m.group(1) if m else None)
        if len(argv) >= 6:
            check_exports(gir, argv[5])
    elif len(argv) >= 6 and argv[1] == "generate":
        gidocgen, config, content_dir, gir = argv[2:6]
        pages = argv[6:]
        with tempfile.TemporaryDirectory(prefix="gcurl-docs-") as outdir:
            run_gidocgen([gidocgen, "generate", "--quiet", "--config", config,
                          "--content-dir", content_dir, "--output-dir", outdir,
                          "--no-namespace-dir", gir])
            if os.path.exists(os.path.join(outdir, "index.html")):
                check_generated(outdir, pages)
            else:
                problem("gi-docgen generated no index.html")
    elif len(argv) == 4 and argv[1] == "snippets":
        check_snippets(argv[2], argv[3])
    else:
        print("usage: see the comment at the top of check-reference.py", file=sys.stderr)
        sys.exit(2)
    finish()


if __name__ == "__main__":
    main(sys.argv)
