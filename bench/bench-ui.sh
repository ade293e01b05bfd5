#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Time to first frame and idle memory of Spyglass's window against a minimal
# libadwaita window (bench/minimal-window.c) built the same way, in the same
# run, on a private X server (Xvfb). The goal is a ratio of at most 1.2 for
# both. See bench/README.md.
#
#   bench/bench-ui.sh [OPTION…] [SPYGLASS-WINDOW]
#
#   SPYGLASS-WINDOW   the program to measure (default: $SPYGLASS_WINDOW_BIN,
#                     else _build/src/spyglass-window)
#   --runs N          timed runs of each program for the first frame (default 30)
#   --warmup N        untimed runs before them (default 3)
#   --samples N       idle-memory samples of each program (default 5)
#   --idle S          seconds to leave each window idle before reading its
#                     memory (default 3)
#   --renderer R      GSK_RENDERER for both (default cairo; "gl" for GTK's
#                     default GL renderer, on Mesa's software rasterizer)
#   --unconfigured    measure Spyglass with no server set up (its welcome
#                     page) instead of configured against the fake server
#   --build DIR       the build directory (default _build)
set -euo pipefail

runs=30
warmup=3
samples=5
idle=3
renderer=cairo
configured=yes
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/_build
window_bin=${SPYGLASS_WINDOW_BIN:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --samples) samples=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --renderer) renderer=$2; shift 2 ;;
    --unconfigured) configured=no; shift ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '3,24s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "bench-ui.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) window_bin=$1; shift ;;
  esac
done
export LC_ALL=C.UTF-8

# Outside a test session: install, build, then run again inside one (a bus,
# Xvfb, a keyring of its own: the benchmark never touches the desktop it is
# started from).
if [ -z "${BENCH_UI_IN_SESSION:-}" ]; then
  "$root/build-aux/install-deps.sh" hyperfine >&2 || "$root/build-aux/install-deps.sh" >&2
  if [ ! -e "$build/meson-private/coredata.dat" ]; then
    meson setup "$build" "$root" >&2
  fi
  meson compile -C "$build" >&2
  export BENCH_UI_IN_SESSION=1 SPYGLASS_UI_REQUIRED=1
  args=(--runs "$runs" --warmup "$warmup" --samples "$samples" --idle "$idle"
        --renderer "$renderer" --build "$build")
  [ "$configured" = yes ] || args+=(--unconfigured)
  [ -z "$window_bin" ] || args+=("$window_bin")
  exec "$root/build-aux/test-session.sh" "$0" "${args[@]}"
fi

minimal=$build/bench/minimal-window
window_bin=${window_bin:-$build/src/spyglass-window}
results=$build/bench-ui
mkdir -p "$results"

if [ ! -x "$minimal" ]; then
  echo "bench-ui.sh: $minimal is missing; is $build a Spyglass build?" >&2
  exit 1
fi
have_spyglass=yes
if [ ! -x "$window_bin" ]; then
  have_spyglass=no
  cat >&2 <<EOF
bench-ui.sh: no Spyglass window to measure: $window_bin does not exist.
  It is built as src/spyglass-window once the window is in the tree; or give
  its path as an argument or in SPYGLASS_WINDOW_BIN. Measuring the minimal
  window alone (no ratios).
EOF
fi

buildtype=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')

tmp=$(mktemp -d)
window_pid=
# shellcheck source=build-aux/fake-plex-lib.sh
. "$root/build-aux/fake-plex-lib.sh"
cleanup () {
  if [ -n "$window_pid" ]; then
    kill "$window_pid" 2>/dev/null || true
    wait "$window_pid" 2>/dev/null || true
  fi
  fake_plex_stop
  rm -rf "$tmp"
}
trap cleanup EXIT

# Both programs: the same environment, settings in a keyfile of their own,
# the build tree's schema, no accessibility bus, the same renderer.
for dir in home config data cache state; do
  mkdir -p "$tmp/$dir"
done
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data \
  XDG_CACHE_HOME=$tmp/cache XDG_STATE_HOME=$tmp/state
export GSETTINGS_BACKEND=keyfile GSETTINGS_SCHEMA_DIR=$build/data
export GTK_A11Y=none GSK_RENDERER=$renderer
if [ "$renderer" = cairo ]; then
  export GDK_DEBUG=gl-disable
fi
unset SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME G_MESSAGES_DEBUG

if [ "$have_spyglass" = yes ] && [ "$configured" = yes ]; then
  fake_plex_start "$build/tests/spyglass-fake-plex" "$tmp"
  "$build/src/spyglass" config --server "$FAKE_PLEX_URL" --section 3 >/dev/null
  printf '%s\n' "$FAKE_PLEX_TOKEN" | "$build/src/spyglass" config --token-stdin >/dev/null
fi

names=(minimal)
programs=("$minimal")
titles=('^Minimal Window$')
if [ "$have_spyglass" = yes ]; then
  names+=(spyglass)
  programs+=("$window_bin")
  titles+=('^Spyglass$')
fi

# Each program once in the open: one that does not quit after its first
# frame would otherwise hang the timing, one that fails would look fast.
for i in "${!programs[@]}"; do
  if ! SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME=1 timeout 60 "${programs[$i]}" >/dev/null; then
    echo "bench-ui.sh: ${programs[$i]} did not quit by itself after its first frame" >&2
    echo "  (does it implement SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME=1?)" >&2
    exit 1
  fi
