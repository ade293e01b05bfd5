#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what is missing, builds Spyglass in _build and runs it uninstalled.
#
#   build-aux/run.sh SUBCOMMAND [OPTION…]   run spyglass, e.g. `… test`
#   build-aux/run.sh --demo                 try it against a fake Plex server
#   build-aux/run.sh                        short help
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
fake_plex=$build/tests/spyglass-fake-plex

usage () {
  cat <<USAGE

Spyglass is built. Run it through this script, with a subcommand:

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
demo () {
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

case "${1-}" in
  '') usage ;;
  --demo) demo ;;
  *) exec "$spyglass" "$@" ;;
esac
