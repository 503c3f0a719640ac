#!/usr/bin/env bash
# Installs every Debian package vgpu needs to build, test and document itself.
# Idempotent: safe to run again; apt-get skips what is already installed.
# Usage: scripts/bootstrap.sh   (as root, or with sudo available)
set -euo pipefail

packages=(
  # toolchain and build
  build-essential cmake ninja-build pkg-config git python3
  # libraries
  libdrm-dev libboost-dev libfmt-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  # tests, benchmarks, docs
  catch2 libbenchmark-dev doxygen graphviz
  # PCI ID database: the catalog's device ids are checked against it
  pci.ids
  # the emulated kernel for the Linux backends' tests (FUSE sysfs, umockdev DRM), and mdevctl
  # to check that vgpu and the real tool agree on the same emulated mdev tree
  libfuse3-dev fuse3 umockdev libumockdev-dev mdevctl util-linux
  # the C ABI's stability check (abidw, abidiff) and its symbol check (nm, readelf)
  abigail-tools binutils
  # the Python binding (cffi; its tests, type check and offline pip install) and the Go
  # binding (cgo)
  python3-cffi python3-pytest python3-mypy python3-pip python3-setuptools python3-wheel
  golang-go
  # fuzzing (the fuzz preset, scripts/fuzz.sh): clang 14 with libFuzzer and the sanitizers
  clang-14 libclang-rt-14-dev
  # the export formats' tests validate with the consumers' own schemas and tools
  libvirt-clients python3-jsonschema python3-yaml
  # the Rust bindings (bindings/rust): Debian's cargo and rustc 1.63, which CI uses even where
  # a rustup toolchain is also installed (it does not conflict: rustup lives in ~/.cargo/bin);
  # bindgen 0.60 with libclang and rustfmt for regen.sh and the bindings.rust_fresh test
  cargo rustc rustfmt bindgen libclang-dev
)

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "bootstrap.sh: needs root (or sudo) to run apt-get" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "bootstrap.sh: all ${#packages[@]} packages present"

# OpenStack Placement's own request schemas (placement/schemas/*.py of Debian's
# python3-placement), for the placement export's test. The package's dependencies (85 more
# packages, GTK among them) serve the Placement service, not its schemas, which import only
# each other and placement/db/constants.py. So the package is fetched from Debian's archive
# and unpacked, not installed; an installed python3-placement is used as it is.
placement_dir=/usr/local/share/vgpu/openstack-placement
if [ ! -f /usr/lib/python3/dist-packages/placement/schemas/inventory.py ] &&
  [ ! -f "$placement_dir/placement/schemas/inventory.py" ]; then
  tmp=$(mktemp -d)
  chmod 0777 "$tmp"  # apt downloads as its _apt user, which must be able to write here
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq python3-placement >/dev/null && dpkg-deb -x python3-placement_*.deb root)
  "${sudo[@]}" mkdir -p "$placement_dir"
  "${sudo[@]}" cp -r "$tmp/root/usr/lib/python3/dist-packages/placement" "$placement_dir/"
  echo "bootstrap.sh: OpenStack Placement's schemas unpacked in $placement_dir"
fi

# Kubernetes' OpenAPI validators for the DRA export's test (kubernetes-models, from the npm
# registry, pinned by tests/formats/k8s/package-lock.json), with the machine's Node.js and npm
# (Debian's when the machine has none). Installed again only when the lock file changed.
if ! command -v npm >/dev/null 2>&1; then
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
k8s_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/formats/k8s"
if ! cmp -s "$k8s_dir/package-lock.json" "$k8s_dir/node_modules/.vgpu-installed-lock.json"; then
  npm ci --prefix "$k8s_dir" --no-audit --no-fund --loglevel=error >/dev/null
  cp "$k8s_dir/package-lock.json" "$k8s_dir/node_modules/.vgpu-installed-lock.json"
  echo "bootstrap.sh: Kubernetes' OpenAPI validators installed in $k8s_dir/node_modules"
fi
