#!/usr/bin/env python3
"""Writes the seed corpora (tests/fuzz/corpus/<target>/) and dictionaries (dict/) of the
fuzz targets.

The seeds are committed; run this again only to change them (it rewrites every corpus
directory it seeds from scratch). Seeds are valid inputs from the repository (data/catalog, the
backend tests' hosts, the documentation's examples, the emulated kernel's sysfs formats)
and edge cases next to each rule the parsers enforce.
"""
import json
import pathlib
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"


CLEARED = set()


def write(target, name, data):
    """Writes seed @name of @target; the first write of a run empties the target's corpus
    (only the targets this script seeds: capi_sequence's seeds come from its own program)."""
    d = CORPUS / target
    if target not in CLEARED and d.exists():
        shutil.rmtree(d)
    CLEARED.add(target)
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data.encode() if isinstance(data, str) else data)


def catalog():
    for f in ["a16.json", "a2.json", "t4.json", "a100-pcie-80gb.json", "h100-nvl.json",
              "l40s.json"]:
        write("catalog_json", f, (ROOT / "data/catalog" / f).read_bytes())
    minimal = {"schema": "vgpu-catalog/1", "gpus": [{
        "name": "Test GPU", "aliases": ["TG"], "architecture": "ampere",
        "pci_device_ids": ["0x1234", 4660], "framebuffer_mib": 8192, "mixed_size": True,
        "types": [
            {"name": "TG-4Q", "id": 700, "series": "Q", "framebuffer_mib": 4096, "max_heads": 2,
             "max_resolution": "3840x2160", "pixel_budget": 17694720, "frame_rate_limit": 60,
             "max_instances": 2, "max_instances_mixed": 2, "placement_ids": [0, 4],
             "deprecated": True, "source": "test",
             "errata": [{"field": "max_heads", "printed": "4", "used": "2", "why": "test"}]},
            {"name": "TG-1B", "series": "B", "framebuffer_mib": 1024, "max_instances": 8,
             "placement_size": 1}]}]}
    write("catalog_json", "minimal.json", json.dumps(minimal, indent=1))
    mig = {"schema": "vgpu-catalog/1", "source": "seed", "gpus": [{
        "name": "Mig GPU", "framebuffer_mib": 40960, "mig": True, "types": [
            {"name": "MG-3-20C", "series": "C", "framebuffer_mib": 20480, "max_instances": 2,
             "placement_size": 4, "placement_ids": [0, 4],
             "mig_profile": {"name": "3g.20gb", "id": 9, "compute_slices": 3}},
            {"name": "MG-40C", "series": "C", "framebuffer_mib": 40960, "max_instances": 1}]}]}
    write("catalog_json", "mig.json", json.dumps(mig))
    write("catalog_json", "newer-schema.json", '{"schema": "vgpu-catalog/2", "gpus": []}')
    write("catalog_json", "unknown-key.json",
          '{"schema": "vgpu-catalog/1", "gpus": [{"name": "X", "framebufer_mib": 1}]}')
    write("catalog_json", "overlap.json", json.dumps({"schema": "vgpu-catalog/1", "gpus": [{
        "name": "O", "framebuffer_mib": 8192, "mixed_size": True, "types": [
            {"name": "O-4Q", "series": "Q", "framebuffer_mib": 4096, "max_instances": 2,
             "max_instances_mixed": 2, "placement_ids": [0, 2]}]}]}))
    write("catalog_json", "not-json.json", '{"schema": "vgpu-catalog/1", "gpus": [\xff')


