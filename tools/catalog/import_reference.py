#!/usr/bin/env python3
"""Transcribe NVIDIA's published vGPU tables into vgpu's catalog files.

Reads the reference tables (vgpu_types.csv, vgpu_placements.csv) from a directory given on the
command line -- the project keeps no copy of them -- and writes one JSON file per GPU model
into data/catalog/. Every deviation from the printed tables is recorded in the type's
"errata" list with the printed value, the value used and why, so the catalog check
(tests/catalog/reference_check_test.cpp) can tell a deliberate correction from a typo.

Usage: tools/catalog/import_reference.py ../shared/reference/data data/catalog
"""
import csv
import json
import re
import sys
from pathlib import Path

# Facts the guides lack. Architectures and PCI device ids come from Debian's pci.ids
# (version 2023.04.10, /usr/share/misc/pci.ids); an id absent there is left out.
MODELS = {
    "NVIDIA A40": dict(file="a40", name="NVIDIA A40", aliases=["A40"], arch="ampere", ids=["0x2235"]),
    "NVIDIA A16": dict(file="a16", name="NVIDIA A16", aliases=["A16"], arch="ampere", ids=["0x25b6"]),
    "NVIDIA A10": dict(file="a10", name="NVIDIA A10", aliases=["A10"], arch="ampere", ids=["0x2236"]),
    "NVIDIA A2": dict(file="a2", name="NVIDIA A2", aliases=["A2"], arch="ampere", ids=["0x25b6"]),
    "NVIDIA L4": dict(file="l4", name="NVIDIA L4", aliases=["L4"], arch="ada", ids=["0x27b8"]),
    "NVIDIA L20 / L20 Liquid Cooled": dict(file="l20", name="NVIDIA L20", aliases=["L20", "L20 Liquid Cooled"], arch="ada", ids=[]),
    "NVIDIA L40": dict(file="l40", name="NVIDIA L40", aliases=["L40"], arch="ada", ids=["0x26b5"]),
    "NVIDIA L40S": dict(file="l40s", name="NVIDIA L40S", aliases=["L40S"], arch="ada", ids=[]),
    "NVIDIA RTX 6000 Ada": dict(file="rtx6000-ada", name="NVIDIA RTX 6000 Ada", aliases=["RTX 6000 Ada", "RTX 6000 Ada Generation", "RTX6000-Ada"], arch="ada", ids=["0x26b1"]),
    "NVIDIA RTX A6000": dict(file="rtx-a6000", name="NVIDIA RTX A6000", aliases=["RTX A6000", "RTXA6000"], arch="ampere", ids=["0x2230"]),
    "Tesla T4": dict(file="t4", name="Tesla T4", aliases=["T4", "NVIDIA T4"], arch="turing", ids=["0x1eb8"]),
    "Tesla V100 PCIe 32GB": dict(file="v100-pcie-32gb", name="Tesla V100 PCIe 32GB", aliases=["V100", "V100 PCIe 32GB", "V100D"], arch="volta", ids=["0x1db6"]),
    "NVIDIA A100 PCIe 40GB": dict(file="a100-pcie-40gb", name="NVIDIA A100 PCIe 40GB", aliases=["A100 PCIe 40GB", "A100-40GB", "A100 40GB"], arch="ampere", ids=["0x20b1", "0x20f1"]),
    "NVIDIA A100 PCIe 80GB (also A100 PCIe 80GB Liquid Cooled, A100X; types identical)": dict(
        file="a100-pcie-80gb", name="NVIDIA A100 PCIe 80GB", aliases=["A100 PCIe 80GB", "A100 PCIe 80GB Liquid Cooled", "A100X", "A100D"], arch="ampere", ids=["0x20b5", "0x20b8"]),
    "NVIDIA A100 HGX 80GB": dict(file="a100-hgx-80gb", name="NVIDIA A100 HGX 80GB", aliases=["A100 HGX 80GB", "A100 SXM4 80GB", "A100DX"], arch="ampere", ids=["0x20b2"]),
    "NVIDIA H100 PCIe 80GB": dict(file="h100-pcie-80gb", name="NVIDIA H100 PCIe 80GB", aliases=["H100 PCIe 80GB", "H100 PCIe", "H100"], arch="hopper", ids=["0x2331"]),
    "NVIDIA H100 SXM5 80GB": dict(file="h100-sxm5-80gb", name="NVIDIA H100 SXM5 80GB", aliases=["H100 SXM5 80GB", "H100 SXM5", "H100XM"], arch="hopper", ids=["0x2330"]),
    "NVIDIA H100 PCIe 94GB (H100 NVL)": dict(file="h100-nvl", name="NVIDIA H100 NVL", aliases=["H100 NVL", "H100 PCIe 94GB", "H100L"], arch="hopper", ids=[]),
}

