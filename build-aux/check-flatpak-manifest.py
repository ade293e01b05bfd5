#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks the Flatpak manifest without building it (no runtime needed).

    check-flatpak-manifest.py MANIFEST README APPLICATION-ID COMMAND

Fails when the manifest is not valid JSON, when its id or command differ
from the project's, when runtime and SDK are not a matching GNOME pair,
when a finish-arg is listed twice, or when a finish-arg is not explained
in the "finish-args" section of README (as `--the-arg`).
"""

import json
import sys


def check(manifest_path, readme_path, app_id, command):
    problems = []
    try:
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{manifest_path}: {e}"]
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()
    # The finish-args are explained between "## finish-args" and the list
    # of what the app does not ask for.
    granted = readme.partition("## finish-args")[2].partition("What it does **not**")[0]

    manifest_id = manifest.get("id", manifest.get("app-id"))
    if manifest_id != app_id:
        problems.append(f"id is {manifest_id!r}, the application id is {app_id!r}")
    if manifest.get("command") != command:
        problems.append(f"command is {manifest.get('command')!r}, the program is {command!r}")
    if manifest.get("runtime") != "org.gnome.Platform" or manifest.get("sdk") != "org.gnome.Sdk":
        problems.append("runtime and sdk must be org.gnome.Platform and org.gnome.Sdk")
    if not isinstance(manifest.get("runtime-version"), str) or not manifest["runtime-version"]:
        problems.append("runtime-version must be a string such as \"51\"")
    elif f"GNOME {manifest['runtime-version']}" not in readme:
        problems.append(f"the README does not say why the runtime is GNOME {manifest['runtime-version']}")

    args = manifest.get("finish-args", [])
    for arg in sorted(set(args)):
        if args.count(arg) > 1:
            problems.append(f"finish-arg {arg} is listed twice")
        if f"`{arg}`" not in granted:
            problems.append(f"finish-arg {arg} is not explained in {readme_path}")

    modules = manifest.get("modules", [])
    if not modules or modules[-1].get("buildsystem") != "meson":
        problems.append("the last module must build Spyglass with meson")
    return problems


def main(argv):
    if len(argv) != 5:
        print(f"usage: {argv[0]} MANIFEST README APPLICATION-ID COMMAND", file=sys.stderr)
        return 2
    problems = check(*argv[1:])
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("the manifest matches the project, every finish-arg is explained")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