def hosts():
    for f in ["mdev.json", "nvidia-vfio.json", "nouveau.json"]:
        host = json.loads((ROOT / "tests/backends/hosts" / f).read_text())["host"]
        write("host_description", f, json.dumps(host))
    write("host_description", "builtin.json", """{"gpus": [
    {"model": "A16", "count": 4},
    {"model": "L40S", "count": 2, "mode": "mixed", "numa_node": 1},
    {"model": "A100 PCIe 80GB", "mode": "mig", "address": "0000:c1:00.0", "numa_node": 1}]}""")
    write("host_description", "vgpus.json", """{
  "gpus": [
    {"model": "A16", "count": 2},
    {"model": "L40S", "mode": "mixed", "numa_node": 1, "pci_root": "pci0000:40"}
  ],
  "vgpus": [
    {"uuid": "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01", "type": "A16-2Q",
     "gpu": "0000:41:00.0", "placement": 0, "owner": "vm-17",
     "created_at": "2026-11-25T17:21:00Z"},
    {"uuid": "8f0c2d4e-1b7a-4c3e-9d2f-6a5b4c3d2e1f", "type": "L40S-24Q",
     "gpu": "0000:43:00.0"}
  ]
}""")
    write("host_description", "mig.json", """{"gpus": [
  {"model": "H100 NVL", "mode": "mig", "address": "0001:0a:1f.7"}],
 "vgpus": [{"uuid": "00000000-0000-4000-8000-000000000001", "type": "H100L-3-47C",
            "gpu": "0001:0a:1f.7", "placement": 4}]}""")
    write("host_description", "overlap.json", """{"gpus": [{"model": "L40S", "mode": "mixed"}],
 "vgpus": [{"uuid": "00000000-0000-4000-8000-000000000001", "type": "L40S-24Q",
            "gpu": "0000:41:00.0", "placement": 0},
           {"uuid": "00000000-0000-4000-8000-000000000002", "type": "L40S-12Q",
            "gpu": "0000:41:00.0", "placement": 12}]}""")
    write("host_description", "bad-time.json", """{"gpus": [{"model": "A16"}], "vgpus": [
  {"uuid": "00000000-0000-4000-8000-000000000001", "type": "A16-1B", "gpu": "41:00.0",
   "created_at": "2026-02-31T00:00:00Z"}]}""")
    write("host_description", "many.json",
          '{"gpus": [{"model": "T4", "count": 256}, {"model": "A2", "address": "0000:ff:00.0"}]}')


def states():
    write("host_state", "ledger-doc.json", """{"vgpus": [
  {"type": "A16-2Q", "count": 4, "gpu": "0000:41:00.0"},
  {"type": "L40S-12Q", "count": 2, "model": "L40S"},
  {"type": "A16-4Q", "uuid": "8d5c4cb4-8c5a-4bd1-9c9e-5e0f4a3f0b11", "owner": "vm-7"}
]}""")
    write("host_state", "vgpuctl-doc.json", """{"vgpus": [
  {"type": "A16-4Q", "count": 3, "owner": "vm-web"},
  {"type": "L40S-24Q", "gpu": "0000:42:00.0", "placement": 0, "owner": "vm-render"},
  {"type": "A16-8Q", "uuid": "5a1e0c1e-0000-4000-8000-00000000abcd", "owner": "vm-db",
   "vm_uuid": "5a1e0c1e-0000-4000-8000-00000000ffff"}
]}""")
    write("host_state", "twice.json", """{"vgpus": [
  {"type": "A16-8Q", "uuid": "5a1e0c1e-0000-4000-8000-00000000abcd"},
  {"type": "A16-8Q", "uuid": "5A1E0C1E-0000-4000-8000-00000000ABCD"}]}""")
    write("host_state", "empty.json", '{"vgpus": []}')
    write("host_state", "nil.json",
          '{"vgpus": [{"type": "A16-1B", "count": 2, "uuid": "00000000-0000-0000-0000-000000000000"}]}')


def requests():
    write("request_file", "vgpuctl-doc.json", """{"requests": [
  {"type": "A16-2Q", "count": 2, "owner": "vm-desk"},
  {"min_framebuffer": "10GiB", "series": "Q", "owner": "vm-cad"},
  {"type": "A100D-3-40C", "count": 2, "owner": "vm-train"}
]}""")
    write("request_file", "header-doc.json", """{"requests": [
  {"type": "A16-2Q", "count": 2, "owner": "vm-17", "affinity": "numa"},
  {"min_framebuffer": "3GiB", "min_heads": 2, "series": "Q", "deny_gpus": ["0000:41:00.0"]},
  {"gpu_milli": 500, "series": "C", "gpus": ["0000:45:00.0", "0000:46:00.0"]}]}""")
    write("request_file", "array.json", """[
  {"type": "L40S-12Q", "placement": 24, "gpus": ["45:00.0"]},
  {"min_resolution": "7680x4320", "model": "L40S", "count": 2, "distinct_gpus": false,
   "affinity": "pci-root", "numa_node": 1},
  {"min_framebuffer": "2048M", "count": 4096}]""")
    write("request_file", "both.json", '{"requests": [{"type": "A16-2Q", "min_heads": 1}]}')
    write("request_file", "unknown-gpu.json", '[{"type": "A16-1Q", "gpus": ["0000:99:00.0"]}]')


