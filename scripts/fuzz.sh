#!/usr/bin/env bash
# Builds the fuzz preset (clang 14, libFuzzer, AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs every fuzz target of tests/fuzz, one after the other, each in a single process.
#
# Usage: scripts/fuzz.sh [--seconds N | --runs N] [--out DIR] [--only NAME,...] [--no-build]
#                        [-- LIBFUZZER_OPTION...]
#   --seconds N   run each target for N seconds (default 30)
#   --runs N      run each target for N inputs instead
#   --out DIR     where the run's corpora, findings and logs go (default BUILD_DIR/run);
#                 findings (crash-*, leak-*, timeout-*, oom-*) land in DIR/findings/<target>/
#   --only LIST   only these targets (comma-separated names, e.g. ledger,uuid)
#   --no-build    use the binaries as they are
#   --build-dir D the fuzz preset's build directory (default build/fuzz)
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>) and regressions,
# plus what earlier runs with the same --out found; new inputs go to DIR/corpus/<target>, never
# into the source tree. Prints executions and exec/s per target; exits 1 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30 runs="" out="" only="" build=1 bindir=build/fuzz extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; runs=""; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --build-dir) bindir="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done

if [ "$build" = 1 ]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j2
fi

targets=()
for src in tests/fuzz/*.cpp; do
  name=$(basename "$src" .cpp)
  [ "$name" = replay_main ] && continue
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
  targets+=("$name")
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no target matches --only $only" >&2; exit 2; }

[ -n "$out" ] || out="$bindir/run"
mkdir -p "$out"
out=$(cd "$out" && pwd)
# The ledger target writes a file per input under $TMPDIR: on tmpfs it runs several times
# faster than on a disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
if [ -n "$runs" ]; then budget=(-runs="$runs"); else budget=(-max_total_time="$seconds"); fi
status=0
printf '%-18s %14s %8s %10s %8s  %s\n' TARGET EXECUTIONS SECONDS EXEC/S CORPUS FINDINGS
for name in "${targets[@]}"; do
  binary=$bindir/fuzz/fuzz_$name
  [ -x "$binary" ] || { echo "fuzz.sh: $binary is missing (build the fuzz preset)" >&2; exit 2; }
  corpus="$out/corpus/$name" findings="$out/findings/$name" log="$out/logs/$name.log"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  dict=(); [ -f "tests/fuzz/dict/$name.dict" ] && dict=(-dict="tests/fuzz/dict/$name.dict")
  seeds=("tests/fuzz/corpus/$name")
  [ -d "tests/fuzz/regressions/$name" ] && seeds+=("tests/fuzz/regressions/$name")
  # capi_sequence's inputs cost milliseconds each; libFuzzer's entropic scheduling updates a
  # frequency per feature after every input (about 30% of its time, over 30,000 features), and
  # without it the same 30 s reach 1.4x the inputs at the same coverage (docs/reliability.md).
  tuning=(); [ "$name" = capi_sequence ] && tuning=(-entropic=0)
  start=$(date +%s)
  # A single process (no -jobs/-workers); -timeout: an input that takes 10 s is a finding.
  set +e
  "$binary" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${tuning[@]}" "${dict[@]}" "${extra[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1
  code=$?
  set -e
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  # slow-unit-* files are inputs that took over 10 s of wall time once, which on a shared
  # machine says more about the machine than the input; a real hang is a timeout-* (-timeout).
  found=$(find "$findings" -type f ! -name 'slow-unit-*' | wc -l)
  note="$found"
  if [ "$code" -ne 0 ] || [ "$found" -gt 0 ]; then
    status=1
    note="$found (exit $code; see $log)"
  fi
  printf '%-18s %14s %8s %10s %8s  %s\n' "$name" "${execs:-?}" "$elapsed" "${rate:-?}" "$size" \
    "$note"
done
[ "$status" -eq 0 ] && echo "fuzz.sh: no findings" || echo "fuzz.sh: findings in $out/findings" >&2
exit "$status"
