#!/usr/bin/env bash
# Records the C ABI of a built libvgpu.so as the baseline that the capi.abi_compatible test
# compares every build with (tests/capi/abi/libvgpu.so.1.abi). Run it when a release adds to
# the ABI, after reviewing the change; never to silence an incompatible change.
# Usage: scripts/update-abi-baseline.sh [BUILD_DIR]   (default build/default)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
lib=$(find "$build" -maxdepth 1 -name 'libvgpu.so.[0-9]*' -type f | head -n1)
[[ -n $lib ]] || { echo "no libvgpu.so.N in $build: build it first" >&2; exit 1; }
major=$(grep -m1 '^#define VGPU_ABI_VERSION_MAJOR' include/vgpu.h | awk '{print $3}')
out=tests/capi/abi/libvgpu.so.$major.abi
mkdir -p "$(dirname "$out")"
abidw --exported-interfaces-only --header-file include/vgpu.h --drop-private-types \
  --no-corpus-path --no-comp-dir-path --short-locs --out-file "$out" "$lib"
echo "wrote $out from $lib"
