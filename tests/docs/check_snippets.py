#!/usr/bin/env python3
"""Every fenced code block of README.md and docs/*.md is accounted for (ctest docs.snippets).

The nearest non-blank line before a block's opening fence must be one of:

  <!-- snippet: PATH#REGION -->  the block is the text between the two lines of PATH (from the
                                 repository root) that contain "[REGION]" (a comment such as
                                 "// [create]"), common indentation removed; PATH is a file
                                 that CI compiles or runs (a CMake file names it)
  <!-- run -->                   a ```sh block that the test docs.shell runs
                                 (tests/docs/run_shell_blocks.py)
  <!-- not-code: WHAT -->        not code: sample output, a file format, a synopsis
  <!-- not-in-ci: WHY -->        shell commands CI cannot run (root, real hardware, a data set
                                 it does not have); listed on every run so they stay few

  check_snippets.py [--root DIR] [--fix] [FILE.md ...]
  check_snippets.py --self-test

--fix rewrites snippet blocks from their sources (review the diff).
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*([a-z-]+)\s*(?::\s*(.*?))?\s*-->\s*$")
HELP = ("put one of these on the line before it: <!-- snippet: PATH#REGION --> (an excerpt "
        "of a file CI compiles or runs, between two lines marked [REGION]), <!-- run --> (a "
        "```sh block that docs.shell runs), <!-- not-code: WHAT --> (output, a file format), "
        "<!-- not-in-ci: WHY --> (commands CI cannot run); see tests/docs/check_snippets.py")


@dataclass
class Block:
    path: Path          # the Markdown file
    line: int           # 1-based line of the opening fence
    language: str
    indent: str
    body: List[str]     # the lines inside, fence indentation removed
    marker: Optional[Tuple[str, str]]  # (kind, argument)
    end: int            # 1-based line of the closing fence


def blocks(path: Path) -> List[Block]:
    lines = path.read_text(encoding="utf-8").split("\n")
    out: List[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, language = m.group(1), m.group(2)
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip()
                for line in lines[i + 1:j]]
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marker = None
        if k >= 0:
            mm = MARKER.match(lines[k])
            if mm:
                marker = (mm.group(1), mm.group(2) or "")
        out.append(Block(path, i + 1, language, indent, body, marker, j + 1))
        i = j + 1
    return out


def region(root: Path, spec: str) -> Tuple[Optional[List[str]], str]:
    """The lines of PATH#REGION, or None and why not."""
    if "#" not in spec:
        return None, f"'{spec}' names no region: write PATH#REGION"
    name, label = spec.rsplit("#", 1)
    source = root / name
    if not source.is_file():
        return None, f"{name} does not exist"
    lines = source.read_text(encoding="utf-8").split("\n")
    tag = f"[{label}]"
    at = [n for n, line in enumerate(lines) if tag in line]
    if len(at) != 2:
        return None, (f"{name} has {len(at)} lines marking {tag}; it needs exactly two, around "
                      f"the excerpt (e.g. '// {tag}' before and after it)")
    text = [line.rstrip() for line in lines[at[0] + 1:at[1]]]
    widths = [len(line) - len(line.lstrip()) for line in text if line.strip()]
    cut = min(widths) if widths else 0
    return [line[cut:] for line in text], f"{name} lines {at[0] + 2}-{at[1]}"


def built_by_ci(root: Path, name: str) -> bool:
    """True when a CMake file or a test script names the file (its stem as a word)."""
    stem = Path(name).stem
    word = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(stem) + r"(?![A-Za-z0-9_])")
    for pattern in ("**/CMakeLists.txt", "**/*.cmake"):
        for f in root.glob(pattern):
            if "build" in f.relative_to(root).parts[:1]:
                continue
            if word.search(f.read_text(encoding="utf-8", errors="replace")):
                return True
    return False


