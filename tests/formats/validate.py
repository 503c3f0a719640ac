#!/usr/bin/env python3
"""Validates vgpu's exported documents against a JSON schema (Draft 2020-12).

    validate.py SCHEMA FILE...          every document of every FILE must match SCHEMA
    validate.py --same SCHEMA FILE...   the FILEs hold the same documents, and those match

A FILE is JSON or a YAML stream ("---" between documents); a Kubernetes `List` counts as its
items. Prints "ok: N documents" and exits 0, or prints each violation (file, document, path,
message) and exits 1. Exits 2 when python3-jsonschema or python3-yaml is missing.
"""
import json
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"validate.py: {e}; install python3-jsonschema and python3-yaml "
          "(scripts/bootstrap.sh)", file=sys.stderr)
    sys.exit(2)


def documents(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster
        docs = [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    out = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "List":
            out.extend(d.get("items", []))
        else:
            out.append(d)
    return out


def main(argv):
    same = argv[:1] == ["--same"]
    if same:
        argv = argv[1:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    loaded = [(path, documents(path)) for path in argv[1:]]
    if same:
        for path, docs in loaded[1:]:
            if docs != loaded[0][1]:
                print(f"{path} and {loaded[0][0]} differ ({len(docs)} and "
                      f"{len(loaded[0][1])} documents)")
                return 1
        loaded = loaded[:1]  # the same documents: checking one file checks them all
    count, errors = 0, 0
    for path, docs in loaded:
        for i, doc in enumerate(docs):
            count += 1
            for error in validator.iter_errors(doc):
                errors += 1
                where = "/".join(str(p) for p in error.absolute_path)
                print(f"{path}: document {i}: /{where}: {error.message}")
    if errors:
        return 1
    print(f"ok: {count} documents" + (f" in each of {len(argv) - 1} files" if same else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
