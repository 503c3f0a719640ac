#!/usr/bin/env bash
# Every check CI makes, in order (the README's test command runs it after bootstrap.sh, and
# .ci/run runs that command):
#   ci    the release build (warnings are errors) and the whole test suite, bindings included
#   asan  clang 14, AddressSanitizer + UndefinedBehaviorSanitizer: the whole test suite again
#   tsan  ThreadSanitizer: the concurrency tests (label "threads")
#   fuzz  each libFuzzer target (built by the asan step) for a bounded time, from its
#         committed seeds (scripts/fuzz.sh; VGPU_CI_FUZZ_SECONDS per target, default 10)
#
# Usage: scripts/check.sh [STEP...]     (default: all four, in that order)
# Stops at the first failing step; prints each step's wall time at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(ci asan tsan fuzz)
for s in "${steps[@]}"; do
  case "$s" in
    ci | asan | tsan | fuzz) ;;
    *) echo "check.sh: unknown step '$s' (ci, asan, tsan, fuzz)" >&2; exit 2 ;;
  esac
done

times=()
report() {
  printf '\ncheck.sh: step times\n'
  printf '  %s\n' "${times[@]}"
}
trap report EXIT

for s in "${steps[@]}"; do
  echo "=== check.sh: $s ==="
  start=$(date +%s)
  case "$s" in
    ci | asan | tsan) cmake --workflow --preset "$s" ;;
    fuzz)
      [ -x build/asan/fuzz/fuzz_uuid ] || cmake --workflow --preset asan
      # A fresh --out each time: CI's budget goes to the committed seeds, not to old finds.
      rm -rf build/asan/fuzz-ci
      # A fixed seed: each run covers a prefix of the same inputs, so a longer local run with
      # the same seed (scripts/fuzz.sh --seconds 30 -- -seed=1) has already been through them,
      # and CI never fails on an input nobody has seen. New ground is for the long runs.
      scripts/fuzz.sh --no-build --build-dir build/asan --out build/asan/fuzz-ci \
        --seconds "${VGPU_CI_FUZZ_SECONDS:-10}" -- -seed=1
      ;;
  esac
  times+=("$s: $(($(date +%s) - start)) s")
done
