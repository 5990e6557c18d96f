"""Independent check of structured outputs: reads JSON lines {"schema": ..., "output": "..."} on stdin and
prints one JSON line per input: null when the output parses as JSON and validates against the schema (Draft
2020-12, with format checking), else the reason. Uses Debian's python3-jsonschema."""
import json
import sys

import jsonschema

for line in sys.stdin:
    case = json.loads(line)
    try:
        value = json.loads(case["output"])
    except ValueError as e:
        print(json.dumps(f"not JSON: {e}"))
        continue
    schema = case["schema"]
    try:
        jsonschema.validate(value, schema, cls=jsonschema.Draft202012Validator, format_checker=jsonschema.FormatChecker())
        print(json.dumps(None))
    except jsonschema.ValidationError as e:
        print(json.dumps(f"invalid: {e.message}"))
