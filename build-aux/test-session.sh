#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs a command inside a throwaway desktop session for the UI tests:
#
# - a D-Bus session bus of its own (dbus-run-session),
# - an X server (Xvfb, on the first free display: -displayfd), DISPLAY set,
# - a Secret Service (gnome-keyring-daemon --components=secrets), unlocked,
#   its keyrings in a temporary folder, never the user's.
#
#   build-aux/test-session.sh COMMAND [ARGUMENT…]
#
# Exits with COMMAND's status. Xvfb and the keyring are stopped when the
# command ends, whatever happens to it; the temporary folder is removed.
#
# With SPYGLASS_UI_REQUIRED=1 (build-aux/test.sh sets it), a session that
# cannot be made (no Xvfb, no keyring) is an error; without it the command
# runs anyway in what could be made, and the UI tests skip themselves.
#
# No window manager runs: windows map at 0,0 in the order they are shown,
# the last one on top. Xvfb listens on its Unix socket only, without an
# authorization cookie (-nolisten tcp): any local user may connect while
# it runs, which is fine for a throwaway test display.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGUMENT…]" >&2
  exit 2
fi

required=${SPYGLASS_UI_REQUIRED:-0}

# missing WHAT: a part of the session could not be made.
missing () {
  if [ "$required" = 1 ]; then
    echo "test-session: $1 (SPYGLASS_UI_REQUIRED=1)" >&2
    exit 1
  fi
  echo "test-session: $1; going on without it" >&2
}

# First pass: put ourselves inside a session bus of our own.
if [ -z "${SPYGLASS_TEST_SESSION_BUS:-}" ]; then
  if command -v dbus-run-session >/dev/null 2>&1; then
    export SPYGLASS_TEST_SESSION_BUS=1
    exec dbus-run-session -- "$0" "$@"
  fi
  missing "dbus-run-session not found: no session bus"
fi
unset SPYGLASS_TEST_SESSION_BUS

session_dir=$(mktemp -d "${TMPDIR:-/tmp}/spyglass-session-XXXXXX")
xvfb_pid=
keyring_pid=

cleanup () {
  local pid
  for pid in $keyring_pid $xvfb_pid; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $keyring_pid $xvfb_pid; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$session_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The X server. -displayfd: Xvfb picks a free display number and writes it
# to the descriptor once it accepts connections, so there is no race and no
# guessing. 24-bit, large enough for a 640×560 window and a drag source.
start_xvfb () {
  local display_file=$session_dir/display n
  if ! command -v Xvfb >/dev/null 2>&1; then
    missing "Xvfb not found: no display"
    return
  fi
  exec 9>"$display_file"
  Xvfb -displayfd 9 -screen 0 1280x1024x24 -nolisten tcp -noreset \
    >"$session_dir/xvfb.log" 2>&1 &
  xvfb_pid=$!
  exec 9>&-
  for _ in $(seq 1 300); do
    n=$(head -n 1 "$display_file" 2>/dev/null || true)
    if [ -n "$n" ]; then
      export DISPLAY=":$n"
      unset WAYLAND_DISPLAY
      return
    fi
    if ! kill -0 "$xvfb_pid" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  cat "$session_dir/xvfb.log" >&2
  xvfb_pid=
  missing "Xvfb did not start"
}

# The keyring. It needs a password to create an unlocked "login" keyring
# that is also the default collection (with an empty one it asks a prompter,
# which has nowhere to show up); the password guards nothing here. Its
# files go under a temporary XDG_DATA_HOME; tests keep their own XDG folders,
# which does not matter: they reach the daemon through the bus.
start_keyring () {
  if ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
    missing "gnome-keyring-daemon not found: no Secret Service"
    return
  fi
  if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    missing "no session bus: no Secret Service"
    return
  fi
  mkdir -m 700 "$session_dir/data" "$session_dir/runtime"
  printf 'spyglass-test' |
    env HOME="$session_dir" XDG_DATA_HOME="$session_dir/data" \
      XDG_RUNTIME_DIR="$session_dir/runtime" \
      gnome-keyring-daemon --foreground --unlock --components=secrets \
      >"$session_dir/keyring.log" 2>&1 &
  keyring_pid=$!
  for _ in $(seq 1 300); do
    if gdbus call --session --dest org.freedesktop.DBus \
         --object-path /org/freedesktop/DBus \
         --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets \
         2>/dev/null | grep -q true; then
      return
    fi
    if ! kill -0 "$keyring_pid" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  cat "$session_dir/keyring.log" >&2
  keyring_pid=
  missing "gnome-keyring-daemon did not start"
}

start_xvfb
start_keyring

# Not `exec`: the trap stops Xvfb and the keyring when the command ends.
status=0
"$@" || status=$?
exit "$status"
