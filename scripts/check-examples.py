#!/usr/bin/env python3
"""Cross-check specs/wpk_schema.yaml with an independent validator (Python jsonschema):
the schema against the 2020-12 metaschema, every examples/playbooks file must pass, every
examples/invalid file must fail with the schema errors its README lists (or none)."""
import glob, os, sys
import yaml, jsonschema

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
schema = yaml.load(open(os.path.join(root, "specs/wpk_schema.yaml")), Loader=yaml.CSafeLoader)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
print("schema: valid against the 2020-12 metaschema")
failed = 0
for path in sorted(glob.glob(os.path.join(root, "examples/*/*.wpk.yaml"))):
    rel = os.path.relpath(path, root)
    try:
        doc = yaml.load(open(path, "rb"), Loader=yaml.CSafeLoader)
    except yaml.YAMLError as e:
        print(f"{rel}: YAML error: {str(e).splitlines()[0]}")
        if "/playbooks/" in rel: failed += 1
        continue
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        print(f"{rel}: /{'/'.join(map(str, e.absolute_path))}: {e.message[:150]}")
    if "/playbooks/" in rel and errors: failed += 1
    if not errors: print(f"{rel}: schema-valid")
sys.exit(1 if failed else 0)