done

# Time to first frame: whole process runs, start to first painted frame.
echo "== time to first frame ($runs runs each, $warmup warm-up, GSK_RENDERER=$renderer)" >&2
if command -v hyperfine >/dev/null 2>&1; then
  commands=()
  for i in "${!programs[@]}"; do
    commands+=(-n "${names[$i]}" "${programs[$i]}")
  done
  SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME=1 hyperfine -N --warmup "$warmup" --runs "$runs" \
    --export-json "$results/first-frame.json" "${commands[@]}" >&2
  python3 - "$results/first-frame.json" >"$results/first-frame.txt" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], r["median"], r["mean"], r["stddev"] or 0.0, r["min"], r["max"])
EOF
else
  echo "bench-ui.sh: no hyperfine; timing with a bash loop" >&2
  : >"$results/first-frame.txt"
  for i in "${!programs[@]}"; do
    for _ in $(seq "$warmup"); do
      SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME=1 "${programs[$i]}" >/dev/null
    done
    : >"$results/first-frame-${names[$i]}.times"
    for _ in $(seq "$runs"); do
      start=$EPOCHREALTIME
      SPYGLASS_BENCH_EXIT_AFTER_FIRST_FRAME=1 "${programs[$i]}" >/dev/null
      echo "$start $EPOCHREALTIME" | awk '{ print $2 - $1 }' >>"$results/first-frame-${names[$i]}.times"
    done
    python3 - "${names[$i]}" "$results/first-frame-${names[$i]}.times" >>"$results/first-frame.txt" <<'EOF'
import statistics, sys
t = [float(x) for x in open(sys.argv[2])]
print(sys.argv[1], statistics.median(t), statistics.mean(t), statistics.pstdev(t), min(t), max(t))
EOF
  done
fi

# Idle memory: started normally, visible, left alone, then Pss and Rss from
# /proc/PID/smaps_rollup. Samples alternate between the programs.
echo "== idle memory ($samples samples each, ${idle} s idle)" >&2
: >"$results/idle-memory.txt"
for s in $(seq "$samples"); do
  for i in "${!programs[@]}"; do
    "${programs[$i]}" >/dev/null 2>"$tmp/stderr" &
    window_pid=$!
    if ! timeout 60 xdotool search --sync --onlyvisible --pid "$window_pid" --name "${titles[$i]}" >/dev/null; then
      echo "bench-ui.sh: no window ${titles[$i]} from ${programs[$i]} in 60 s" >&2
      cat "$tmp/stderr" >&2
      exit 1
    fi
    sleep "$idle"
    pss=$(awk '/^Pss:/ { print $2 }' "/proc/$window_pid/smaps_rollup")
    rss=$(awk '/^Rss:/ { print $2 }' "/proc/$window_pid/smaps_rollup")
    echo "${names[$i]} $pss $rss" >>"$results/idle-memory.txt"
    echo "  ${names[$i]} sample $s: Pss $pss kB, Rss $rss kB" >&2
    kill "$window_pid"
    wait "$window_pid" 2>/dev/null || true
    window_pid=
  done
done

python3 - "$results/first-frame.txt" "$results/idle-memory.txt" "$buildtype" "$renderer" \
  "$configured" "$have_spyglass" <<'EOF' | tee "$results/summary.txt"
import statistics, sys
frame_file, memory_file, buildtype, renderer, configured, have_spyglass = sys.argv[1:]
frames = {}
for line in open(frame_file):
    name, median, mean, stddev, low, high = line.split()
    frames[name] = [float(x) for x in (median, mean, stddev, low, high)]
pss, rss = {}, {}
for line in open(memory_file):
    name, p, r = line.split()
    pss.setdefault(name, []).append(int(p))
    rss.setdefault(name, []).append(int(r))

print(f"build type {buildtype}, GSK_RENDERER={renderer}, "
      f"Spyglass {'configured against the fake server' if configured == 'yes' else 'unconfigured'}")
print(f"{'':10} {'first frame (median)':>22} {'idle Pss (median)':>18} {'idle Rss (median)':>18}")
for name in frames:
    median, mean, stddev, low, high = frames[name]
    print(f"{name:10} {median * 1000:17.1f} ms   {statistics.median(pss[name]) / 1024:13.1f} MiB"
          f"   {statistics.median(rss[name]) / 1024:13.1f} MiB")
if have_spyglass == "yes":
    f = frames["spyglass"][0] / frames["minimal"][0]
    p = statistics.median(pss["spyglass"]) / statistics.median(pss["minimal"])
    r = statistics.median(rss["spyglass"]) / statistics.median(rss["minimal"])
    verdict = lambda x: "ok" if x <= 1.2 else "over the 1.2 goal"
    print(f"ratio Spyglass / minimal: first frame {f:.2f} ({verdict(f)}), "
          f"idle Pss {p:.2f} ({verdict(p)}), idle Rss {r:.2f} ({verdict(r)})")
else:
    print("no ratios: spyglass-window was not found")
EOF
echo "(raw figures in $results)" >&2
