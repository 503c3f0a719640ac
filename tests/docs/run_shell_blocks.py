#!/usr/bin/env python3
"""Runs every ```sh block marked <!-- run --> in README.md and docs/*.md (ctest docs.shell).

The blocks run in order (README.md, then docs/*.md sorted), each with `bash -euo pipefail`,
all in one scratch directory that looks like a checkout after its build: every top-level entry of the source
tree is linked there, and build/default is the build tree under test. So a block runs
verbatim, with these differences, which are all the runner changes:

- `scripts/bootstrap.sh`, `scripts/check.sh` (CI itself), `cmake --preset ...`,
  `cmake --build --preset ...` and `cmake --workflow ...` do nothing: the machine is set up
  and this build is the one tested;
- `sudo` runs its command as the current user; `ldconfig` does nothing (the installed
  libraries are found through LD_LIBRARY_PATH);
- absolute paths under /etc/vgpu, /var/lib/vgpu and /usr/local are moved under the scratch
  directory (so are CMAKE_PREFIX_PATH, PKG_CONFIG_PATH and LD_LIBRARY_PATH for /usr/local);
- `vgpuctl` is on PATH (the build's);
- the files in tests/docs/fixtures/ are copied in first (the request files and catalogs the
  blocks name).

  run_shell_blocks.py --source-dir DIR --binary-dir DIR [FILE.md ...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_snippets import blocks  # noqa: E402

PRELUDE = r"""
cmake() {
  case "$1" in
    --preset|--workflow) echo "(docs.shell: skipped: cmake $*)"; return 0 ;;
    --build) if [ "${2:-}" = --preset ]; then echo "(docs.shell: skipped: cmake $*)"; return 0; fi ;;
  esac
  command cmake "$@"
}
sudo() { "$@"; }
ldconfig() { :; }
"""
MOVED = ("/etc/vgpu", "/var/lib/vgpu", "/usr/local")


def sandbox(source: Path, binary: Path, where: Path) -> None:
    for entry in source.iterdir():
        if entry.name in ("build", "scripts", ".git"):
            continue
        (where / entry.name).symlink_to(entry)
    (where / "build").mkdir()
    (where / "build" / "default").symlink_to(binary)
    (where / "scripts").mkdir()
    for entry in (source / "scripts").iterdir():
        (where / "scripts" / entry.name).symlink_to(entry)
    for stubbed in ("bootstrap.sh", "check.sh"):
        (where / "scripts" / stubbed).unlink()
        (where / "scripts" / stubbed).write_text(
            "#!/bin/sh\necho '(docs.shell: skipped: scripts/%s)'\n" % stubbed)
        (where / "scripts" / stubbed).chmod(0o755)
    (where / "bin").mkdir()
    (where / "bin" / "vgpuctl").symlink_to(binary / "vgpuctl")
    for moved in MOVED:
        (where / moved.lstrip("/")).mkdir(parents=True, exist_ok=True)
    fixtures = source / "tests" / "docs" / "fixtures"
    if fixtures.is_dir():
        shutil.copytree(fixtures, where, dirs_exist_ok=True, symlinks=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source-dir", type=Path, required=True)
    parser.add_argument("--binary-dir", type=Path, required=True)
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    source, binary = args.source_dir.resolve(), args.binary_dir.resolve()
    files = [f.resolve() for f in args.files] or \
        [source / "README.md"] + sorted((source / "docs").glob("*.md"))
    ran = failed = 0
    # One scratch directory for the whole run, in the order of the files: what a reader who
    # follows README.md, then the guides, would have on disk (an install, a host file ...).
    with tempfile.TemporaryDirectory(prefix="vgpu-docs-") as tmp:
        where = Path(tmp)
        sandbox(source, binary, where)
        prefix = where / "usr" / "local"
        env = dict(os.environ)
        env.pop("VGPU_LEDGER", None)
        env["PATH"] = f"{where / 'bin'}:{env.get('PATH', '')}"
        env["CMAKE_PREFIX_PATH"] = str(prefix)
        env["PKG_CONFIG_PATH"] = ":".join(
            str(prefix / d / "pkgconfig") for d in ("lib", "lib/x86_64-linux-gnu", "share"))
        env["LD_LIBRARY_PATH"] = f"{prefix / 'lib'}:{prefix / 'lib/x86_64-linux-gnu'}"
        for md in files:
            for b in blocks(md):
                if not b.marker or b.marker[0] != "run":
                    continue
                script = "\n".join(b.body)
                for moved in MOVED:
                    script = script.replace(moved, str(where) + moved)
                where_text = f"{md.relative_to(source)}:{b.line}"
                result = subprocess.run(["bash", "-euo", "pipefail", "-c", PRELUDE + script],
                                        cwd=where, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, timeout=600)
                ran += 1
                if result.returncode != 0:
                    failed += 1
                    print(f"FAILED: {where_text} (exit code {result.returncode}); the block:\n"
                          f"{script}\n--- its output:\n{result.stdout}")
                else:
                    print(f"ok: {where_text}")
    print(f"{ran} shell blocks run, {failed} failed")
    return 1 if failed or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
