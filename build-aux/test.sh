#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what is missing, builds Spyglass and runs the whole test suite
# twice: in _build (the normal build) and in _build-sanitize (built with
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer). Each run
# happens inside build-aux/test-session.sh: a D-Bus session bus, an X server
# (Xvfb) and an unlocked gnome-keyring of its own, stopped afterwards. The UI
# tests need them: SPYGLASS_UI_REQUIRED=1 makes a missing display a failure
# instead of a skip.
#
#   build-aux/test.sh [MESON-TEST-ARGUMENT…]
#
# Arguments go to both `meson test` runs, e.g. `build-aux/test.sh --suite unit`
# or `build-aux/test.sh client`. Exits non-zero if anything failed and ends
# with one line "N passed, N failed[, N skipped]" that counts both runs.
set -euo pipefail

cd "$(dirname "$0")/.."
build-aux/install-deps.sh

# Sanitizers: stop at the first error, with a stack trace. LeakSanitizer is
# on: GLib's one-time allocations stay reachable and are not reported; two
# leaks inside libsoup 3.2's SoupServer are suppressed by build-aux/lsan.supp.
# Matching them needs real stacks, so the slow unwinder (GLib has no frame
# pointers), kept to 16 frames: that roughly halves its cost.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=16:print_summary=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/build-aux/lsan.supp}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1}"
# GLib 2.74's GSlice keeps its own memory pools, which hides use-after-free
# from AddressSanitizer; make it use malloc.
export G_SLICE=always-malloc

export SPYGLASS_UI_REQUIRED="${SPYGLASS_UI_REQUIRED:-1}"
with_session=(build-aux/test-session.sh)

passed=0
failed=0
skipped=0

# setup_build DIR [MESON-OPTION…]: configure DIR, or reconfigure it with
# these options if it exists (wiping it if meson can no longer read it).
setup_build () {
  local dir=$1
  shift
  if [ -e "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

# count_results DIR: adds the results in DIR/meson-logs/testlog.json (one JSON
# object per test, each with a "result" key) to the totals.
count_results () {
  local log=$1/meson-logs/testlog.json n result
  [ -e "$log" ] || return 0
  while read -r n result; do
    case "$result" in
      OK|EXPECTEDFAIL) passed=$((passed + n)) ;;
      SKIP) skipped=$((skipped + n)) ;;
      *) failed=$((failed + n)) ;;   # FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR, INTERRUPT
    esac
  done < <(grep -o '"result": "[A-Z]*"' "$log" | cut -d'"' -f4 | sort | uniq -c)
}

# run_suite DIR TIMEOUT-MULTIPLIER [MESON-OPTION…]: sets up, builds and
# tests one build dir. A setup or build failure counts as one failed test;
# so does a `meson test` that fails without recording any failed test.
run_suite () {
  local dir=$1 multiplier=$2
  shift 2
  local failed_before=$failed
  echo "== $dir: setup and build"
  if ! setup_build "$dir" "$@" || ! meson compile -C "$dir"; then
    echo "test.sh: $dir: setup or build FAILED" >&2
    failed=$((failed + 1))
    return
  fi
  echo "== $dir: tests"
  rm -f "$dir/meson-logs/testlog.json"
  local status=0
  "${with_session[@]}" meson test -C "$dir" --print-errorlogs \
    --timeout-multiplier "$multiplier" "${test_args[@]}" || status=$?
  count_results "$dir"
  if [ "$status" -ne 0 ] && [ "$failed" -eq "$failed_before" ]; then
    echo "test.sh: $dir: meson test exited with status $status" >&2
    failed=$((failed + 1))
  fi
}

test_args=("$@")
run_suite _build 1
# Sanitized code runs several times slower: give each test more time.
run_suite _build-sanitize 3 -Db_sanitize=address,undefined

summary="$passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then
  summary="$summary, $skipped skipped"
fi
echo
echo "$summary"
[ "$failed" -eq 0 ]