def vgpu_configs():
    """vgpu-device-manager configs against the built-in host (GPU indices 0-15: A16 at 0-3,
    L40S at 4-5, see vgpuctl gpus)."""
    write("nvidia_vgpu_config", "ecosystem-doc.yaml", """version: v1
vgpu-configs:
  lab:
  - devices: [0]
    vgpu-devices:
      A16-2Q: 3
  - devices: [1, 3]
    vgpu-devices: {}
  - devices: [2]
    vgpu-devices:
      L40S-12Q: 1
""")
    write("nvidia_vgpu_config", "filters.yaml", """version: v1
vgpu-configs:
  small:
    - devices: all
      device-filter: ["0x25B610DE"]
      vgpu-devices: {"nvidia a16-2q": 8}
    - devices: [4, 5]
      vgpu-devices:
        L40S-4Q: 3
        L40S-8Q: 1
    - devices: [6]
      vgpu-devices:
  default:
    - devices: all
      vgpu-devices: {}
""")
    write("nvidia_vgpu_config", "flow.yaml",
          '{version: v1, vgpu-configs: {default: [{devices: [0, 1], device-filter: "0x25B610DE",'
          ' vgpu-devices: {A16-4Q: 4}}]}}\n')
    write("nvidia_vgpu_config", "twice.yaml", """version: v1
vgpu-configs:
  default:
  - devices: [0, 0]
    vgpu-devices: {A16-1Q: 1}
  - devices: [0]
    vgpu-devices: {A16-1Q: 1}
""")
    write("nvidia_vgpu_config", "anchors.yaml", """version: v1
vgpu-configs:
  default:
  - &a {devices: [4], vgpu-devices: {L40S-12Q: 2}}
  - *a
  other: [{devices: all, vgpu-devices: {A100D-3-40C: 2, A100D-4C: 1}}]
---
version: v2
""")
    write("nvidia_vgpu_config", "mixed.yaml", """version: v1
vgpu-configs:
  default:
  - devices: [14]
    vgpu-devices:
      A100D-3-40C: 1
      A100D-40C: 1
  - devices: [15]
    vgpu-devices:
      A100D-1-10C: 0
""")


def sysfs():
    a16 = "ID    : vGPU Name\n" + "".join(
        "%-5u : NVIDIA A16-%s\n" % (i, n)
        for i, n in zip(range(685, 700), ["1B", "2B", "1Q", "2Q", "4Q", "8Q", "16Q", "1A",
                                          "2A", "4A", "8A", "16A", "4C", "8C", "16C"]))
    write("sysfs_creatable", "a16", a16)
    write("sysfs_creatable", "l40s",
          "ID    : vGPU Name\n1155  : NVIDIA L40S-1Q\n1156  : NVIDIA L40S-2Q\n"
          "1167  : NVIDIA L40S-48Q\n")
    write("sysfs_creatable", "no-header", "0x2af : GRID T4-16Q\n\n 688 :  NVIDIA A16-1Q \r\n")
    write("sysfs_creatable", "header-only", "ID    : vGPU Name\n")
    write("sysfs_creatable", "empty", "")
    write("sysfs_creatable", "bad-line", "ID : vGPU Name\n12 A16-2Q\n")
    write("sysfs_creatable", "zero-id", "0     : NVIDIA A16-2Q\n")

    for name, text in [("vendor", "0x10de\n"), ("count", "8\n"), ("numa", "-1\n"),
                       ("params", "vgpu-placement-id=4\n"), ("params-list",
                       "frame_rate_limiter=0, vgpu-placement-id=0x18, x=1"),
                       ("size", "2048M"), ("size-mb", "384MB"), ("size-g", " 16G \n"),
                       ("hex-max", "0xffffffffffffffff"), ("dec-max", "18446744073709551615"),
                       ("overflow", "18446744073709551616"), ("blank", " \t\n"), ("0x", "0x")]:
        write("sysfs_attributes", name, text)

    write("mdev_description", "nvidia",
          "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=5120x2880, "
          "max_instance=8\n")
    write("mdev_description", "named",
          "NVIDIA A16-2Q\nnum_heads=4, frl_config=60, framebuffer=2048M, "
          "max_resolution=5120x2880, max_instance=8")
    write("mdev_description", "gvt-g",
          "low_gm_size: 128MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1920x1200\nweight: 4\n")
    write("mdev_description", "unknown", "GRID T4-2Q\nframebuffer=2G, Max_Instance=0x8, junk, =x, k:")
    write("mdev_description", "no-display",
          "num_heads=0, frl_config=0, framebuffer=16384M, max_resolution=0x0, max_instance=1")


