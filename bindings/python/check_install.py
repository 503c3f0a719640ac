#!/usr/bin/env python3
"""Checks that ``pip install`` of the Python binding works offline, then imports the result.

Copies bindings/python to WORKDIR/src (so that pip's in-tree build leaves the repository
clean), installs it with ``pip install --no-build-isolation --no-deps --no-index --target
WORKDIR/site`` (nothing is downloaded: setuptools and wheel come from the system) and runs a
fresh interpreter that imports vgpu from there only and opens the simulated host through the
library in $VGPU_LIBRARY. Run by the ctest ``bindings.python_install``.

Usage: check_install.py WORKDIR
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHECK = """
import pathlib, sys, vgpu
where = pathlib.Path(vgpu.__file__).resolve().parent
assert where.parent == pathlib.Path(sys.argv[1]).resolve(), where
assert (where / "py.typed").is_file() and (where / "_cdef.py").is_file()
with vgpu.Manager() as m:
    [v] = m.create("A16-2Q")
    assert len(m.gpus()) == 7 and m.instance(v.uuid).type == "A16-2Q"
print(f"vgpu {vgpu.version()} imported from {where}")
"""


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    work = Path(sys.argv[1]).resolve()
    shutil.rmtree(work, ignore_errors=True)
    src, site = work / "src", work / "site"
    shutil.copytree(HERE, src, ignore=shutil.ignore_patterns(
        "tests", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    install = [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
               "--no-index", "--no-cache-dir", "--disable-pip-version-check", "--root-user-action=ignore", "--quiet",
               "--target", str(site), str(src)]
    print("+", " ".join(install), flush=True)
    subprocess.run(install, env=env, check=True, cwd=work, timeout=300)
    env["PYTHONPATH"] = str(site)
    subprocess.run([sys.executable, "-c", CHECK, str(site)], env=env, check=True, cwd=work,
                   timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
