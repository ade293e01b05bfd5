#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks one translation (run by `meson test --suite po`).

    check-translation.py LANG PO-DIR BUILD-PO-DIR SOURCE-ROOT DOMAIN -- XGETTEXT-ARG…

1. PO-DIR/LANG.po passes `msgfmt --check` (format specifiers, plural forms,
   header) and has no untranslated and no fuzzy message.
2. So does LANG.po merged with a template extracted right now from the files
   in PO-DIR/POTFILES: a string added or changed in the sources without a
   translation fails here, and the messages are listed.
3. The compiled catalog BUILD-PO-DIR/LANG/LC_MESSAGES/DOMAIN.mo gives every
   translation of LANG.po back through the C library's gettext, asked the
   way spyglass asks it: LANGUAGE=LANG, LC_ALL=C.UTF-8, then bindtextdomain,
   dcgettext and dcngettext, here with the build tree as the locale
   directory. So the test needs no change to spyglass and no test-only
   switch in it.
"""

import ctypes
import locale
import os
import re
import shutil
import subprocess
import sys
import tempfile

LC_MESSAGES = locale.LC_MESSAGES
SKIP = 77


def run(*args, **kwargs):
    return subprocess.run(args, check=False, capture_output=True, text=True,
                          env=dict(os.environ, LC_ALL="C"), **kwargs)


def check_complete(po, what):
    """msgfmt --check on PO, then no fuzzy and no untranslated message."""
    result = run("msgfmt", "--check", "--statistics", "-o", os.devnull, po)
    stats = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        print(f"{what}: msgfmt --check failed:\n{stats}")
        return False
    print(f"{what}: {stats}")
    if "fuzzy" not in stats and "untranslated" not in stats:
        return True
    print(f"{what}: these messages need a translation or a review:")
    for selection in ("--only-fuzzy", "--untranslated"):
        listing = run("msgattrib", "--no-obsolete", "--no-wrap", selection, po).stdout
        for line in listing.splitlines():
            if line.startswith(("#:", "msgctxt ", "msgid ")) and line != 'msgid ""':
                print("  " + line)
    return False


def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)


def read_po(path):
    """The translated, non-fuzzy messages of PATH as dicts with the keys
    msgctxt (or None), msgid, msgid_plural (or None) and msgstr (a list)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    messages = []
    for block in re.split(r"\n\s*\n", text):
        fields, current, fuzzy = {}, None, False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d+)\])?)\s+"(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = unescape(match.group(3))
            elif line.startswith('"') and current is not None:
                fields[current] += unescape(line.strip()[1:-1])
            else:
                current = None
        if not fields.get("msgid") or fuzzy:
            continue   # the header, an obsolete (#~) or a fuzzy message
        msgstr = [fields[k] for k in sorted(k for k in fields if k.startswith("msgstr"))]
        if not any(msgstr):
            continue   # untranslated: reported by check_complete
        messages.append({"msgctxt": fields.get("msgctxt"),
                         "msgid": fields["msgid"],
                         "msgid_plural": fields.get("msgid_plural"),
                         "msgstr": msgstr})
    return messages


def check_catalog(po, localedir, lang, domain):
    """Looks every message of PO up in the compiled catalog, through libc."""
    os.environ["LANGUAGE"] = lang
    locale.setlocale(locale.LC_ALL, "C.UTF-8")
    libc = ctypes.CDLL(None)
    libc.bindtextdomain.restype = ctypes.c_char_p
    libc.bind_textdomain_codeset.restype = ctypes.c_char_p
    libc.dcgettext.restype = ctypes.c_char_p
    libc.dcngettext.restype = ctypes.c_char_p
    libc.dcngettext.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_ulong, ctypes.c_int]
    libc.bindtextdomain(domain.encode(), localedir.encode())
    libc.bind_textdomain_codeset(domain.encode(), b"UTF-8")

    missing = 0
    messages = read_po(po)
    for message in messages:
        # What g_dpgettext2 and C_() look up: "context\004message"
        prefix = message["msgctxt"] + "\x04" if message["msgctxt"] is not None else ""
        msgid = (prefix + message["msgid"]).encode()
        if message["msgid_plural"] is None:
            found = {libc.dcgettext(domain.encode(), msgid, LC_MESSAGES).decode()}
        else:
            plural = (prefix + message["msgid_plural"]).encode()
            found = {libc.dcngettext(domain.encode(), msgid, plural, n, LC_MESSAGES).decode()
                     for n in range(200)}
        for form in message["msgstr"]:
            if form not in found:
                print(f"not found in the compiled catalog: {message['msgid']!r} → {form!r}")
                missing += 1
    return len(messages), missing


def main(argv):
    if len(argv) < 7 or argv[6] != "--":
        print(f"usage: {argv[0]} LANG PO-DIR BUILD-PO-DIR SOURCE-ROOT DOMAIN -- XGETTEXT-ARG…",
              file=sys.stderr)
        return 2
    lang, po_dir, build_po_dir, source_root, domain = argv[1:6]
    xgettext_args = argv[7:]

    for tool in ("msgfmt", "msgmerge", "msgattrib", "xgettext"):
        if shutil.which(tool) is None:
            print(f"{tool} not found (Debian: gettext); skipping")
            return SKIP

    po = os.path.join(po_dir, lang + ".po")
    mo = os.path.join(build_po_dir, lang, "LC_MESSAGES", domain + ".mo")
    ok = check_complete(po, f"{lang}.po")

    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, domain + ".pot")
        merged = os.path.join(tmp, lang + ".po")
        result = run("xgettext", *xgettext_args, f"--package-name={domain}",
                     f"--directory={source_root}",
                     f"--files-from={os.path.join(po_dir, 'POTFILES')}",
                     f"--output={pot}")
        if result.returncode != 0:
            print(f"xgettext failed:\n{result.stderr}")
            return 1
        result = run("msgmerge", "--quiet", "--previous", f"--output-file={merged}", po, pot)
        if result.returncode != 0:
            print(f"msgmerge failed:\n{result.stderr}")
            return 1
        ok = check_complete(merged, f"{lang}.po merged with the current sources") and ok

    if not os.path.isfile(mo):
        print(f"{mo}: not built")
        return 1
    count, missing = check_catalog(po, build_po_dir, lang, domain)
    if missing:
        ok = False
    else:
        print(f"{lang}/LC_MESSAGES/{domain}.mo: gettext finds all {count} translations")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