def records():
    record = {"uuid": "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01", "type": "A16-2Q", "type_id": 688,
              "placement": 2, "owner": "vm-17", "created_at": 1764000000}
    write("backend_records", "record.json", json.dumps(record) + "\n")
    write("backend_records", "mdev-record.json",
          '{"uuid":"8d5c4cb4-8c5a-4bd1-9c9e-5e0f4a3f0b11","type":"T4-2Q","type_id":0,'
          '"placement":0,"owner":"","created_at":0}\n')
    write("backend_records", "partial.json", '{"uuid": "8D5C4CB4-8C5A-4BD1-9C9E-5E0F4A3F0B11"}')
    write("backend_records", "type-ids", "688 A16-2Q\n689 A16-4Q\n1155 L40S-1Q\n")
    write("backend_records", "type-ids-odd", "  7   spaced name \n8\n9 \n-1 x\n99999999999 y\n")
    write("backend_records", "binary", bytes(range(24)) + b"A16-2Q\0vm-\xc3\xa9t\xc3\xa9")


def addresses():
    for name, text in [("full", "0000:65:00.0"), ("short", "41:00.0"), ("upper", "0000:C1:1F.7"),
                       ("domain8", "ffffffff:00:00.0"), ("domain3", "000:41:00.0"),
                       ("device", "0000:41:20.0"), ("function", "0000:41:00.8"),
                       ("sign", "+000:41:00.0"), ("none", "")]:
        write("pci_address", name, text)
    for name, text in [("lower", "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01"),
                       ("upper", "5A1E0C1E-0000-4000-8000-00000000ABCD"),
                       ("nil", "00000000-0000-0000-0000-000000000000"),
                       ("braces", "{3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01}"),
                       ("no-hyphens", "3b8e3a626a4c4b8e9a3e2f1d5c7b9e01"),
                       ("short", "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e0"),
                       ("hyphen", "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e-1")]:
        write("uuid", name, text)


def op(kind, region, pos, data=b"", length=None):
    """One operation of the ledger target (tests/fuzz/ledger.cpp, apply())."""
    if length is None:
        length = len(data)
    return bytes([kind | region << 2]) + struct.pack("<I", pos)[:3] + bytes([length]) + data


