#!/usr/bin/env python3
"""Generates the Python binding's view of the C ABI from include/vgpu.h.

Writes two files of the package, both committed and never edited by hand:

- ``vgpu/_cdef.py``: ``CDEF``, the declarations of vgpu.h as ``cffi.FFI.cdef()`` takes them
  (vgpu.h run through a small C preprocessor: comments, ``#include``, conditionals,
  ``VGPU_PUBLIC`` and function-like macros removed; ``#define NAME <integer>`` kept, which
  cffi turns into a constant).
- ``vgpu/_enums.py``: one ``enum.IntEnum`` (or ``enum.IntFlag``) per C enum, with the values
  cffi parsed from that cdef and the header's comments as member documentation.

Anything in vgpu.h the preprocessor does not understand (an unknown directive, a C enum this
script has no Python name for) is an error, never silently skipped: the header and the
binding must not drift apart. The ctest ``bindings.python_fresh`` runs ``--check``.

Usage:
    python3 bindings/python/gen_cdef.py            # regenerate the committed files
    python3 bindings/python/gen_cdef.py --check    # fail if they are out of date
"""
from __future__ import annotations

import argparse
import difflib
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_HEADER = HERE.parent.parent / "include" / "vgpu.h"
DEFAULT_PACKAGE = HERE / "vgpu"
UPDATE_COMMAND = "python3 bindings/python/gen_cdef.py"

# C enum -> (Python class, base class, prefixes stripped from member names, first match wins).
# A C enum missing here fails generation: choose its Python name when adding it to vgpu.h.
ENUMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "vgpu_status": ("Status", "IntEnum", ("VGPU_E_", "VGPU_")),
    "vgpu_feature": ("Feature", "IntFlag", ("VGPU_FEATURE_",)),
    "vgpu_gpu_mode": ("GpuMode", "IntEnum", ("VGPU_MODE_",)),
    "vgpu_state": ("State", "IntEnum", ("VGPU_STATE_",)),
    "vgpu_log_level": ("LogLevel", "IntEnum", ("VGPU_LOG_",)),
    "vgpu_affinity": ("Affinity", "IntEnum", ("VGPU_AFFINITY_",)),
    "vgpu_repair_kind": ("RepairKind", "IntEnum", ("VGPU_REPAIR_",)),
    "vgpu_apply_flag": ("ApplyFlag", "IntFlag", ("VGPU_APPLY_",)),
}

_INT_LITERAL = re.compile(r"^-?(?:0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*$")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class HeaderError(Exception):
    """vgpu.h holds something this generator does not know how to translate."""


def strip_comments(text: str) -> str:
    """Removes /* */ and // comments, keeping string literals and the line structure."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise HeaderError("unterminated /* comment")
            out.append(" " + "\n" * text.count("\n", i, j))
            i = j + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _eval_condition(expr: str, defined: dict[str, str], line_no: int) -> bool:
    """Evaluates an #if expression made of defined(X), integers, !, &&, || and parentheses."""
    e = re.sub(r"defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)",
               lambda m: "1" if (m.group(1) or m.group(2)) in defined else "0", expr)
    e = e.replace("&&", " and ").replace("||", " or ")
    e = re.sub(r"!(?!=)", " not ", e)
    for word in _IDENTIFIER.findall(e):
        if word not in ("and", "or", "not"):
            raise HeaderError(f"line {line_no}: cannot evaluate #if {expr.strip()!r} "
                              f"({word!r} is not a defined(...) test)")
    return bool(eval(e, {"__builtins__": {}}, {}))  # only digits, operators and parentheses


