#!/usr/bin/env bash
# Checks libvgpu.so's C ABI against the committed baseline with libabigail (abidiff).
# Usage: abi_check.sh LIBRARY HEADERS_DIR BASELINE WORK_DIR
#
# Fails on any incompatible change (a function removed or its signature changed, a struct
# field moved or resized...). Compatible changes (a function added) pass with a note: record
# them with scripts/update-abi-baseline.sh when the release is made.
set -uo pipefail
lib=$1 headers=$2 baseline=$3 work=$4
mkdir -p "$work"

if [[ ! -f $baseline ]]; then
  echo "no ABI baseline at $baseline: create it with scripts/update-abi-baseline.sh" >&2
  exit 1
fi

# abidiff's exit status is a bit field: 1 tool error, 2 usage error, 4 ABI changed,
# 8 incompatible change.
run_abidiff() {
  abidiff "$@" >"$work/report.txt" 2>&1
  echo $?
}

# 1. The checker itself notices an incompatible change: the baseline against a copy of
#    itself without vgpu_manager_destroy.
perl -0pe "s/ *<function-decl name='vgpu_manager_destroy'.*?<\/function-decl>\n//s; \
           s/ *<elf-symbol name='vgpu_manager_destroy'[^\n]*\n//" "$baseline" >"$work/broken.abi"
rc=$(run_abidiff "$baseline" "$work/broken.abi")
if (( (rc & 8) == 0 )) || ! grep -q vgpu_manager_destroy "$work/report.txt"; then
  echo "self-test failed: abidiff did not report the removed vgpu_manager_destroy (status $rc)"
  cat "$work/report.txt"
  exit 1
fi
echo "self-test: a removed function is reported as incompatible (abidiff status $rc)"

# 2. The library against the baseline.
# Only the types reachable from the exported vgpu_* functions, as declared in vgpu.h.
rc=$(run_abidiff --exported-interfaces-only --header-file2 "$headers/vgpu.h" --drop-private-types \
  "$baseline" "$lib")
cat "$work/report.txt"
if (( rc & 3 )); then
  echo "abidiff failed to run (status $rc)"
  exit 1
fi
if (( rc & 8 )); then
  echo "INCOMPATIBLE change to the C ABI (above). Keep the old ABI: append new struct fields"
  echo "with a new struct version, add new functions instead of changing old ones"
  echo "(docs/api-stability.md). A deliberate break needs a new ABI major version."
  exit 1
fi
if (( rc & 4 )); then
  echo "the C ABI grew compatibly; record it with scripts/update-abi-baseline.sh at release"
else
  echo "the C ABI is identical to the baseline"
fi
exit 0
