#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks that po/POTFILES lists exactly what it should.

    build-aux/check-potfiles.py SOURCE-ROOT
    build-aux/check-potfiles.py --self-test

Fails (exit 1) when a file under src/ or data/ has translatable strings but
is not in po/POTFILES, when po/POTFILES lists a file that does not exist,
or when it lists a file twice. A file that is listed but has no
translatable strings is allowed: xgettext just finds nothing in it.

What counts as translatable, by kind of file:
  C and Vala     _() N_() C_() NC_() Q_() or a g_d*gettext()/ngettext() call,
                 outside comments
  GtkBuilder     translatable="yes" (also "true", "1")
  Blueprint      _("…") or C_("…", "…")
  desktop entry  a Name, GenericName, Comment or Keywords key
  AppStream      a name, summary or description (metainfo/appdata files)
  GSettings      a summary or description in a schema
  other XML      an intltool-style <_tag>
"""

import os
import re
import sys
import tempfile

SCANNED_DIRS = ("src", "data")

C_CALL = re.compile(
    r"(?<![A-Za-z0-9_])"
    r"(?:_|N_|C_|NC_|Q_|g_dgettext|g_dngettext|g_dcgettext|g_dpgettext2?|"
    r"gettext|ngettext|dgettext|dngettext|dcgettext|pgettext|npgettext)"
    r"\s*\(")
BUILDER_TRANSLATABLE = re.compile(r"""translatable\s*=\s*["'](?:yes|true|1)["']""")
BLUEPRINT_CALL = re.compile(r"(?<![A-Za-z0-9_])(?:_|C_)\s*\(\s*\"")
DESKTOP_KEY = re.compile(r"^\s*(?:Name|GenericName|Comment|Keywords)\s*=", re.M)
APPSTREAM_TEXT = re.compile(r"<(?:name|summary|description)[\s>]")
GSCHEMA_TEXT = re.compile(r"<(?:summary|description)[\s>]")
INTLTOOL_TAG = re.compile(r"<_[A-Za-z]")


def strip_c_comments_and_strings(text):
    """Blanks out comments and the insides of string and character literals,
    so that only code is left to search."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def has_translatable_strings(path):
    """True when the file at PATH holds strings xgettext would extract."""
    name = os.path.basename(path)
    base = name[:-3] if name.endswith(".in") else name
    base = base[:-3] if base.endswith(".in") else base
    ext = os.path.splitext(base)[1]

    if ext in (".c", ".h", ".vala"):
        kind = "c"
    elif ext == ".ui":
        kind = "builder"
    elif ext == ".blp":
        kind = "blueprint"
    elif ext == ".desktop":
        kind = "desktop"
    elif base.endswith((".metainfo.xml", ".appdata.xml")):
        kind = "appstream"
    elif base.endswith(".gschema.xml"):
        kind = "gschema"
    elif ext == ".xml":
        kind = "xml"
    else:
        return False

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return False

    if kind == "c":
        return C_CALL.search(strip_c_comments_and_strings(text)) is not None
    if kind == "builder":
        return BUILDER_TRANSLATABLE.search(text) is not None
    if kind == "blueprint":
        return BLUEPRINT_CALL.search(text) is not None
    if kind == "desktop":
        return DESKTOP_KEY.search(text) is not None
    if kind == "appstream":
        return APPSTREAM_TEXT.search(text) is not None
    if kind == "gschema":
        return GSCHEMA_TEXT.search(text) is not None
    return INTLTOOL_TAG.search(text) is not None


def read_potfiles(path):
    """The entries of a POTFILES file: one path a line, # starts a comment."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                entries.append(line)
    return entries


def check(root):
    """Returns the list of problems found in the tree at ROOT."""
    problems = []
    potfiles = os.path.join(root, "po", "POTFILES")
    try:
        listed = read_potfiles(potfiles)
    except OSError as e:
        return [f"po/POTFILES: {e.strerror}"]

    seen = set()
    for entry in listed:
        if entry in seen:
            problems.append(f"po/POTFILES lists {entry} twice")
        seen.add(entry)
        if not os.path.isfile(os.path.join(root, entry)):
            problems.append(f"po/POTFILES lists {entry}, which does not exist")

    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if rel not in seen and has_translatable_strings(path):
                    problems.append(f"{rel} has translatable strings "
                                    f"but is missing from po/POTFILES")
    return problems


def self_test():
    """Runs check() on small made-up trees; returns the number of failures."""
    cases = [
        # (files, POTFILES, expected problem substrings)
        ({"src/a.c": 'puts (_("Hello"));\n'}, "src/a.c\n", []),
        ({"src/a.c": 'puts (_("Hello"));\n'}, "", ["src/a.c has"]),
        ({"src/a.c": 'n = g_dngettext (D, "a", "b", n);\n'}, "", ["src/a.c has"]),
        ({"src/a.c": '/* _("not code") */\nputs ("x // _(");\n'}, "", []),
        ({"src/a.c": "int foo_(int x);\n"}, "", []),
        ({"src/w.ui": '<property name="label" translatable="yes">Hi</property>'},
         "", ["src/w.ui has"]),
        ({"data/x.desktop.in": "[Desktop Entry]\nName=X\n"}, "", ["data/x.desktop.in has"]),
        ({"data/x.metainfo.xml.in": "<component><summary>S</summary></component>"},
         "", ["data/x.metainfo.xml.in has"]),
        ({"data/x.gschema.xml": "<key><summary>S</summary></key>"},
         "", ["data/x.gschema.xml has"]),
        ({"data/x.xml.in": "<_description>D</_description>"}, "", ["data/x.xml.in has"]),
        ({"data/icon.svg": "<svg><title>_(x)</title></svg>"}, "", []),
        ({}, "src/gone.c\n", ["src/gone.c, which does not exist"]),
        ({"src/a.c": "_(\"x\");\n"}, "src/a.c\nsrc/a.c\n", ["lists src/a.c twice"]),
        ({"src/a.c": "_(\"x\");\n"}, "# comment\n src/a.c  # trailing\n", []),
    ]
    failures = 0
    for number, (files, potfiles, expected) in enumerate(cases, 1):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "po"))
            with open(os.path.join(root, "po", "POTFILES"), "w", encoding="utf-8") as f:
                f.write(potfiles)
            for rel, content in files.items():
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(content)
            problems = check(root)
        ok = len(problems) == len(expected) and all(
            any(e in p for p in problems) for e in expected)
        print(f"{'ok' if ok else 'not ok'} {number} - {sorted(files) or potfiles.strip()}")
        if not ok:
            print(f"# expected {expected}, got {problems}")
            failures += 1
    print(f"1..{len(cases)}")
    return failures


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return 1 if self_test() else 0
    if len(argv) != 2:
        print(f"usage: {argv[0]} SOURCE-ROOT | --self-test", file=sys.stderr)
        return 2
    problems = check(argv[1])
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("Fix po/POTFILES: add the missing files, remove the stale ones.",
              file=sys.stderr)
        return 1
    print(f"po/POTFILES is complete ({len(read_potfiles(os.path.join(argv[1], 'po', 'POTFILES')))} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
