# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
#
# Sourced by build-aux/run.sh (--demo) and bench/bench-scan.sh: starts and
# stops tests/spyglass-fake-plex, the fake Plex server the tests use, on
# 127.0.0.1 and a free port.
#
#   fake_plex_start BINARY SCRATCH-DIR   sets FAKE_PLEX_URL, FAKE_PLEX_TOKEN
#   fake_plex_stop                       kills it (safe to call twice)

FAKE_PLEX_PID=''
FAKE_PLEX_URL=''
FAKE_PLEX_TOKEN=''

# The server prints "url=http://127.0.0.1:PORT" and "token=TOKEN" lines on
# standard output once it listens; wait up to 10 s for both.
fake_plex_start () {
  local binary=$1 out=$2/fake-plex.out line
  "$binary" --port 0 >"$out" &
  FAKE_PLEX_PID=$!
  for _ in $(seq 100); do
    while IFS= read -r line; do
      case "$line" in
        url=*) FAKE_PLEX_URL=${line#url=} ;;
        token=*) FAKE_PLEX_TOKEN=${line#token=} ;;
      esac
    done <"$out"
    if [ -n "$FAKE_PLEX_URL" ] && [ -n "$FAKE_PLEX_TOKEN" ]; then
      return 0
    fi
    if ! kill -0 "$FAKE_PLEX_PID" 2>/dev/null; then
      echo "${0##*/}: the fake Plex server exited before it printed url= and token=" >&2
      FAKE_PLEX_PID=''
      return 1
    fi
    sleep 0.1
  done
  echo "${0##*/}: the fake Plex server printed no url= and token= lines in 10 s" >&2
  return 1
}

fake_plex_stop () {
  if [ -n "$FAKE_PLEX_PID" ]; then
    kill "$FAKE_PLEX_PID" 2>/dev/null || true
    wait "$FAKE_PLEX_PID" 2>/dev/null || true
    FAKE_PLEX_PID=''
  fi
}
