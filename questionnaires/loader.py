"""Read definition files, check them, and return frozen Questionnaire objects.

The order is: parse the JSON (refusing duplicate keys, which json.load would silently merge),
check the structure against schema.json, run the semantic checks, and only when nothing at all
was found build the objects. Any problem raises one DefinitionError listing every problem in
every file, so an administrator sees the whole list at once and a broken file never loads.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from questionnaires.build import build
from questionnaires.checks import semantic_problems
from questionnaires.errors import DefinitionError, PathPart, Problem, json_path
from questionnaires.model import Questionnaire, Theme
from questionnaires.schema_check import schema_problems

PACKAGE_DIR = Path(__file__).parent
DEFINITIONS_DIR = PACKAGE_DIR / "definitions"
THEMES_FILE = PACKAGE_DIR / "themes.json"
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64  # far more than any real definition; deeper data would exhaust the checkers' recursion
MAX_DIGITS = 300  # a whole number longer than this is no setting; Python refuses to read 4,300 digits


class _DuplicateKey(ValueError):
    pass


class _NotANumber(ValueError):
    pass


class _TooManyDigits(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _NotANumber(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotANumber(text)
    return value


def _whole(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _TooManyDigits(len(text.lstrip("-")))
    return int(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def parse_json(text: str | bytes, source: str) -> tuple[Any, list[Problem]]:
    """Parse JSON text; on failure return the problem, said so that it can be fixed."""
    if len(text) > MAX_FILE_BYTES:
        return None, [Problem(source, "$", f"the file is larger than {MAX_FILE_BYTES // 1024} KB")]
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")  # a byte-order mark, as some Windows editors write, is fine
        return (
            json.loads(
                text,
                object_pairs_hook=_no_duplicates,
                parse_constant=_no_constants,
                parse_float=_finite,
                parse_int=_whole,
            ),
            [],
        )
    except UnicodeDecodeError:
        return None, [Problem(source, "$", "the file is not UTF-8 text")]
    except _DuplicateKey as exc:
        return None, [Problem(source, "$", f"the key '{exc}' appears twice in one object; keep one")]
    except _TooManyDigits as exc:
        return None, [Problem(source, "$", f"a number {exc} digits long is far too large; no definition needs one")]
    except _NotANumber as exc:
        return None, [Problem(source, "$", f"not valid JSON: {exc} is not a number JSON allows; write a number")]
    except json.JSONDecodeError as exc:
        return None, [Problem(source, "$", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]
    except RecursionError:
        return None, [Problem(source, "$", "the JSON is nested too deeply")]


def _read(path: Path) -> tuple[Any, list[Problem]]:
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, [Problem(source, "$", f"the file is larger than {MAX_FILE_BYTES // 1024} KB")]
        return parse_json(path.read_bytes(), source)
    except OSError as exc:
        return None, [Problem(source, "$", f"cannot read the file: {exc.strerror or exc}")]


def _problems(source: str, found: Iterable[tuple[list[PathPart], str]]) -> list[Problem]:
    return [Problem(source, json_path(path), message) for path, message in found]


def load_themes(path: Path = THEMES_FILE) -> dict[str, Theme]:
    """The theme catalogue every question's theme tags must resolve in."""
    data, problems = _read(path)
    source = str(path)
    themes: dict[str, Theme] = {}
    if data is not None:
        items = data.get("themes") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            problems.append(Problem(source, "$.themes", "must be a non-empty list of themes"))
            items = []
        for i, item in enumerate(items):
            if not (isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("label"), str)):
                problems.append(Problem(source, f"$.themes[{i}]", "each theme needs an 'id' and a 'label'"))
            elif item["id"] in themes:
                problems.append(Problem(source, f"$.themes[{i}].id", f"theme '{item['id']}' is listed twice"))
            else:
                themes[item["id"]] = Theme(item["id"], item["label"], item.get("description", ""))
    if problems:
        raise DefinitionError(problems)
    return themes