# Driver type ids named in reference/vgpu-domain.md section 1 (ids are driver-defined; only these
# are published there).
TYPE_IDS = {"A40-1Q": 557, "A40-2Q": 558, "A40-3Q": 559, "A40-4Q": 560, "A40-6Q": 561, "L40-1B": 869}
for i, size in enumerate([1, 2, 3, 4, 6, 8, 12, 16, 24, 48]):
    TYPE_IDS[f"RTX 6000 Ada-{size}Q"] = 941 + i

# MIG GPU-instance profiles (reference/vgpu-domain.md section 5, `nvidia-smi mig -lgipp`):
# profile id, memory-slice starts, size in memory slices. Keyed by the compute part of the name
# plus the memory fraction of the GPU it takes.
MIG_SLICES = 8
MIG_PROFILES = {  # (compute slices, memory slices, media extensions) -> (profile id, starts)
    (1, 1, False): (19, [0, 1, 2, 3, 4, 5, 6]),
    (1, 1, True): (20, [0, 1, 2, 3, 4, 5, 6]),
    (1, 2, False): (15, [0, 2, 4, 6]),
    (2, 2, False): (14, [0, 2, 4]),
    (3, 4, False): (9, [0, 4]),
    (4, 4, False): (5, [0]),
    (7, 8, False): (0, [0]),
}

FRAME_RATE = {"Q": 60, "A": 60, "B": 45, "C": 60}  # reference/display-rules.md section 2


def ints(text):
    return [int(x) for x in text.split()] if text.strip() else []


def opt_int(text):
    return int(text) if text.strip() else None


def load_placements(path):
    rows = {}
    for row in csv.DictReader(open(path, newline="")):
        note = row["gpu_note"]
        arch = "ada" if "Ada Lovelace" in note and "except" not in note else ("not-ada" if "except Ada" in note else None)
        key = (int(row["region_gib"]), int(row["vgpu_framebuffer_mib"]), arch)
        rows[key] = dict(size=int(row["placement_size_slots"]), max_equal=int(row["max_equal"]),
                         max_mixed=int(row["max_mixed"]), ids=ints(row["placement_ids"]))
    return rows


def find_placement(rows, region, fb, arch):
    for key in ((region, fb, None), (region, fb, "ada" if arch == "ada" else "not-ada")):
        if key in rows:
            return rows[key]
    return None


