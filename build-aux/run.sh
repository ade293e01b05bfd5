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

  build-aux/run.sh --server nas.local test
  build-aux/run.sh sections
  build-aux/run.sh scan "/mnt/nas/music/Artist/Album"

(see README.md, "Command line"). The token is read from PLEX_TOKEN, from
--token-file FILE, or from the keyring once stored with
\`build-aux/run.sh config --token-stdin\`.

No Plex server at hand? \`build-aux/run.sh --demo\` starts the fake Plex
server that the tests use (_build/tests/spyglass-fake-plex, on 127.0.0.1,
a free port), reads the url= and token= lines it prints, runs

  PLEX_TOKEN=TOKEN spyglass --server URL test
  PLEX_TOKEN=TOKEN spyglass --server URL sections

against it and stops it again. To keep one running for your own tries:

  _build/tests/spyglass-fake-plex --port 0
USAGE
}

# The demo's fake server and scratch folder, removed on exit.
demo_pid=''
demo_tmp=''
demo_cleanup () {
  if [ -n "$demo_pid" ]; then
    kill "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  if [ -n "$demo_tmp" ]; then
    rm -rf "$demo_tmp"
  fi
}

# Starts the fake server, shows `test` and `sections` against it, stops it.
demo () {
  local url='' token='' line status=0
  trap 'status=$?; demo_cleanup; exit $status' EXIT
  demo_tmp=$(mktemp -d)
  # The demo leaves no settings, tokens or queue files behind.
  export GSETTINGS_BACKEND=memory
  export XDG_CONFIG_HOME=$demo_tmp/config XDG_DATA_HOME=$demo_tmp/data
  export XDG_STATE_HOME=$demo_tmp/state XDG_CACHE_HOME=$demo_tmp/cache

  "$fake_plex" --port 0 >"$demo_tmp/fake-plex.out" &
  demo_pid=$!

  # Wait (up to 10 s) for the server to say where it listens.
  for _ in $(seq 100); do
    while IFS= read -r line; do
      case "$line" in
        url=*) url=${line#url=} ;;
        token=*) token=${line#token=} ;;
      esac
    done <"$demo_tmp/fake-plex.out"
    if [ -n "$url" ] && [ -n "$token" ]; then
      break
    fi
    if ! kill -0 "$demo_pid" 2>/dev/null; then
      echo "run.sh: the fake Plex server exited before it printed url= and token=" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ -z "$url" ] || [ -z "$token" ]; then
    echo "run.sh: the fake Plex server printed no url= and token= lines" >&2
    return 1
  fi

  echo "Fake Plex server listening at $url (token: $token)"
  export PLEX_TOKEN=$token
  for subcommand in test sections; do
    echo
    echo "\$ PLEX_TOKEN=$token spyglass --server $url $subcommand"
    "$spyglass" --server "$url" "$subcommand" || status=$?
  done
  return "$status"
}

case "${1-}" in
  '') usage ;;
  --demo) demo ;;
  *) exec "$spyglass" "$@" ;;
esac
