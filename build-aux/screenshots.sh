#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Takes the screenshots in data/screenshots/ from the built program: the
# window with a few requests (scanned through `spyglass scan`, which joins
# it) and the preferences, against the fake Plex server, on a private X
# server (build-aux/test-session.sh). Needs ImageMagick's `import`.
#
#   build-aux/screenshots.sh [BUILD-DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/_build}

if [ -z "${SPYGLASS_SCREENSHOT_SESSION:-}" ]; then
  "$root/build-aux/install-deps.sh" imagemagick >&2
  meson compile -C "$build" >&2
  export SPYGLASS_SCREENSHOT_SESSION=1
  exec "$root/build-aux/test-session.sh" "$0" "$build"
fi

tmp=$(mktemp -d)
window_pid=
# shellcheck source=build-aux/fake-plex-lib.sh
. "$root/build-aux/fake-plex-lib.sh"
cleanup () {
  if [ -n "$window_pid" ]; then kill "$window_pid" 2>/dev/null || true; fi
  fake_plex_stop
  rm -rf "$tmp"
}
trap cleanup EXIT

export GSETTINGS_SCHEMA_DIR=$build/data GSETTINGS_BACKEND=keyfile
export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data XDG_STATE_HOME=$tmp/state
export XDG_CACHE_HOME=$tmp/cache HOME=$tmp/home
export GSK_RENDERER=cairo GDK_DEBUG=gl-disable GTK_A11Y=none LC_ALL=C.UTF-8
mkdir -p "$HOME"
spyglass=$build/src/spyglass
out=$root/data/screenshots
mkdir -p "$out"

music="$tmp/Music"
for album in "Pink Floyd/The Dark Side of the Moon" "Pink Floyd/Wish You Were Here" \
             "Nina Simone/Pastel Blues" "Miles Davis/Kind of Blue"; do
  mkdir -p "$music/$album"
done

"$build/tests/spyglass-fake-plex" --port 0 --scan-duration 1500 >"$tmp/fake-plex.out" &
FAKE_PLEX_PID=$!
for _ in $(seq 100); do
  FAKE_PLEX_URL=$(sed -n 's/^url=//p' "$tmp/fake-plex.out")
  FAKE_PLEX_TOKEN=$(sed -n 's/^token=//p' "$tmp/fake-plex.out")
  [ -n "$FAKE_PLEX_URL" ] && [ -n "$FAKE_PLEX_TOKEN" ] && break
  sleep 0.1
done
"$spyglass" config --server "$FAKE_PLEX_URL" --map "$music=/data/music" >/dev/null
printf '%s\n' "$FAKE_PLEX_TOKEN" | "$spyglass" config --token-stdin >/dev/null

"$build/src/spyglass-window" &
window_pid=$!
id=$(xdotool search --sync --onlyvisible --pid "$window_pid" --name '^Spyglass$' | head -n 1)
sleep 2

# Requests the way an importer makes them: two now, then one more that is
# still being scanned when the picture is taken; one outside every library.
"$spyglass" scan "$music/Pink Floyd/The Dark Side of the Moon" "$music/Nina Simone/Pastel Blues" >/dev/null
sleep 3
mkdir -p "$tmp/Downloads/Unsorted"
"$spyglass" scan "$tmp/Downloads/Unsorted" >/dev/null 2>&1 || true
sleep 2
"$spyglass" scan "$music/Miles Davis/Kind of Blue" >/dev/null
sleep 0.8
import -window "$id" "$out/window.png"

# No window manager: give the window the keyboard focus first.
xdotool windowfocus --sync "$id"
xdotool key ctrl+comma
prefs=$(xdotool search --sync --onlyvisible --name '^Preferences$' | head -n 1)
xdotool windowraise "$prefs"
sleep 2
import -window "$prefs" "$out/preferences.png"

echo "Screenshots written to $out: window.png, preferences.png"
