#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# How much slower is `spyglass scan PATH` (one process, no window) than the
# equivalent curl request? Both run against the fake Plex server in the same
# run; the goal is a wall-time ratio of at most 1.5. See bench/README.md.
#
#   bench/bench-scan.sh [--runs N] [--rounds R] [--loop]
#
#   --runs N    timed runs of each command (default 200)
#   --rounds R  split them into R rounds, in a rotating order, so that a slow
#               spell of the machine hits every command alike (default 5)
#   --loop      time with a bash loop even when hyperfine is there
set -euo pipefail

runs=200
rounds=5
use_hyperfine=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --loop) use_hyperfine=no; shift ;;
    -h|--help) sed -n '3,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench-scan.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$rounds" -lt 1 ] || [ "$runs" -lt "$rounds" ]; then
  echo "bench-scan.sh: need 1 <= rounds <= runs" >&2
  exit 2
fi
per_round=$((runs / rounds))
runs=$((per_round * rounds))

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/_build
results=$build/bench-scan
export LC_ALL=C.UTF-8   # "." as decimal point in EPOCHREALTIME, UTF-8 output

"$root/build-aux/install-deps.sh" >&2
if [ "$use_hyperfine" = yes ] && ! command -v hyperfine >/dev/null 2>&1; then
  "$root/build-aux/install-deps.sh" hyperfine >&2 || true
fi
if [ "$use_hyperfine" = yes ] && ! command -v hyperfine >/dev/null 2>&1; then
  echo "bench-scan.sh: no hyperfine; timing with a bash loop" >&2
  use_hyperfine=no
fi

if [ ! -e "$build/meson-private/coredata.dat" ]; then
  meson setup "$build" "$root" >&2
fi
meson compile -C "$build" >&2

tmp=$(mktemp -d)
# shellcheck source=build-aux/fake-plex-lib.sh
. "$root/build-aux/fake-plex-lib.sh"
trap 'fake_plex_stop; rm -rf "$tmp"' EXIT

# Spyglass must not touch the user's settings, keyring or queue.
export GSETTINGS_BACKEND=memory
export GSETTINGS_SCHEMA_DIR=$build/data
export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data
export XDG_STATE_HOME=$tmp/state XDG_CACHE_HOME=$tmp/cache

fake_plex_start "$build/tests/spyglass-fake-plex" "$tmp"
url=$FAKE_PLEX_URL
export PLEX_TOKEN=$FAKE_PLEX_TOKEN

# /data/music is a Location of the fake server's library 3, "Music".
album=/data/music/Artist/Album
album_query=%2Fdata%2Fmusic%2FArtist%2FAlbum
names=(
  "spyglass scan"
  "curl refresh"
  "curl sections+refresh"
)
commands=(
  "$(printf '%q ' "$build/src/spyglass" scan --server "$url" "$album")"
  # Just the request that starts the scan.
  "$(printf '%q ' curl -sf -o /dev/null -H "X-Plex-Token: $PLEX_TOKEN" \
      "$url/library/sections/3/refresh?path=$album_query")"
  # What spyglass has to do: list the libraries to route the path, then
  # start the scan (one curl process, one kept-alive connection).
  "$(printf '%q ' curl -sf -H "X-Plex-Token: $PLEX_TOKEN" \
      -o /dev/null "$url/library/sections" \
      -o /dev/null "$url/library/sections/3/refresh?path=$album_query")"
)

# Each command once, in the open, so a broken one stops the benchmark here
# rather than being timed as fast.
for i in "${!commands[@]}"; do
  echo "\$ ${names[i]}: ${commands[i]}" >&2
  if ! eval "${commands[i]}" >&2; then
    echo "bench-scan.sh: '${names[i]}' failed; nothing timed" >&2
    exit 1
  fi
done

rm -rf "$results"
mkdir -p "$results"
for i in "${!commands[@]}"; do
  : >"$results/times-$i.txt"
done

# One round runs each command per_round times, starting with a different
# command every round. Times are appended in seconds, one per line.
run_round_hyperfine () {
  local round=$1 args=() k i
  for k in "${!commands[@]}"; do
    i=$(( (k + round) % ${#commands[@]} ))
    args+=(-n "$i" "${commands[i]}")
  done
  hyperfine -N --warmup 5 --runs "$per_round" --style basic \
    --export-json "$results/round-$round.json" "${args[@]}" >&2
  python3 - "$results" "$round" <<'PY'
import json, sys
results, round_ = sys.argv[1], sys.argv[2]
with open(f"{results}/round-{round_}.json") as f:
    for r in json.load(f)["results"]:
        with open(f"{results}/times-{r['command']}.txt", "a") as out:
            out.writelines(f"{t}\n" for t in r["times"])
PY
}

# The same without hyperfine, interleaved run by run. Bash's EPOCHREALTIME
# ("seconds.microseconds") costs no process of its own.
run_round_loop () {
  local round=$1 n k i start end
  for n in $(seq -4 "$per_round"); do   # 5 warm-up runs (n <= 0), unrecorded
    for k in "${!commands[@]}"; do
      i=$(( (k + round + n + 4) % ${#commands[@]} ))
      start=${EPOCHREALTIME/[.,]/}
      if ! eval "${commands[i]}" >/dev/null 2>&1; then
        echo "bench-scan.sh: '${names[i]}' failed during timing" >&2
        exit 1
      fi
      end=${EPOCHREALTIME/[.,]/}
      if [ "$n" -gt 0 ]; then
        echo "$(( end - start ))e-6" >>"$results/times-$i.txt"
      fi
    done
  done
}

for round in $(seq 0 $((rounds - 1))); do
  echo "== round $((round + 1)) of $rounds ($per_round runs of each)" >&2
  if [ "$use_hyperfine" = yes ]; then
    run_round_hyperfine "$round"
  else
    run_round_loop "$round"
  fi
done

timer=$([ "$use_hyperfine" = yes ] && echo "hyperfine $(hyperfine --version | cut -d' ' -f2)" || echo "bash loop")
python3 - "$results" "$timer" "${names[@]}" <<'PY' | tee "$results/summary.txt"
import statistics, sys
results, timer, names = sys.argv[1], sys.argv[2], sys.argv[3:]
med = []
print(f"Wall time per run, {timer}, fake Plex server on loopback:")
print(f"  {'command':<24}{'runs':>6}{'median':>11}{'p10':>11}{'p90':>11}")
for i, name in enumerate(names):
    with open(f"{results}/times-{i}.txt") as f:
        t = sorted(float(line) for line in f if line.strip())
    q = statistics.quantiles(t, n=10)
    med.append(statistics.median(t))
    print(f"  {name:<24}{len(t):>6}{med[-1]*1e3:>8.2f} ms{q[0]*1e3:>8.2f} ms{q[-1]*1e3:>8.2f} ms")
print()
for i in (1, 2):
    ratio = med[0] / med[i]
    verdict = "meets" if ratio <= 1.5 else "misses"
    print(f"  {names[0]} / {names[i]}: {ratio:.2f}x ({verdict} the goal of <= 1.5x)")
PY
echo "Raw times and hyperfine JSON: ${results#"$root"/}/" >&2