def ledgers():
    W, T, Z, C = 0, 1, 2, 3  # write, truncate, zero, copy slot
    HEADER, GPUS, JHEADER, JENTRIES, RECORDS, FILE = 0, 1, 2, 3, 4, 5
    fix = 0x80
    for name, data in [
        ("raw-empty", b"\0"),
        ("raw-magic", b"\0VGPULDGR"),
        ("raw-magic-cut", b"\0VGPU"),
        ("raw-not-ledger", b"\0#!/bin/sh\n"),
        ("raw-zeros", b"\0" + bytes(4096)),
        ("empty", b"\x01"),
        ("records", b"\x02"),
        ("armed-journal", b"\x03"),
        ("grown", b"\x04"),
        ("truncated", b"\x02" + op(T, RECORDS, 300)),
        ("truncated-header", b"\x02" + op(T, HEADER, 100)),
        ("version-2", b"\x02" + op(W, HEADER, 8, b"\x02\0\0\0")),
        ("version-0-fixed", bytes([2 | fix]) + op(W, HEADER, 8, b"\0\0\0\0")),
        ("geometry-fixed", bytes([2 | fix]) + op(W, HEADER, 12, b"\0\x20\0\0")),
        ("capacity-fixed", bytes([2 | fix]) + op(W, HEADER, 56, b"\xff\xff\xff\0")),
        ("gpu-count-fixed", bytes([2 | fix]) + op(W, HEADER, 88, b"\x00\x01\0\0")),
        ("record-bit", b"\x02" + op(W, RECORDS, 130, b"\x01")),
        ("record-state-fixed", bytes([2 | fix]) + op(W, RECORDS, 71, b"\x07")),
        ("record-text-fixed", bytes([2 | fix]) + op(W, RECORDS, 80, b"A" * 32)),
        ("record-twice", b"\x02" + op(C, RECORDS, 1, length=2)),
        ("free-slot-data", b"\x02" + op(W, RECORDS, 256 * 20 + 9, b"x")),
        ("journal-bit", b"\x03" + op(W, JENTRIES, 40, b"\x01")),
        ("journal-count-fixed", bytes([3 | fix]) + op(W, JHEADER, 24, b"\x00\x02\0\0")),
        ("journal-offset-fixed", bytes([3 | fix]) + op(W, JENTRIES, 0, b"\x00\x10\0\0\0\0\0\0")),
        ("journal-gpus-fixed", bytes([3 | fix]) + op(W, JHEADER, 28, b"\x01\x01\0\0")),
        ("journal-in-journal-fixed",
         bytes([3 | fix]) + op(W, JENTRIES, 0, b"\x00\x50\0\0\0\0\0\0")),
        ("journal-length-fixed", bytes([3 | fix]) + op(W, JENTRIES, 8, b"\xff\xff\0\0")),
        ("journal-truncated", b"\x03" + op(T, RECORDS, 10)),
        ("gpu-slot-bit", b"\x02" + op(W, GPUS, 70, b"\x80")),
        ("ring-fixed", bytes([2 | fix]) + op(W, HEADER, 96, b"\xff\xff\0\0")),
        ("grown-cut", b"\x04" + op(T, RECORDS, 256 * 258)),
        ("zeroed-magic", b"\x02" + op(Z, HEADER, 0, length=1)),
    ]:
        write("ledger", name, data)


JSON = ["{", "}", "[", "]", ":", ",", '""', "true", "false", "null", '"\\u0000"', '"\\ud800"',
        '"\xff"', "1e999", "-1", "0.5", "4294967295", "4294967296", "18446744073709551616",
        "-9223372036854775809"]


def keys(*names):
    return ['"%s":' % k for k in names]


def write_dict(name, about, tokens):
    """A libFuzzer dictionary: one quoted token a line, bytes outside ASCII as \\xNN."""
    def quote(t):
        out = ""
        for b in t.encode("latin-1"):
            c = chr(b)
            out += "\\" + c if c in '\\"' else c if 0x20 <= b < 0x7f else "\\x%02x" % b
        return '"' + out + '"'
    lines = ["# %s (libFuzzer -dict, written by make_seeds.py)" % about]
    lines += ["kw%d=%s" % (i, quote(t)) for i, t in enumerate(tokens)]
    (HERE / "dict").mkdir(exist_ok=True)
    (HERE / "dict" / (name + ".dict")).write_text("\n".join(lines) + "\n")


