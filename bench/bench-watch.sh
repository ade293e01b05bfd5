#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Watching a generated library of 50,000 folders: SpyglassWatcher against
# `inotifywait -r` (inotify-tools) on the same tree in the same run; time and
# peak memory to set up, CPU time to absorb 100,000 file events. Goals: no
# slower than inotifywait, peak memory within 1.5x. See bench/README.md.
#
#   bench/bench-watch.sh [--folders N] [--events N] [--rounds R] [--dir PARENT]
#
# Each side needs one inotify watch per folder, out of
# fs.inotify.max_user_watches, which every process of the user shares; the
# benchmark says so when it is too low (raising it needs root:
# sysctl fs.inotify.max_user_watches=524288).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/_build

"$root/build-aux/install-deps.sh" inotify-tools >&2
if [ ! -e "$build/meson-private/coredata.dat" ]; then
  meson setup "$build" "$root" >&2
fi
meson compile -C "$build" bench/bench-watch >&2

exec "$build/bench/bench-watch" "$@"