def region_gib(gpu_fb_mib):
    return -(-gpu_fb_mib // 1024)


def mig_profile(text, model_fb_mib):
    m = re.fullmatch(r"MIG (\d)g\.(\d+)gb(\+me)?", text)
    compute, mem_gb, me = int(m.group(1)), int(m.group(2)), bool(m.group(3))
    whole_gb = round(model_fb_mib / 1024)
    slices = max(1, round(mem_gb * MIG_SLICES / whole_gb)) if compute != 7 else MIG_SLICES
    if compute == 3 or compute == 4:
        slices = 4
    profile_id, starts = MIG_PROFILES[(compute, slices, me)]
    return dict(name=text.split()[1], id=profile_id, compute_slices=compute,
                memory_slices=slices, placement_ids=starts)


def transcribe(types_csv, placements_csv):
    placements = load_placements(placements_csv)
    models = {}
    for row in csv.DictReader(open(types_csv, newline="")):
        meta = MODELS[row["gpu"]]
        gpu_fb = int(row["gpu_framebuffer_mib"])
        model = models.setdefault(row["gpu"], dict(
            name=meta["name"], aliases=meta["aliases"],
            architecture=meta["arch"], pci_device_ids=meta["ids"],
            gpus_per_board=int(row["board_gpus_per_board"]), framebuffer_mib=gpu_fb,
            mixed_size=False, mig=False, types=[]))
        name, series = row["vgpu_type"], row["series"]
        notes = row["notes"]
        errata = []
        t = dict(name=name)
        if name in TYPE_IDS:
            t["id"] = TYPE_IDS[name]
        t["series"] = series
        t["framebuffer_mib"] = int(row["framebuffer_mib"])
        heads = opt_int(row["max_heads"])
        resolution = row["max_resolution"] or None
        is_mig = bool(row["mig_profile"])
        if series == "A" and heads is None and not is_mig:
            heads, resolution = 1, "1280x1024"
            for field, used in (("max_heads", 1), ("max_resolution", "1280x1024")):
                errata.append(dict(field=field, printed=None, used=used, why=(
                    "A.1.2's A-series table is absent from the source copy; every A-series type "
                    "in the guide supports one display at 1280x1024 (reference/display-rules.md, A-series)")))
        if heads is not None:
            t["max_heads"] = heads
        if resolution is not None:
            t["max_resolution"] = resolution
        pixels = re.search(r"available_pixels=(\d+)", notes)
        if pixels:
            t["pixel_budget"] = int(pixels.group(1))
        if not is_mig:
            t["frame_rate_limit"] = FRAME_RATE[series]
        t["max_instances"] = int(row["max_per_gpu_equal_size"])
        mixed = opt_int(row["max_per_gpu_mixed_size"])
        if is_mig:
            model["mig"] = True
            t["mig_profile"] = mig_profile(row["mig_profile"], gpu_fb)
            prof = t["mig_profile"]
            t["placement_size"] = prof.pop("memory_slices")
            t["placement_ids"] = prof.pop("placement_ids")
        else:
            region = region_gib(gpu_fb)
            row_p = find_placement(placements, region, t["framebuffer_mib"], meta["arch"])
            t["placement_size"] = -(-t["framebuffer_mib"] // 1024)
            if mixed is None and row_p is not None and series == "A" and model["name"] == "NVIDIA A16":
                mixed = row_p["max_mixed"]
                errata.append(dict(field="max_instances_mixed", printed=None, used=mixed, why=(
                    "A.1.2's A-series table is absent; taken from the A.3 16-GiB placement table row "
                    "for the same framebuffer, as for A16's Q/B/C types of that size")))
            if mixed is not None:
                model["mixed_size"] = True
                if row_p is None:
                    raise SystemExit(f"{name}: no placement row for region {region} GiB, {t['framebuffer_mib']} MiB")
                t["placement_size"] = row_p["size"]
                ids = list(row_p["ids"])
                if region == 64 and 46 in ids:
                    raise SystemExit("64-GiB table erratum reached a type: resolve it here")
                if len(ids) != mixed:
                    errata.append(dict(field="max_instances_mixed", printed=mixed, used=len(ids), why=(
                        f"the guide prints {mixed}, but the A.3 {region}-GiB placement table lists "
                        f"{len(ids)} placement IDs for {t['framebuffer_mib']} MiB; trust the placement table")))
                    mixed = len(ids)
                t["max_instances_mixed"] = mixed
                t["placement_ids"] = ids
        # MIG-backed types are bounded by memory slices, not MiB: the engine checks those.
        if not is_mig and t["max_instances"] * t["framebuffer_mib"] > gpu_fb:
            fit = gpu_fb // t["framebuffer_mib"]
            errata.append(dict(field="max_instances", printed=t["max_instances"], used=fit, why=(
                f"{t['max_instances']} x {t['framebuffer_mib']} MiB exceeds the GPU's {gpu_fb} MiB "
                "(the framebuffer of its largest type); vgpu never promises capacity the tables "
                "cannot prove. A catalog file loaded at run time can override this")))
            t["max_instances"] = fit
            if t.get("max_instances_mixed", 0) > fit:
                errata.append(dict(field="max_instances_mixed", printed=t["max_instances_mixed"], used=fit,
                                   why="limited like max_instances, for the same reason"))
                errata.append(dict(field="placement_ids", printed=" ".join(map(str, t["placement_ids"])),
                                   used=" ".join(map(str, t["placement_ids"][:fit])),
                                   why="only the first placement is kept, matching max_instances_mixed"))
                t["max_instances_mixed"] = fit
                t["placement_ids"] = t["placement_ids"][:fit]
        if "deprecated in this release" in notes:
            t["deprecated"] = True
        t["source"] = notes.split(";")[0].removeprefix("src: ")
        if errata:  # printed/used as text: "" where the source prints nothing
            t["errata"] = [dict(e, printed="" if e["printed"] is None else str(e["printed"]),
                                used=str(e["used"])) for e in errata]
        model["types"].append(t)
    return models


def dump(obj):
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    # keep lists of numbers and short strings on one line
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ref, out = Path(sys.argv[1]), Path(sys.argv[2])
    models = transcribe(ref / "vgpu_types.csv", ref / "vgpu_placements.csv")
    out.mkdir(parents=True, exist_ok=True)
    for ref_name, model in models.items():
        meta = MODELS[ref_name]
        doc = {
            "schema": "vgpu-catalog/1",
            "source": ("NVIDIA Virtual GPU Software User Guide release 17, Appendix A.1 and A.3 "
                       "(Q/B/A series); NVIDIA AI Enterprise 5.0 User Guide, Appendix A (C series, "
                       "MIG-backed); PCI device ids from Debian's pci.ids 2023.04.10. Transcribed by "
                       "tools/catalog/import_reference.py; see docs/catalog.md for the errata."),
            "gpus": [model],
        }
        (out / f"{meta['file']}.json").write_text(dump(doc))
    print(f"wrote {len(models)} catalog files, {sum(len(m['types']) for m in models.values())} types")


if __name__ == "__main__":
    main()