def dictionaries():
    write_dict("catalog_json", "catalog files", JSON + keys(
        "schema", "source", "gpus", "name", "aliases", "architecture", "pci_device_ids",
        "gpus_per_board", "framebuffer_mib", "mixed_size", "mig", "types", "id", "series",
        "max_heads", "max_resolution", "pixel_budget", "frame_rate_limit", "max_instances",
        "max_instances_mixed", "placement_size", "placement_ids", "mig_profile",
        "compute_slices", "deprecated", "errata", "field", "printed", "used", "why") + [
        '"vgpu-catalog/1"', '"vgpu-catalog/2"', '"Q"', '"B"', '"A"', '"C"', '"ampere"', '"ada"',
        '"hopper"', '"unknown"', '"0x25b6"', '"5120x2880"', '"1280x1024"', '"3g.40gb"',
        "NVIDIA ", "GRID "])
    write_dict("host_description", "host descriptions", JSON + keys(
        "gpus", "vgpus", "model", "count", "mode", "address", "numa_node", "pci_root", "uuid",
        "type", "gpu", "placement", "owner", "created_at") + [
        '"A16"', '"L40S"', '"A100 PCIe 80GB"', '"H100 NVL"', '"T4"', '"equal"', '"mixed"',
        '"mig"', '"0000:41:00.0"', '"ffff:ff:1f.7"', '"A16-2Q"', '"L40S-24Q"', '"A100D-3-40C"',
        '"3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01"', '"2026-11-25T17:21:00Z"', '"pci0000:40"'])
    write_dict("host_state", "host state files", JSON + keys(
        "vgpus", "type", "count", "gpu", "model", "uuid", "placement", "owner", "vm_uuid") + [
        '"A16-2Q"', '"L40S-12Q"', '"L40S"', '"0000:41:00.0"',
        '"8d5c4cb4-8c5a-4bd1-9c9e-5e0f4a3f0b11"', '"00000000-0000-0000-0000-000000000000"'])
    write_dict("request_file", "request files", JSON + keys(
        "requests", "type", "min_framebuffer", "min_heads", "min_resolution", "series", "model",
        "gpu_milli", "count", "owner", "gpus", "deny_gpus", "numa_node", "placement",
        "affinity", "distinct_gpus") + [
        '"none"', '"numa"', '"pci-root"', '"A16-2Q"', '"L40S-12Q"', '"A100D-3-40C"',
        '"A100D-1-10C"', '"4GiB"', '"2048M"', '"3840x2160"', '"Q"', '"C"', '"L40S"', '"A16"',
        '"0000:41:00.0"', '"0000:45:00.0"', '"0000:c1:00.0"'])
    write_dict("nvidia_vgpu_config", "vgpu-device-manager config files", [
        "version:", "v1", "vgpu-configs:", "devices:", "device-filter:", "vgpu-devices:",
        "all", "default", "- ", "  ", "\n", "{", "}", "[", "]", ", ", ": ", "&a ", "*a", "---",
        "!!str", "'", '"', "#", "0x25B610DE", "0x26B510DE", "A16-2Q", "L40S-12Q",
        "A100D-3-40C", "4096", "4097", "-1"])
    write_dict("sysfs_creatable", "nvidia/creatable_vgpu_types", [
        "ID    : vGPU Name\n", " : ", "\n", "\r\n", "NVIDIA ", "GRID ", "A16-2Q", "L40S-48Q",
        "T4-16Q", "0x", "4294967295", "4294967296", "     "])
    write_dict("sysfs_attributes", "single-value sysfs attributes", [
        "0x", "0X", "\n", " ", "\t", "-1", "vgpu-placement-id=", ", ", "M", "MB", "G", "GiB",
        "K", "B", "1024", "4294967295", "4294967296", "18446744073709551615",
        "ffffffffffffffff"])
    write_dict("mdev_description", "mdev description and name attributes", [
        "num_heads=", "frl_config=", "framebuffer=", "max_resolution=", "max_instance=",
        "resolution: ", "low_gm_size: ", "high_gm_size: ", "fence: ", "weight: ", ", ", "\n",
        "=", ":", "M", "MB", "G", "0x", "5120x2880", "1920x1200", "NVIDIA ", "GRID ", "A16-2Q",
        "T4-8Q"])
    write_dict("backend_records", "vGPU records and the type-id cache", JSON + keys(
        "uuid", "type", "type_id", "placement", "owner", "created_at") + [
        '"3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01"', '"A16-2Q"', "9223372036854775807",
        "-9223372036854775808", "1e300", "\n", " "])
    write_dict("pci_address", "PCI addresses", [
        ":", ".", "0000:", "ffffffff:", "1f", "20", "7", "8", "0x", "+", "-"])
    write_dict("uuid", "UUIDs", ["-", "0000", "ffff", "FFFF", "0x", "{", "}", "urn:uuid:"])
    write_dict("ledger", "ledger files", [
        "VGPULDGR", "\x01\0\0\0", "\0\x10\0\0", "\0\x01\0\0", "\0\x02\0\0",
        "\xff\xff\xff\xff", "\xff" * 8, "\0\x50\0\0\0\0\0\0", "\0" * 8])


def main():
    catalog()
    hosts()
    states()
    requests()
    vgpu_configs()
    sysfs()
    records()
    addresses()
    ledgers()
    dictionaries()


if __name__ == "__main__":
    main()
