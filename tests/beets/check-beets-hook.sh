#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Proves the beets recipe in README.md: with beets' hook plugin configured as
#
#   hook:
#     hooks:
#       - event: album_imported
#         command: spyglass scan {album.path}
#
# every imported album runs `spyglass scan` with the album's folder as ONE
# argument, however many spaces, quotes, '&' or '$' its name has (and, for
# singleton imports, `- event: item_imported` with {item.path} does the
# same with the track's file). beets
# splits the command with shlex *before* it substitutes {album.path}, and
# runs it without a shell, so the path is never split or expanded.
#
# A stand-in `spyglass` early on PATH records its arguments; nothing talks to
# a Plex server, and beets runs with -A (no MusicBrainz look-ups). Run by
# hand: tests/beets/check-beets-hook.sh. Not part of the meson suite.
set -euo pipefail

if ! command -v beet >/dev/null 2>&1; then
  echo "SKIP: beets is not installed (apt-get install beets)"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/beets" "$tmp/library" "$tmp/incoming"

# The stand-in: one block per call, each argument on its own line, quoted
# with printf %q so that spaces, quotes and newlines stay visible.
cat >"$tmp/bin/spyglass" <<'STANDIN'
#!/bin/bash
{
  echo "argc=$#"
  printf '%q\n' "$@"
} >>"$SPYGLASS_ARGV_LOG"
STANDIN
chmod +x "$tmp/bin/spyglass"
export SPYGLASS_ARGV_LOG=$tmp/argv.log
export PATH=$tmp/bin:$PATH

export BEETSDIR=$tmp/beets
# write_config COMMAND: a beets configuration with the album_imported hook
# running COMMAND, and the item_imported hook for singletons.
write_config () {
  cat >"$BEETSDIR/config.yaml" <<CONFIG
directory: $tmp/library
library: $tmp/beets/library.db
plugins: hook
hook:
  hooks:
    - event: album_imported
      command: $1
    - event: item_imported
      command: spyglass scan {item.path}
CONFIG
}

# make_album DIR: two one-second silent WAV tracks (Python's wave module,
# which is there wherever beets is).
make_album () {
  mkdir -p "$1"
  python3 - "$1" <<'PY'
import sys, wave
for n in (1, 2):
    with wave.open(f"{sys.argv[1]}/0{n} track.wav", "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000)
PY
}

# import_album ARGUMENT…: beet import, quietly unless it fails.
import_album () {
  if ! beet import "$@" >"$tmp/beet.log" 2>&1; then
    cat "$tmp/beet.log" >&2
    echo "FAIL: beet import $* failed" >&2
    exit 1
  fi
}

passed=0
failed=0

# expect_call PATH: the last call of the stand-in was `spyglass scan PATH`.
expect_call () {
  local expected got
  expected=$(printf 'argc=2\n%q\n%q' scan "$1")
  got=$(tail -n 3 "$SPYGLASS_ARGV_LOG" 2>/dev/null || true)
  if [ "$got" = "$expected" ]; then
    echo "ok: spyglass received exactly: scan $(printf '%q' "$1")"
    passed=$((passed + 1))
  else
    echo "FAIL: expected"
    printf '%s\n' "$expected" | sed 's/^/    /'
    echo "  got"
    printf '%s\n' "${got:-(no call)}" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

write_config 'spyglass scan {album.path}'

# 1. Imported in place (-C): the album path is the folder as it was named.
album="$tmp/incoming/Simon & Garfunkel - Bridge Over \"Troubled\" Water's (1970) \$HOME"
make_album "$album"
echo "== beet import -q -A -C: in place, folder named with spaces, & \" ' \$"
import_album -q -A -C "$album"
expect_call "$album"

# 2. Copied into the library: the album path is the new folder, named from
#    the tags by beets' default path format $albumartist/$album (beets
#    replaces the '"' with '_').
make_album "$tmp/incoming/second"
echo "== beet import -q -A: copied into the library"
import_album -q -A --set "albumartist=Simon & Garfunkel" \
  --set "album=Bookends; Live at \"Carnegie\" Hall" "$tmp/incoming/second"
expect_call "$tmp/library/Simon & Garfunkel/Bookends; Live at _Carnegie_ Hall"

# 3. Quotes around the placeholder in the command are harmless: shlex takes
#    them off before the path goes in.
write_config 'spyglass scan "{album.path}"'
album="$tmp/incoming/Nick Cave & The Bad Seeds - Let Love In"
make_album "$album"
echo "== the same with command: spyglass scan \"{album.path}\""
import_album -q -A -C "$album"
expect_call "$album"

# 4. A singleton import (-s) sends item_imported, with the file's path;
#    spyglass scans the folder a file is in.
album="$tmp/incoming/Singles & B-Sides"
make_album "$album"
echo "== beet import -q -A -C -s: one track, item_imported"
import_album -q -A -C -s "$album/01 track.wav"
expect_call "$album/01 track.wav"

echo
echo "What the stand-in spyglass received (argv, one per line, %q-quoted):"
sed 's/^/  /' "$SPYGLASS_ARGV_LOG"
echo
echo "beets hook: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