def check(root: Path, files: List[Path], fix: bool) -> Tuple[List[str], List[str]]:
    errors: List[str] = []
    not_in_ci: List[str] = []
    for md in files:
        rel = md.relative_to(root) if md.is_absolute() else md
        text_lines = md.read_text(encoding="utf-8").split("\n")
        replacements = []
        for b in blocks(md):
            where = f"{rel}:{b.line}"
            what = f"```{b.language}" if b.language else "``` block"
            if b.marker is None:
                errors.append(f"{where}: this {what} is not accounted for; {HELP}")
                continue
            kind, arg = b.marker
            if kind == "snippet":
                want, origin = region(root, arg)
                if want is None:
                    errors.append(f"{where}: <!-- snippet: {arg} -->: {origin}")
                    continue
                if not built_by_ci(root, arg.rsplit("#", 1)[0]):
                    errors.append(f"{where}: {arg.rsplit('#', 1)[0]} is not named by any "
                                  "CMakeLists.txt, so CI does not compile or run it; add it "
                                  "to a build or test, or quote a file that is")
                got = [line.rstrip() for line in b.body]
                if got != want:
                    n = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w),
                             min(len(got), len(want)))
                    g = got[n] if n < len(got) else "(end of block)"
                    w = want[n] if n < len(want) else "(end of region)"
                    errors.append(
                        f"{where}: the block differs from {arg} ({origin}) at its line {n + 1}:"
                        f"\n    block:  {g}\n    source: {w}\n  Copy the region into the block"
                        f" (check_snippets.py --fix does), or change the source")
                    replacements.append((b, want))
            elif kind == "run":
                if b.language != "sh":
                    errors.append(f"{where}: <!-- run --> is for ```sh blocks (docs.shell runs "
                                  f"them with bash); this is {what}")
            elif kind in ("not-code", "not-in-ci"):
                if not arg:
                    errors.append(f"{where}: <!-- {kind}: ... --> needs a reason after the colon")
                if kind == "not-in-ci":
                    not_in_ci.append(f"{where}: {arg}")
            else:
                errors.append(f"{where}: unknown marker <!-- {kind} -->; {HELP}")
        if fix and replacements:
            for b, want in sorted(replacements, key=lambda r: -r[0].line):
                text_lines[b.line:b.end - 1] = [(b.indent + w) if w else w for w in want]
            md.write_text("\n".join(text_lines), encoding="utf-8")
    return errors, not_in_ci


def self_test() -> int:
    """The checker fails on an unmarked block, a drifted excerpt and a missing region."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "docs").mkdir()
        (root / "CMakeLists.txt").write_text("add_executable(demo demo.c)\n")
        (root / "demo.c").write_text("int main(void) {\n  // [body]\n  return 0;\n  // [body]\n}\n")
        (root / "other.c").write_text("// [x]\nx\n// [x]\n")
        md = root / "docs" / "guide.md"
        cases = {
            "in step": ("<!-- snippet: demo.c#body -->\n```c\nreturn 0;\n```\n", None),
            "drifted": ("<!-- snippet: demo.c#body -->\n```c\nreturn 1;\n```\n", "differs"),
            "unmarked": ("```c\nreturn 0;\n```\n", "not accounted for"),
            "no region": ("<!-- snippet: demo.c#nope -->\n```c\nx\n```\n", "exactly two"),
            "not built": ("<!-- snippet: other.c#x -->\n```c\nx\n```\n", "not named"),
            "output": ("<!-- not-code: sample output -->\n```\n$ demo\n```\n", None),
            "run on c": ("<!-- run -->\n```c\nx\n```\n", "for ```sh blocks"),
        }
        failed = 0
        for name, (text, expect) in cases.items():
            md.write_text(text)
            errors, _ = check(root, [md], fix=False)
            ok = (not errors) if expect is None else any(expect in e for e in errors)
            print(f"{'ok' if ok else 'FAILED'}: {name}: {errors or 'no errors'}")
            failed += 0 if ok else 1
        md.write_text("<!-- snippet: demo.c#body -->\n```c\nreturn 1;\n```\n")
        check(root, [md], fix=True)
        fixed = check(root, [md], fix=False)[0] == []
        print(f"{'ok' if fixed else 'FAILED'}: --fix brings a drifted block back in step")
        failed += 0 if fixed else 1
        print("self-test passed" if failed == 0 else f"self-test: {failed} case(s) failed")
        return 0 if failed == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--fix", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    root = args.root.resolve()
    files = [f.resolve() for f in args.files] or \
        [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    errors, not_in_ci = check(root, files, args.fix)
    count = sum(len(blocks(f)) for f in files)
    for line in not_in_ci:
        print(f"not run in CI: {line}")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) in {count} code blocks", file=sys.stderr)
        return 1
    print(f"all {count} code blocks of {len(files)} files accounted for "
          f"({len(not_in_ci)} not run in CI)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
