#!/usr/bin/env bash
# Walkthrough: a host's vGPU inventory in the formats of libvirt, mdevctl, OpenStack Placement,
# Kubernetes DRA and NVIDIA vgpu-device-manager (docs/ecosystem.md), on a simulated host.
#
#   examples/export_walkthrough.sh [VGPUCTL]     (default: build/default/vgpuctl)
#
# CI runs it as the test examples.export_walkthrough: it fails on the first command that fails.
set -euo pipefail

vgpuctl=$(realpath "${1:-build/default/vgpuctl}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# Prints a command, then runs it.
step() {
  printf '\n$ %s\n' "$*"
  "$@"
}
ctl() { "$vgpuctl" --host host.json "$@"; }
# Checks a document with libvirt's own schema when libvirt-clients is installed.
libvirt_check() {
  if command -v virt-xml-validate >/dev/null; then
    virt-xml-validate "$1" "$2"
  else
    echo "(virt-xml-validate missing: install libvirt-clients to check $1)"
  fi
}

# A host file: two A16 GPUs, an L40S in mixed-size mode, an A100 in MIG mode. Every vgpuctl
# that names it shares it (docs/host-description.md).
cat >host.json <<'EOF'
{"gpus": [{"model": "A16", "count": 2}, {"model": "L40S", "mode": "mixed"},
          {"model": "A100 PCIe 80GB", "mode": "mig"}]}
EOF

echo "== Some vGPUs"
step ctl create --type A16-2Q --count 3 --gpu 0000:41:00.0 >/dev/null
step ctl create --type L40S-12Q --gpu 0000:43:00.0 >/dev/null
step ctl list
uuid=$(ctl --json list | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["uuid"])')

echo
echo "== libvirt: the GPU as a node device (virsh nodedev-dumpxml), a vGPU as a <hostdev>"
step ctl export --format libvirt-nodedev --gpu 0000:41:00.0 --output gpu.xml
grep -A3 "<type id='vgpu-a16-2q'>" gpu.xml
libvirt_check gpu.xml nodedev
step ctl export --format libvirt-hostdev --uuid "$uuid" --output hostdev.xml
cat hostdev.xml
# `virsh attach-device VM hostdev.xml --config` takes the element as it is; to check it with
# the domain schema, put it in the smallest domain libvirt accepts.
{
  echo "<domain type='kvm'><name>vm-1</name><memory unit='MiB'>1024</memory>"
  echo "<os><type arch='x86_64'>hvm</type></os><devices>"
  cat hostdev.xml
  echo "</devices></domain>"
} >domain.xml
libvirt_check domain.xml domain

echo
echo "== mdevctl: a definition per mdev (on an mdev host: mdevctl define --jsonfile ...)"
step ctl export --format mdevctl --uuid "$uuid" --output "$uuid.json"
cat "$uuid.json"
echo "next, on the mdev host: mdevctl define --jsonfile $uuid.json --uuid $uuid --parent 0000:41:00.0"

echo
echo "== OpenStack Placement: one resource provider per GPU, as Nova's libvirt driver makes them"
step ctl export --format placement --node compute-1 --type A16-2Q --output placement.json
python3 - placement.json <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
for rp in doc["resource_providers"]:
    (rc, inv), = rp["inventories"].items()
    print(f'{rp["name"]}: {rc} total {inv["total"]} ({rp["existing_vgpus"]} in use), '
          f'traits {", ".join(rp["traits"])}')
print("nova.conf:", json.dumps(doc["nova_conf"]))
EOF

echo
echo "== Kubernetes DRA: ResourceSlices with shared counters (kubectl apply -f slices.yaml)"
step ctl export --format dra --node compute-1 --output slices.yaml
echo "$(grep -c '^kind: ResourceSlice' slices.yaml) ResourceSlices," \
  "$(grep -c '^  - name: gpu-' slices.yaml) devices"

echo
echo "== NVIDIA vgpu-device-manager: the state as a config, and back onto another host"
step ctl export --format nvidia-vgpu-config --config lab --output config.yaml
cat config.yaml
cp host.json other.json
python3 -c 'import json; d = json.load(open("other.json")); d.pop("vgpus", None); json.dump(d, open("other.json", "w"))'
step "$vgpuctl" --host other.json apply --format nvidia-vgpu-config --config lab --prune config.yaml
"$vgpuctl" --host other.json export --format nvidia-vgpu-config --config lab >other.yaml
step diff config.yaml other.yaml
echo "the other host holds the same vGPUs"
