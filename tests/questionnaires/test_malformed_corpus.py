"""A generated corpus of malformed definitions, made from every shipped one.

Each shipped file is mutated systematically (every required key deleted, every kind of value
given another JSON type, ids duplicated, references left dangling, conditions pointed forward and
round in circles, lists emptied, numbers made NaN or huge, nesting past MAX_DEPTH, the text cut
short, broken UTF-8, byte-order marks) and at random (a seeded generator stacking one to three
mutations anywhere). The properties:

- a mutation that breaks the definition is refused with a DefinitionError, never another
  exception and never a hang;
- every problem reads `FILE: JSON-PATH: message`, and its path is in the mutated file (or names
  a missing key of an object that is), at the mutated place or one that encloses it;
- a mutation that leaves the definition valid (new wording, a new score, a deleted hint, a
  byte-order mark) loads.

The S11 self-audit is cut to its first standard (the checker's cost grows with the file, and one
standard holds every kind of item, rule and reference the others do).
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from questionnaires import DefinitionError, load_definition, load_themes
from questionnaires.errors import json_path
from questionnaires.loader import DEFINITIONS_DIR, MAX_DEPTH, parse_json

THEMES = load_themes()
Path = list[str | int]


def _shipped() -> dict[str, Any]:
    out = {}
    for path in sorted(DEFINITIONS_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["id"] == "s11-self-audit":
            data["sections"] = data["sections"][:1]
        out[path.name] = data
    return out


SHIPPED = _shipped()

# What each kind of object must have (schema.json's "required", and the conditional ones).
REQUIRED = {
    "root": {"schema_version", "id", "version", "title", "audience", "anonymous", "scales", "sections"},
    "section": {"id", "title", "questions"},
    "question": {"id", "type", "text"},
    "option": {"value", "label"},
    "scale": {"label", "options"},
    "age_band": {"id", "label", "min_age", "max_age"},
    "support": {"heading", "text"},
    "same_as": {"version", "question"},
    "matches": {"questionnaire", "section"},
    "evidence_type": {"value", "label"},
    "rule": {"kind"},
    "threshold": {"rating", "min_score"},
    "leaf": {"question"},
}
RULE_REQUIRED = {
    "evidence_for_met": {"met", "downgrade_to"},
    "standard_rating": {"met", "thresholds"},
    "evidence_age": {"max_age_years", "evidence_types", "downgrade_to"},
    "action_for_shortfall": {"shortfall"},
    "action_progress": {"red_below", "green_from", "overdue_red_below"},
    "triangulation": {"met", "min_positive_share"},
}
TEXT_KEYS = {"title", "text", "hint", "label", "description", "heading", "declaration"}  # free wording
# Lists that may not be empty, and those that may.
NON_EMPTY = {
    "sections",
    "questions",
    "themes",
    "age_bands",
    "all",
    "any",
    "in",
    "thresholds",
    "shortfall",
    "evidence_types",
}
MAY_BE_EMPTY = {"rules", "questionnaire_rules", "prompts"}


def kind_of(path: Path, value: Any) -> str | None:
    """Which kind of object sits at `path` in a definition."""
    if not isinstance(value, dict):
        return None
    if not path:
        return "root"
    last = path[-1]
    parent = path[-2] if len(path) > 1 else None
    names = [p for p in path if isinstance(p, str)]
    if "show_if" in names or "required_if" in names:
        return None if any(k in value for k in ("all", "any", "not")) else "leaf"
    if parent == "sections":
        return "section"
    if parent == "questions":
        return "question"
    if parent == "options":
        return "option"
    if parent == "scales":
        return "scale"
    if parent == "age_bands":
        return "age_band"
    if parent == "evidence_types":
        return "evidence_type"
    if parent == "rules" and len(path) == 2:
        return "rule"
    if parent == "thresholds":
        return "threshold"
    return last if last in ("support", "same_as", "matches") else None


def nodes(value: Any, path: Path | None = None) -> Iterator[tuple[Path, Any]]:
    path = path or []
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from nodes(child, [*path, key])
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from nodes(child, [*path, index])


def get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def required_keys(kind: str, obj: dict[str, Any]) -> set[str]:
    keys = set(REQUIRED[kind])
    if kind == "question":
        if obj.get("scored", True) is not False:
            keys |= {"themes", "measure"}
        keys |= {"rating": {"scale"}, "evidence": {"evidence_types"}}.get(obj.get("type"), set())
        if obj.get("type") in ("single_choice", "multiple_choice"):
            keys |= {"options", "scale"} & set(obj)
    if kind == "rule":
        keys |= RULE_REQUIRED.get(obj.get("kind"), set())
    if kind == "leaf":
        keys |= set(obj) - {"question"}  # its one test
    return keys


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One mutated definition: as data, or as the bytes of a file."""

    name: str
    source: str
    data: Any = None
    raw: bytes | None = None
    valid: bool | None = False  # None: either outcome is right, only the shape of a refusal is checked
    at: list[Path] = field(default_factory=list)  # where problems must be (a path, or one enclosing it)

    def __repr__(self) -> str:
        return f"Case({self.source}: {self.name})"