def preprocess(header: str) -> tuple[str, list[str]]:
    """Returns (cdef text, names of the macros left out of it)."""
    text = strip_comments(header).replace("\\\n", " ")
    defined: dict[str, str] = {}   # object-like macros seen (name -> body)
    dropped: list[str] = []
    stack: list[tuple[bool, bool]] = []  # (this branch active, some branch taken)
    lines: list[str] = []

    def active() -> bool:
        return all(branch for branch, _ in stack)

    for line_no, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped.startswith("#"):
            if active():
                lines.append(line)
            continue
        m = re.match(r"#\s*(\w+)\s*(.*)$", stripped)
        if not m:
            raise HeaderError(f"line {line_no}: cannot parse directive {stripped!r}")
        directive, rest = m.group(1), m.group(2).strip()
        if directive in ("ifdef", "ifndef"):
            taken = (rest in defined) == (directive == "ifdef")
            stack.append((taken, taken))
        elif directive == "if":
            taken = _eval_condition(rest, defined, line_no)
            stack.append((taken, taken))
        elif directive == "elif":
            if not stack:
                raise HeaderError(f"line {line_no}: #elif without #if")
            _, done = stack[-1]
            taken = not done and _eval_condition(rest, defined, line_no)
            stack[-1] = (taken, done or taken)
        elif directive == "else":
            if not stack:
                raise HeaderError(f"line {line_no}: #else without #if")
            _, done = stack[-1]
            stack[-1] = (not done, True)
        elif directive == "endif":
            if not stack:
                raise HeaderError(f"line {line_no}: #endif without #if")
            stack.pop()
        elif not active():
            continue
        elif directive == "include":
            continue  # cffi knows the types of <stdbool.h>, <stddef.h> and <stdint.h>
        elif directive == "define":
            dm = re.match(r"(\w+)(\()?\s*(.*)$", rest)
            if not dm:
                raise HeaderError(f"line {line_no}: cannot parse #define {rest!r}")
            name, function_like, body = dm.group(1), dm.group(2), dm.group(3).strip()
            if function_like:
                dropped.append(name + "(...)")
                continue
            defined[name] = body
            if _INT_LITERAL.match(body):
                lines.append(f"#define {name} {body}")
            elif body and name != "VGPU_H":
                dropped.append(name)
        else:
            raise HeaderError(f"line {line_no}: #{directive} is not supported by {Path(__file__).name}")
    if stack:
        raise HeaderError("unterminated #if at the end of the header")

    # Object-like macros with an empty body (VGPU_PUBLIC) expand to nothing.
    empty = [name for name, body in defined.items() if body == ""]
    out: list[str] = []
    for line in lines:
        if not line.startswith("#define"):
            for name in empty:
                line = re.sub(rf"\b{name}\b\s*", "", line)
        line = line.rstrip()
        if line.strip() == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n", dropped


def _docs(header: str) -> tuple[dict[str, str], dict[str, str]]:
    """The Doxygen text of each enumerator (/**< ... */) and of each enum typedef."""
    members: dict[str, str] = {}
    for m in re.finditer(r"\b(VGPU_\w+)\s*=[^,}/]*,?\s*/\*\*<\s*(.*?)\s*\*/", header, re.S):
        members[m.group(1)] = " ".join(m.group(2).split())
    enums: dict[str, str] = {}
    for m in re.finditer(r"/\*\*((?:(?!\*/).)*)\*/\s*typedef\s+enum\s+(\w+)", header, re.S):
        text = " ".join(m.group(1).replace("*", " ").split())
        enums[m.group(2)] = text
    return members, enums


def _clean(doc: str) -> str:
    # Doxygen markup to plain text.
    doc = re.sub(r"[#:]{1,2}(?=\w)", "", doc)
    return re.sub(r"@(?:p|ref|c)\s+", "", doc).replace("`", "")


def enums_source(cdef: str, header: str) -> str:
    from cffi import FFI  # the generator needs cffi (python3-cffi), as the binding does

    ffi = FFI()
    ffi.cdef(cdef)
    member_docs, enum_docs = _docs(header)
    c_enums = [name for name in ffi.list_types()[0] if ffi.typeof(name).kind == "enum"]
    unknown = sorted(set(c_enums) - set(ENUMS))
    if unknown:
        raise HeaderError(f"vgpu.h has enums {unknown} without a Python name: add them to "
                          f"ENUMS in {Path(__file__).name}")
    missing = sorted(set(ENUMS) - set(c_enums))
    if missing:
        raise HeaderError(f"ENUMS in {Path(__file__).name} names {missing}, which vgpu.h lacks")

    out = [
        "# Generated by bindings/python/gen_cdef.py from include/vgpu.h: do not edit.",
        f"# Regenerate with: {UPDATE_COMMAND}",
        '"""The enumerations of vgpu.h, as Python enums (values parsed from the header)."""',
        "from __future__ import annotations",
        "",
        "import enum",
        "",
        "__all__ = [" + ", ".join(f'"{ENUMS[c][0]}"' for c in ENUMS) + "]",
    ]
    for c_name, (py_name, base, prefixes) in ENUMS.items():
        items = ffi.typeof(c_name).relements
        position = {k: re.search(rf"\b{k}\b", cdef).start() for k in items}  # type: ignore[union-attr]
        out += ["", "", f"class {py_name}(enum.{base}):"]
        doc = _clean(enum_docs.get(c_name, "")) or f"{c_name} of vgpu.h."
        out.append(f'    """{doc} (C: ``{c_name}``)"""')
        out.append("")
        for c_member in sorted(items, key=lambda k: position[k]):
            prefix = next((p for p in prefixes if c_member.startswith(p)), None)
            if prefix is None:
                raise HeaderError(f"{c_member} of {c_name} has none of the prefixes {prefixes}")
            if c_member in member_docs:
                out.append(f"    #: {_clean(member_docs[c_member])}")
            out.append(f"    {c_member[len(prefix):]} = {items[c_member]}")
    return "\n".join(out) + "\n"


