"""Structural check against schema.json, with jsonschema's messages put into plain words.

jsonschema reports "Additional properties are not allowed ('colur' was unexpected)"; an
administrator needs "unknown field 'colur'" at the field's own path. Every error is kept, so a
file with five mistakes gets five messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from questionnaires.errors import PathPart

SCHEMA_FILE = Path(__file__).with_name("schema.json")

_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}

_PATTERN_WORDS = {
    "^[a-z][a-z0-9]*(-[a-z0-9]+)*$": "an id of lower-case letters and digits joined by single hyphens, starting with a letter",
    "^[a-z][a-z0-9]*([.-][a-z0-9]+)*$": "a question id of lower-case letters and digits joined by single dots or hyphens, starting with a letter",
    "^[a-z0-9][a-z0-9_-]*$": "a value of lower-case letters, digits, '-' and '_'",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date written YYYY-MM-DD",
}

_CONDITION_HELP = (
    "is not a valid condition: use {'all': [...]}, {'any': [...]}, {'not': {...}}, or a test "
    "that names a 'question' and exactly one of equals, in, answered, gt, gte, lt, lte"
)


@cache
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _type_words(expected: Any) -> str:
    kinds = expected if isinstance(expected, list) else [expected]
    return " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error: ValidationError) -> tuple[list[PathPart], str]:
    """Plain-words message for one schema error, and the path it belongs at."""
    path: list[PathPart] = list(error.absolute_path)
    kind = error.validator
    value = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "required":
        missing = [name for name in error.validator_value if not (isinstance(value, dict) and name in value)]
        name = missing[0] if missing else str(error.validator_value)
        return [*path, name], "is required but missing"
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in value if k not in schema.get("properties", {})]
        return [*path, extra[0] if extra else "?"], (
            f"unknown field; check the spelling (allowed here: {', '.join(allowed)})"
        )
    if kind == "type":
        return path, f"should be {_type_words(error.validator_value)}, not {_show(value)}"
    if kind == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        if path and path[-1] == "type":
            return path, f"unknown question type {_show(value)}; use one of: {choices}"
        return path, f"{_show(value)} is not allowed here; use one of: {choices}"
    if kind == "const":
        return path, f"must be {_show(error.validator_value)}, not {_show(value)}"
    if kind == "pattern":
        words = _PATTERN_WORDS.get(error.validator_value, f"text matching {error.validator_value}")
        return path, f"{_show(value)} is not valid: it should be {words}"
    if kind in ("minItems", "minLength", "minProperties"):
        if error.validator_value == 1:
            return path, "must not be empty"
        return path, f"needs at least {error.validator_value}"
    if kind in ("maxLength", "maxItems"):
        return path, f"is too long: at most {error.validator_value} allowed"
    if kind == "minimum":
        return path, f"must be at least {error.validator_value}, not {_show(value)}"
    if kind == "maximum":
        return path, f"must be at most {error.validator_value}, not {_show(value)}"
    if kind == "exclusiveMinimum":
        return path, f"must be more than {error.validator_value}, not {_show(value)}"
    if kind == "oneOf" and "options" in json.dumps(error.validator_value):
        return path, "a choice question needs either 'options' or 'scale', not both and not neither"
    if kind in ("oneOf", "anyOf"):
        return path, _CONDITION_HELP
    return path, error.message


def schema_problems(data: Any) -> Iterator[tuple[list[PathPart], str]]:
    """Every structural problem in `data`, as (path, message), in document order."""
    errors = sorted(validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    seen: set[tuple[str, str]] = set()
    for error in errors:
        path, message = _describe(error)
        key = (repr(path), message)
        if key not in seen:
            seen.add(key)
            yield path, message
