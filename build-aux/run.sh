#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what is missing, builds Spyglass in _build and runs it uninstalled.
#
#   build-aux/run.sh                        the window (on a desktop), else a short help
#   build-aux/run.sh SUBCOMMAND [OPTION…]   run spyglass, e.g. `… test`
#   build-aux/run.sh --demo                 try it against a fake Plex server
#
# Build output goes to standard error, so `build-aux/run.sh sections --json`
# can be piped.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/_build

"$root/build-aux/install-deps.sh" >&2
if [ ! -e "$build/meson-private/coredata.dat" ]; then
  meson setup "$build" "$root" >&2
fi
meson compile -C "$build" >&2

# The uninstalled binary finds its GSettings schema in the build tree.
export GSETTINGS_SCHEMA_DIR=$build/data
spyglass=$build/src/spyglass
window=$build/src/spyglass-window
fake_plex=$build/tests/spyglass-fake-plex

have_display () {
  [ -n "${WAYLAND_DISPLAY-}" ] || [ -n "${DISPLAY-}" ]
}

usage () {
  cat <<USAGE

Spyglass is built. There is no display here for its window; run its
command line through this script, with a subcommand:

  build-aux/run.sh test --server nas.local
  build-aux/run.sh sections
  build-aux/run.sh scan "/mnt/nas/music/Artist/Album"

(see README.md, "Command line"). The token is read from PLEX_TOKEN, from
--token-file FILE, or from the keyring once stored with
\`build-aux/run.sh config --token-stdin\`.

No Plex server at hand? \`build-aux/run.sh --demo\` starts the fake Plex
server that the tests use (_build/tests/spyglass-fake-plex, on 127.0.0.1,
a free port), reads the url= and token= lines it prints, runs

  PLEX_TOKEN=TOKEN spyglass test --server URL
  PLEX_TOKEN=TOKEN spyglass sections --server URL

against it and stops it again. To keep one running for your own tries:

  _build/tests/spyglass-fake-plex --port 0
USAGE
}

# shellcheck source=build-aux/fake-plex-lib.sh
. "$root/build-aux/fake-plex-lib.sh"

# Starts the fake server, shows `test` and `sections` against it, stops it.
demo_cli () {
  local tmp status=0
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # $tmp is expanded now, on purpose
  trap "status=\$?; fake_plex_stop; rm -rf '$tmp'; exit \$status" EXIT
  # The demo leaves no settings, tokens or queue files behind.
  export GSETTINGS_BACKEND=memory
  export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data
  export XDG_STATE_HOME=$tmp/state XDG_CACHE_HOME=$tmp/cache

  fake_plex_start "$fake_plex" "$tmp"
  echo "Fake Plex server listening at $FAKE_PLEX_URL (token: $FAKE_PLEX_TOKEN)"
  export PLEX_TOKEN=$FAKE_PLEX_TOKEN
  for subcommand in test sections; do
    echo
    echo "\$ PLEX_TOKEN=$PLEX_TOKEN spyglass $subcommand --server $FAKE_PLEX_URL"
    "$spyglass" "$subcommand" --server "$FAKE_PLEX_URL" || status=$?
  done
  return "$status"
}

# The window against the fake server, with settings, token and queue of its
# own in a temporary folder (SPYGLASS_DEMO=1 keeps the token out of the
# keyring), and a small music folder to drop on it.
demo_window () {
  local tmp music
  # The demo takes the application's bus name: not while Spyglass runs.
  if gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
       --method org.freedesktop.DBus.NameHasOwner io.github.spyglass.Spyglass 2>/dev/null |
       grep -q true; then
    echo "run.sh: Spyglass is running; quit it (Ctrl+Q in its window) before starting the demo" >&2
    return 1
  fi
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # $tmp is expanded now, on purpose
  trap "fake_plex_stop; rm -rf '$tmp'" EXIT
  export SPYGLASS_DEMO=1 GSETTINGS_BACKEND=keyfile
  export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data
  export XDG_STATE_HOME=$tmp/state XDG_CACHE_HOME=$tmp/cache
  music=$tmp/Music
  mkdir -p "$music/Pink Floyd/The Dark Side of the Moon" "$music/Pink Floyd/Wish You Were Here" \
           "$music/Nina Simone/Pastel Blues" "$music/Miles Davis/Kind of Blue"

  fake_plex_start "$fake_plex" "$tmp"
  # The fake's Music library lives at /data/music: map the demo folder there.
  "$spyglass" config --server "$FAKE_PLEX_URL" --section 3 --map "$music=/data/music" >/dev/null
  printf '%s\n' "$FAKE_PLEX_TOKEN" | "$spyglass" config --token-stdin >/dev/null
  cat <<DEMO
Spyglass demo: a fake Plex server listens at $FAKE_PLEX_URL (token: $FAKE_PLEX_TOKEN).
Open Preferences to test the connection and pick a library, then drop
folders from $music onto the window. Close the window to end the demo;
nothing is kept.
DEMO
  "$window"
}

case "${1-}" in
  '') if have_display; then exec "$window"; else usage; fi ;;
  --demo) if have_display; then demo_window; else demo_cli; fi ;;
  *) exec "$spyglass" "$@" ;;
esac