def cdef_source(cdef: str, dropped: list[str]) -> str:
    if '"""' in cdef or "\\" in cdef:
        raise HeaderError('the cdef holds """ or a backslash; cannot embed it in a raw string')
    wrapped: list[str] = []
    line = "#"
    for name in dropped:
        if len(line) + len(name) + 2 > 99:
            wrapped.append(line)
            line = "#"
        line += f" {name},"
    wrapped.append(line.rstrip(","))
    m_major = re.search(r"#define VGPU_ABI_VERSION_MAJOR (\d+)", cdef)
    m_minor = re.search(r"#define VGPU_ABI_VERSION_MINOR (\d+)", cdef)
    if not m_major or not m_minor:
        raise HeaderError("vgpu.h defines no VGPU_ABI_VERSION_MAJOR/MINOR")
    return "\n".join([
        "# Generated by bindings/python/gen_cdef.py from include/vgpu.h: do not edit.",
        f"# Regenerate with: {UPDATE_COMMAND}",
        "# Left out (not expressible in a cdef; the binding sets versions itself):",
        *wrapped,
        '"""The declarations of vgpu.h for cffi.FFI.cdef() (ABI mode)."""',
        "",
        f"ABI_VERSION_MAJOR = {m_major.group(1)}",
        f"ABI_VERSION_MINOR = {m_minor.group(1)}",
        "",
        'CDEF = r"""',
        cdef.rstrip("\n"),
        '"""',
    ]) + "\n"


def generate(header_path: Path) -> dict[str, str]:
    header = header_path.read_text(encoding="utf-8")
    cdef, dropped = preprocess(header)
    return {"_cdef.py": cdef_source(cdef, dropped), "_enums.py": enums_source(cdef, header)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--header", type=Path, default=DEFAULT_HEADER, help="vgpu.h to read")
    parser.add_argument("--package", type=Path, default=DEFAULT_PACKAGE,
                        help="the vgpu package directory to write into (or check)")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary directory and diff with the package")
    args = parser.parse_args(argv)
    try:
        files = generate(args.header)
    except HeaderError as e:
        print(f"gen_cdef.py: {args.header}: {e}", file=sys.stderr)
        return 2
    if not args.check:
        for name, text in files.items():
            (args.package / name).write_text(text, encoding="utf-8")
            print(f"gen_cdef.py: wrote {args.package / name}")
        return 0
    stale = 0
    with tempfile.TemporaryDirectory(prefix="vgpu-cdef-") as tmp:
        for name, text in files.items():
            fresh = Path(tmp) / name
            fresh.write_text(text, encoding="utf-8")
            committed = args.package / name
            old = committed.read_text(encoding="utf-8") if committed.exists() else ""
            new = fresh.read_text(encoding="utf-8")
            if old != new:
                stale += 1
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(keepends=True), new.splitlines(keepends=True),
                    fromfile=str(committed), tofile=f"{name} generated from {args.header}"))
    if stale:
        print(f"\ngen_cdef.py: {stale} generated file(s) of the Python binding are out of date "
              f"with {args.header}.\nUpdate them with:\n    {UPDATE_COMMAND}\nand commit the "
              "result.", file=sys.stderr)
        return 1
    print(f"gen_cdef.py: {', '.join(files)} are up to date with {args.header}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