def mutated(base: Any, change: Callable[[Any], None]) -> Any:
    data = copy.deepcopy(base)
    change(data)
    return data


def _set(path: Path, value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        get(data, path[:-1])[path[-1]] = value

    return change


def _delete(path: Path) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        del get(data, path[:-1])[path[-1]]

    return change


# Each JSON type's value given three others (null, a scalar, a container) in turn, round-robin
# over the rest, so every type meets every other across the corpus at a third of the cost.
OTHER_TYPES: dict[type, list[Any]] = {
    str: [None, True, 7, [], {}],
    bool: [None, "true", 1, [], {}],
    int: [None, True, "7", [7], {}],
    float: [None, False, "0.5", [], {}],
    list: [None, True, 7, "x", {}],
    dict: [None, True, 7, "x", []],
}


def other_types(value: Any, turn: int) -> list[Any]:
    others = OTHER_TYPES[type(value)]
    return [others[0], others[1 + turn % 2], others[3 + turn % 2]]


def per_kind(source: str, data: Any, limit: int = 1) -> Iterator[tuple[Path, str, Any]]:
    """(path, kind, object) for the first `limit` objects of each kind (the rest repeat them)."""
    seen: dict[str, int] = {}
    for path, value in nodes(data):
        kind = kind_of(path, value)
        if kind is None or seen.get(kind, 0) >= limit:
            continue
        seen[kind] = seen.get(kind, 0) + 1
        yield path, kind, value


def systematic(source: str, base: Any) -> Iterator[Case]:
    objects = list(per_kind(source, base))
    for path, kind, obj in objects:
        for key in sorted(required_keys(kind, obj) & set(obj)):
            yield Case(f"delete required {kind}.{key}", source, mutated(base, _delete([*path, key])), at=[[*path, key]])
        for turn, key in enumerate(sorted(obj)):
            value = obj[key]
            for other in other_types(value, turn):
                yield Case(
                    f"{kind}.{key} as {json.dumps(other)}",
                    source,
                    mutated(base, _set([*path, key], other)),
                    at=[[*path, key]],
                )
            if key in TEXT_KEYS and isinstance(value, str):
                for words in ("Reworded ✓ – “quoted” <b>not bold</b> 🙂", "x" * 2000):
                    yield Case(f"{kind}.{key} reworded", source, mutated(base, _set([*path, key], words)), valid=True)
                yield Case(
                    f"{kind}.{key} over 2000 characters",
                    source,
                    mutated(base, _set([*path, key], "x" * 2001)),
                    at=[[*path, key]],
                )
                yield Case(f"{kind}.{key} empty", source, mutated(base, _set([*path, key], "")), at=[[*path, key]])
                if key in ("hint", "description"):
                    yield Case(f"{kind}.{key} deleted", source, mutated(base, _delete([*path, key])), valid=True)
            if key == "score" and isinstance(value, (int, float)):
                for score in (-3, 0.25, 1e300):
                    yield Case(f"option score {score}", source, mutated(base, _set([*path, key], score)), valid=True)
                for bad in (float("nan"), float("inf"), 10**400):
                    yield Case(
                        f"option score {bad!r:.12}", source, mutated(base, _set([*path, key], bad)), at=[[*path, key]]
                    )
            if key == "weight":
                yield Case("weight 0.5", source, mutated(base, _set([*path, key], 0.5)), valid=True)
                yield Case("weight -1", source, mutated(base, _set([*path, key], -1)), at=[[*path, key]])
            if isinstance(value, list) and value:
                if key in NON_EMPTY:
                    yield Case(
                        f"{kind}.{key} emptied", source, mutated(base, _set([*path, key], [])), at=[[*path, key]]
                    )
                elif key in MAY_BE_EMPTY:
                    yield Case(
                        f"{kind}.{key} emptied", source, mutated(base, _set([*path, key], [])), valid=None, at=[[]]
                    )
        yield Case(
            f"unknown field on {kind}", source, mutated(base, _set([*path, "colur"], "red")), at=[[*path, "colur"]]
        )
    yield from references(source, base)
    yield from nesting(source, base)
    yield from texts(source, base)


def questions(data: Any) -> list[tuple[Path, dict[str, Any]]]:
    return [
        (["sections", s, "questions", q], question)
        for s, section in enumerate(data["sections"])
        for q, question in enumerate(section["questions"])
    ]


def references(source: str, base: Any) -> Iterator[Case]:
    """Duplicate ids, dangling references, conditions forward and in circles."""
    qs = questions(base)
    first, (last_path, last) = qs[0][1], qs[-1]
    yield Case(
        "duplicate question id", source, mutated(base, _set([*last_path, "id"], first["id"])), at=[[*last_path, "id"]]
    )
    if len(base["sections"]) > 1:
        yield Case(
            "duplicate section id",
            source,
            mutated(base, _set(["sections", 1, "id"], base["sections"][0]["id"])),
            at=[["sections", 1, "id"]],
        )
    for path, obj in nodes(base):
        if isinstance(obj, list) and len(obj) > 1 and all(isinstance(o, dict) and "value" in o for o in obj):
            yield Case(
                f"duplicate value in {json_path(path)}",
                source,
                mutated(base, _set([*path, 1, "value"], obj[0]["value"])),
                at=[[*path, 1]],
            )
            break
    for q_path, question in qs:
        for key, dangling in (
            ("scale", "no-such-scale"),
            ("evidence", "no-such-question"),
            ("action", "no-such-question"),
        ):
            if key in question:
                yield Case(
                    f"dangling {key}", source, mutated(base, _set([*q_path, key], dangling)), at=[[*q_path, key]]
                )
        if question.get("themes"):
            yield Case(
                "dangling theme",
                source,
                mutated(base, _set([*q_path, "themes", 0], "no-such-theme")),
                at=[[*q_path, "themes", 0]],
            )
        if question.get("rules"):
            yield Case(
                "dangling rule",
                source,
                mutated(base, _set([*q_path, "rules", 0], "no-such-rule")),
                at=[[*q_path, "rules", 0]],
            )
        if "show_if" in question:
            show_if = [*q_path, "show_if"]
            yield Case(
                "condition on a missing question",
                source,
                mutated(base, _set(show_if, {"question": "no-such-q", "answered": True})),
                at=[show_if],
            )
            yield Case(
                "condition on itself",
                source,
                mutated(base, _set(show_if, {"question": question["id"], "answered": True})),
                at=[show_if],
            )
            yield Case(
                "condition pointing forward",
                source,
                mutated(base, _set(show_if, {"question": last["id"], "answered": True})),
                at=[show_if],
            )
            yield Case("condition that is code", source, mutated(base, _set(show_if, "q1 == 'yes'")), at=[show_if])
            yield Case(
                "condition with two tests",
                source,
                mutated(base, _set(show_if, {"question": first["id"], "answered": True, "equals": "x"})),
                at=[show_if],
            )
            yield Case(
                "condition with an impossible value",
                source,
                mutated(base, _set([*show_if, "question"], first["id"])),
                valid=None,
                at=[show_if],
            )
    a, b = qs[1][0], qs[2][0]

    def cycle(data: Any) -> None:
        get(data, a)["show_if"] = {"question": get(data, b)["id"], "answered": True}
        get(data, b)["show_if"] = {"question": get(data, a)["id"], "answered": True}

    yield Case("conditions in a circle", source, mutated(base, cycle), at=[[*a, "show_if"], [*b, "show_if"]])
    if base.get("age_bands"):
        yield Case(
            "dangling age band",
            source,
            mutated(base, _set(["sections", 0, "age_bands"], ["age-99"])),
            at=[["sections", 0, "age_bands"]],
        )
        yield Case(
            "duplicate age band",
            source,
            mutated(base, _set(["age_bands", 1, "id"], base["age_bands"][0]["id"])),
            at=[["age_bands", 1, "id"]],
        )
    yield Case("version 0", source, mutated(base, _set(["version"], 0)), at=[["version"]])
    yield Case("schema_version 2", source, mutated(base, _set(["schema_version"], 2)), at=[["schema_version"]])
    yield Case("not an object", source, [base], at=[[]])
    yield Case("null", source, None, at=[[]])


def nesting(source: str, base: Any) -> Iterator[Case]:
    deep: Any = {"question": questions(base)[0][1]["id"], "answered": True}
    for _ in range(MAX_DEPTH + 5):
        deep = {"not": deep}
    path = [*questions(base)[1][0], "show_if"]
    yield Case("condition nested past MAX_DEPTH", source, mutated(base, _set(path, deep)), at=[path])
    nested: Any = "x"
    for _ in range(MAX_DEPTH + 5):
        nested = [nested]
    yield Case(
        "a value nested past MAX_DEPTH", source, mutated(base, _set(["description"], nested)), at=[["description"]]
    )
    fine: Any = {"question": questions(base)[0][1]["id"], "answered": True}
    for _ in range(20):
        fine = {"not": {"not": fine}}
    yield Case("a condition nested 40 deep", source, mutated(base, _set(path, fine)), valid=None, at=[path])


def texts(source: str, base: Any) -> Iterator[Case]:
    """Mutations of the file's bytes: what a text editor or a broken upload does."""
    text = json.dumps(base, indent=2, ensure_ascii=False)
    raw = text.encode("utf-8")
    for cut in (0, 1, len(raw) // 3, len(raw) // 2, len(raw) - 1):
        yield Case(f"cut at byte {cut}", source, raw=raw[:cut], at=[[]])
    yield Case("a byte-order mark", source, raw=b"\xef\xbb\xbf" + raw, valid=True)
    yield Case("compact", source, raw=json.dumps(base, separators=(",", ":")).encode(), valid=True)
    yield Case("two byte-order marks", source, raw=b"\xef\xbb\xbf\xef\xbb\xbf" + raw, at=[[]])
    yield Case("UTF-16", source, raw=text.encode("utf-16"), at=[[]])
    yield Case("a stray byte", source, raw=raw[:100] + b"\xff" + raw[100:], at=[[]])
    yield Case(
        "half a character",
        source,
        raw=raw.replace("–".encode(), b"\xe2\x80", 1) if "–" in text else b"\xe2\x80" + raw,
        at=[[]],
    )
    yield Case("a NUL byte", source, raw=raw.replace(b'"title": "', b'"title": "\x00', 1), at=[[]])
    yield Case("an escaped NUL", source, raw=raw.replace(b'"title": "', b'"title": "\\u0000', 1), at=[["title"]])
    yield Case(
        "an escaped lone surrogate", source, raw=raw.replace(b'"title": "', b'"title": "\\ud800', 1), at=[["title"]]
    )
    yield Case("a key twice", source, raw=raw.replace(b'"title": ', b'"title": "Again", "title": ', 1), at=[[]])
    for number in ("NaN", "Infinity", "-Infinity", "1e999", "1" * 5000):
        yield Case(
            f"version {number[:12]}",
            source,
            raw=re.sub(rb'"version": [0-9]+', f'"version": {number}'.encode(), raw, count=1),
            at=[[]],
        )
    yield Case("brackets past the parser's recursion", source, raw=b"[" * 100_000 + b"]" * 100_000, at=[[]])
    yield Case("a trailing comma", source, raw=raw.rstrip()[:-1] + b",}", at=[[]])
    yield Case("a comment", source, raw=b"// a definition\n" + raw, at=[[]])


# ---------------------------------------------------------------------------------------------
# Random stacked mutations
# ---------------------------------------------------------------------------------------------

RANDOM_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2.5,
    10**18,
    "",
    "x",
    "met",
    "yes",
    "s1.1",
    "Ω🙂",
    [],
    [1],
    {},
    {"a": 1},
]


def random_cases(count: int, seed: int = 11) -> Iterator[Case]:
    rng = random.Random(seed)
    sources = sorted(SHIPPED)
    for n in range(count):
        source = rng.choice(sources)
        data = copy.deepcopy(SHIPPED[source])
        places: list[Path] = []
        for _ in range(rng.randint(1, 3)):
            candidates = [p for p, _ in nodes(data) if p]
            path = rng.choice(candidates)
            parent = get(data, path[:-1])
            how = rng.randrange(4)
            if how == 0:
                del parent[path[-1]]
            elif how == 1:
                parent[path[-1]] = copy.deepcopy(rng.choice(RANDOM_VALUES))
            elif how == 2 and isinstance(parent, list):
                parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))  # a duplicate: same ids twice
            else:
                value = parent[path[-1]]
                parent[path[-1]] = {"wrapped": value} if rng.random() < 0.5 else [value]
            places.append(path)
        yield Case(f"random {n}: {' '.join(json_path(p) for p in places)}", source, data, valid=None, at=[])


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------

PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def parse_path(text: str) -> Path:
    assert text.startswith("$"), text
    parts: Path = []
    rest = text[1:]
    while rest:
        match = PART.match(rest)
        assert match, f"not a JSON path: {text}"
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        rest = rest[match.end() :]
    return parts


def resolves(data: Any, path: Path) -> bool:
    try:
        get(data, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def related(a: Path, b: Path) -> bool:
    """One path is the other or encloses it."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def run(case: Case) -> tuple[Any, DefinitionError | None]:
    """Load the case as the loader would; any exception but DefinitionError fails the test."""
    data = case.data
    try:
        if case.raw is not None:
            data, problems = parse_json(case.raw, case.source)
            if problems:
                raise DefinitionError(problems)
        load_definition(data, case.source, THEMES)
    except DefinitionError as error:
        return data, error
    return data, None


def check(case: Case) -> None:
    data, error = run(case)
    if case.valid is True:
        assert error is None, f"{case!r} should load:\n{error}"
        return
    if case.valid is False:
        assert error is not None, f"{case!r} loaded, but the definition is broken"
    if error is None:
        return
    assert error.problems, case
    lines = str(error).splitlines()
    assert lines[0].endswith("found in questionnaire definitions:")
    for problem, line in zip(error.problems, lines[1:], strict=True):
        assert line == f"{case.source}: {problem.path}: {problem.message}", line
        assert problem.file == case.source and problem.message.strip(), line
        path = parse_path(problem.path)
        assert resolves(data, path) or (path and resolves(data, path[:-1])), (
            f"{case!r}: {line} names no place in the file"
        )
    if case.at:
        paths = [parse_path(p.path) for p in error.problems]
        assert any(related(p, at) for p in paths for at in case.at), (
            f"{case!r}: no problem at {[json_path(a) for a in case.at]}:\n{error}"
        )


ALL_CASES = [case for source, base in SHIPPED.items() for case in systematic(source, base)]
RANDOM_CASES = list(random_cases(300))


def test_the_corpus_is_large_and_every_base_loads() -> None:
    assert len(ALL_CASES) + len(RANDOM_CASES) > 800
    for source, base in SHIPPED.items():
        assert run(Case("unchanged", source, base))[1] is None, source


@pytest.mark.parametrize("source", sorted(SHIPPED))
def test_systematic_mutations_are_refused_with_a_path_or_load_when_harmless(source: str) -> None:
    for case in ALL_CASES:
        if case.source == source:
            check(case)


def test_random_mutations_never_crash_the_checker() -> None:
    for case in RANDOM_CASES:
        check(case)
