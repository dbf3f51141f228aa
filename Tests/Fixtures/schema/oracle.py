#!/usr/bin/env python3
"""Differential oracle for the schema tests: validates JSON documents (one per line of stdin)
with Python's jsonschema (Draft 2020-12) and prints 1 (valid) or 0 per line.
Arguments: pairs of URI and JSON schema file; the first pair is the root schema. With the single
argument --metaschema, documents are validated against the 2020-12 metaschema instead.
Numbers are read as decimal.Decimal so multipleOf is exact (floats say 0.3 is not a multiple of
0.1), and an integral Decimal such as 1.0 counts as an integer, as JSON Schema requires."""
import decimal, json, sys
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

def is_integer(checker, instance):
    if isinstance(instance, bool):
        return False
    if isinstance(instance, decimal.Decimal):
        return instance == instance.to_integral_value()
    return isinstance(instance, int)

def load(text):
    return json.loads(text, parse_float=decimal.Decimal)

pairs = list(zip(sys.argv[1::2], sys.argv[2::2])) if sys.argv[1:] != ["--metaschema"] else []
documents = {uri: load(open(path).read()) for uri, path in pairs}
registry = Registry().with_resources((uri, Resource(contents=doc, specification=DRAFT202012)) for uri, doc in documents.items())
checker = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", is_integer)
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=checker)
if sys.argv[1:] == ["--metaschema"]:
    validator = Validator(jsonschema.Draft202012Validator.META_SCHEMA)
else:
    validator = Validator({"$ref": pairs[0][0]}, registry=registry)
for line in sys.stdin:
    if line.strip():
        print("1" if validator.is_valid(load(line)) else "0")
