#!/usr/bin/env bash
# Discovery benchmark (docs/benchmarks.md): one emulated host with 8 A40 GPUs x 16 VFs on the
# RFC's VF interface and 8 A40 mdev parents; wall time of `vgpuctl types` against
# `mdevctl types` on that tree, RUNS times each.
# Usage: bench-discovery.sh BUILD_DIR [RUNS]   (as root: mdevctl needs a private mount namespace)
set -euo pipefail
build=$(cd "$1" && pwd)
runs=${2:-50}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/host.json" <<'JSON'
{"interface": "vf", "vfs": 16,
 "overrides": {"0000:49:00.0": {"interface": "mdev"}, "0000:4a:00.0": {"interface": "mdev"},
               "0000:4b:00.0": {"interface": "mdev"}, "0000:4c:00.0": {"interface": "mdev"},
               "0000:4d:00.0": {"interface": "mdev"}, "0000:4e:00.0": {"interface": "mdev"},
               "0000:4f:00.0": {"interface": "mdev"}, "0000:50:00.0": {"interface": "mdev"}},
 "host": {"gpus": [{"model": "A40", "count": 16}]}}
JSON
cat >"$work/run.sh" <<'SH'
set -euo pipefail
runs=$1 build=$2
time_ms() {  # time_ms COMMAND...: total wall milliseconds of RUNS runs
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do "$@" >/dev/null; done
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
"$build/vgpuctl" --backend nvidia-vfio types >/dev/null  # warm the type-id cache
vf=$(time_ms "$build/vgpuctl" --backend nvidia-vfio types)
md=$(time_ms "$build/vgpuctl" --backend mdev types)
root=$VGPU_SYSFS_ROOT
ctl=$(unshare -m bash -c "mount --bind $root/sys /sys && mount --bind $root/etc/mdevctl.d \
  /etc/mdevctl.d && $(declare -f time_ms); runs=$runs; time_ms mdevctl types")
gpus=$("$build/vgpuctl" --backend nvidia-vfio --json gpus | grep -c '"address"')
vfs=$(ls "$root/sys/bus/pci/devices" | wc -l)
parents=$(ls "$root/sys/class/mdev_bus" | wc -l)
echo "host: $gpus VF-interface GPUs, $parents mdev parents, $vfs PCI functions; $runs runs each"
printf '%-45s %8s ms/run\n' "vgpuctl --backend nvidia-vfio types (8x16 VFs)" \
  "$(echo "scale=2; $vf / $runs" | bc)"
printf '%-45s %8s ms/run\n' "vgpuctl --backend mdev types (8 parents)" \
  "$(echo "scale=2; $md / $runs" | bc)"
printf '%-45s %8s ms/run\n' "mdevctl types (8 parents)" "$(echo "scale=2; $ctl / $runs" | bc)"
SH
"$build/vgpu-kernel-emu" --host "$work/host.json" "$work/root" -- bash "$work/run.sh" "$runs" "$build"
