#!/usr/bin/env bash
# Installs the built tree into a scratch prefix, then builds and runs two consumers against the
# *installed* files only: one with find_package(vgpu), one with pkg-config.
# Usage: consumer_test.sh BUILD_DIR WORK_DIR SOURCE_DIR
set -euo pipefail
build=$1 work=$2 src=$3
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

echo "== find_package(vgpu)"
cmake -S "$src/find_package" -B "$work/find_package" -G "${CMAKE_GENERATOR:-Ninja}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/find_package" >/dev/null
"$work/find_package/uses_library"
"$work/find_package/uses_headers"
"$work/find_package/uses_c_abi"

echo "== pkg-config vgpu++ (C++ API)"
pcdir=$(dirname "$(find "$prefix" -name vgpu.pc | head -n1)")
export PKG_CONFIG_PATH=$pcdir
echo "pkg-config --modversion vgpu++: $(pkg-config --modversion vgpu++)"
libdir=$(pkg-config --variable=libdir vgpu++)
# shellcheck disable=SC2046  # word splitting of the flags is intended
# CC/CXX are the build's compilers and CXXFLAGS/LDFLAGS carry its sanitizer flags, if any
# (cmake reads them too): a library sanitized by clang links only with clang's runtimes.
${CXX:-c++} ${CXXFLAGS:-} "$src/pkgconfig/main.cpp" -o "$work/pkgconfig_consumer" $(pkg-config --cflags --libs vgpu++) \
  ${LDFLAGS:-} -Wl,-rpath,"$libdir"
"$work/pkgconfig_consumer"

echo "== pkg-config vgpu (C ABI)"
echo "pkg-config --modversion vgpu: $(pkg-config --modversion vgpu), C ABI $(pkg-config --variable=abi_version vgpu)"
# shellcheck disable=SC2046
${CC:-cc} -std=c99 -Wall -Wextra -pedantic -Werror ${CFLAGS:-} "$src/c_consumer.c" -o "$work/c_consumer" \
  $(pkg-config --cflags --libs vgpu) ${LDFLAGS:-} -Wl,-rpath,"$libdir"
"$work/c_consumer"
echo "consumers OK"