def _too_deep(data: Any) -> list[PathPart] | None:
    """The path of a value nested more than MAX_DEPTH levels deep, if there is one."""
    stack: list[tuple[Any, list[PathPart]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        if isinstance(value, dict):
            stack.extend((v, [*path, k]) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(value))
    return None


def _not_text(value: str) -> bool:
    """NUL, which PostgreSQL's text refuses, or half a surrogate pair (`"\\ud800"` in JSON), which
    no UTF-8 encoder will write."""
    return "\x00" in value or not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value)


def _unusable_values(data: Any) -> Iterable[tuple[list[PathPart], str]]:
    """Values nothing downstream can use: numbers no arithmetic can (NaN, infinities, whole
    numbers past the float range), and text no database can store.

    Text parsed by `parse_json` never holds such numbers, but data handed to `load_definition` may.
    """
    stack: list[tuple[Any, list[PathPart]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str) and _not_text(value):
            yield path, "holds a character that is not text (NUL, or half of a surrogate pair); remove it"
        elif isinstance(value, float) and not math.isfinite(value):
            yield path, f"{value} is not a number JSON allows; write a number"
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
            yield path, "is far too large a number; no definition needs one"
        elif isinstance(value, dict):
            if any(_not_text(k) for k in value if isinstance(k, str)):
                yield path, "a key holds a character that is not text (NUL, or half of a surrogate pair); remove it"
            stack.extend((v, [*path, k]) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(value))


def check_definition(data: Any, source: str, themes: Mapping[str, Theme] | None) -> list[Problem]:
    """Every problem in one parsed definition, structural and semantic."""
    deep = _too_deep(data)
    if deep is not None:
        return [Problem(source, json_path(deep), f"nested more than {MAX_DEPTH} levels deep; no definition needs that")]
    unusable = _problems(source, _unusable_values(data))
    if unusable:  # NaN passes every comparison in the checks, 10**400 breaks float(), NUL breaks storage
        return unusable
    found = _problems(source, schema_problems(data))
    found += _problems(source, semantic_problems(data, themes))
    return sorted(set(found), key=lambda p: (_natural(p.path), p.message))


def _natural(path: str) -> list[Any]:
    """Sort key that puts `sections[2]` before `sections[10]`."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def load_definition(
    data: Any, source: str = "<definition>", themes: Mapping[str, Theme] | None = None
) -> Questionnaire:
    """Check parsed JSON and build its Questionnaire, or raise DefinitionError."""
    themes = load_themes() if themes is None else themes
    problems = check_definition(data, source, themes)
    if problems:
        raise DefinitionError(problems)
    return build(data, source)


def load_file(path: str | Path, themes: Mapping[str, Theme] | None = None) -> Questionnaire:
    return load_files([path], themes=themes)[0]


def load_files(
    paths: Iterable[str | Path],
    themes: Mapping[str, Theme] | None = None,
    context: Iterable[Questionnaire] = (),
) -> list[Questionnaire]:
    """Load several files together, so that references between them are checked too.

    `context` holds questionnaires already loaded (the shipped ones) that the files may refer
    to; a file with the same id and version as one of them takes its place.
    """
    themes = load_themes() if themes is None else themes
    problems: list[Problem] = []
    checked: list[tuple[str, dict[str, Any]]] = []
    for path in map(Path, paths):
        data, read_problems = _read(path)
        if read_problems:
            problems += read_problems
            continue
        found = check_definition(data, str(path), themes)
        problems += found
        if not found:
            checked.append((str(path), data))
    questionnaires = [build(data, source) for source, data in checked]
    mine = {q.key for q in questionnaires}
    others = [q for q in context if q.key not in mine]
    sources = {q.source for q in questionnaires}
    problems += [p for p in cross_file_problems(questionnaires + others) if p.file in sources]
    if problems:
        raise DefinitionError(problems)
    return questionnaires


def load_all(
    directory: str | Path = DEFINITIONS_DIR, themes: Mapping[str, Theme] | None = None
) -> dict[str, Questionnaire]:
    """Every definition in a folder, keyed `id@version`; the newest version of each also under its id."""
    paths = sorted(Path(directory).glob("*.json"))
    if not paths:
        raise DefinitionError([Problem(str(directory), "$", "no questionnaire definitions (*.json) found here")])
    loaded = load_files(paths, themes=themes)
    by_key: dict[str, Questionnaire] = {}
    for questionnaire in sorted(loaded, key=lambda q: (q.id, q.version)):
        by_key[questionnaire.key] = questionnaire
        by_key[questionnaire.id] = questionnaire
    return by_key


def cross_file_problems(questionnaires: list[Questionnaire]) -> list[Problem]:
    """Checks that need several files: one file per id and version, matches and same_as links."""
    problems: list[Problem] = []
    by_key: dict[str, Questionnaire] = {}
    newest: dict[str, Questionnaire] = {}
    for q in questionnaires:
        if q.key in by_key:
            problems.append(
                Problem(
                    q.source, "$.version", f"version {q.version} of '{q.id}' is also defined in {by_key[q.key].source}"
                )
            )
            continue
        by_key[q.key] = q
        if q.id not in newest or newest[q.id].version < q.version:
            newest[q.id] = q
    for q in by_key.values():
        for section in q.sections:
            for index, question in enumerate(section.questions):
                path = f"$.sections[{section.position}].questions[{index}]"
                if question.matches is not None:
                    target = newest.get(question.matches.questionnaire)
                    if target is None:
                        problems.append(
                            Problem(
                                q.source,
                                f"{path}.matches.questionnaire",
                                f"questionnaire '{question.matches.questionnaire}' is not among the files checked",
                            )
                        )
                    elif target.section(question.matches.section) is None:
                        problems.append(
                            Problem(
                                q.source,
                                f"{path}.matches.section",
                                f"questionnaire '{target.id}' has no section '{question.matches.section}'",
                            )
                        )
                if question.same_as is not None:
                    earlier = by_key.get(f"{q.id}@{question.same_as.version}")
                    if earlier is not None and earlier.question(question.same_as.question) is None:
                        problems.append(
                            Problem(
                                q.source,
                                f"{path}.same_as.question",
                                f"version {earlier.version} of '{q.id}' has no question '{question.same_as.question}'",
                            )
                        )
    return problems
