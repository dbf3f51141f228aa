#!/usr/bin/env python3
"""The stacks wpk is compared with: PyYAML's C loader plus Python `jsonschema` or `jsonschema-rs`.
Usage: python_validate.py jsonschema|jsonschema-rs SCHEMA DIR; prints how many files were valid."""
import os
import sys

import yaml

def main() -> None:
    engine, schema_path, directory = sys.argv[1:4]
    with open(schema_path, encoding="utf-8") as f:
        schema = yaml.load(f, Loader=yaml.CSafeLoader)
    if engine == "jsonschema":
        import jsonschema
        validator = jsonschema.Draft202012Validator(schema)
        is_valid = validator.is_valid
    else:
        import jsonschema_rs
        validator = jsonschema_rs.Draft202012Validator(schema)
        is_valid = validator.is_valid
    valid = 0
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            document = yaml.load(f, Loader=yaml.CSafeLoader)
        valid += is_valid(document)
    print(f"{valid} valid")

if __name__ == "__main__":
    main()
