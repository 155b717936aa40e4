"""Semantic checks the schema cannot express: ids, references, conditions, rules.

They run on the raw JSON even when the schema check found problems, so that one run reports
everything; every access is therefore defensive about shapes the schema would have refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from questionnaires.conditions import COMPARISONS, leaves, referenced_questions
from questionnaires.errors import PathPart, json_path

Found = tuple[list[PathPart], str]

QUESTION_RULE_KINDS = {"evidence_for_met", "not_applicable_reason", "evidence_age", "action_for_shortfall"}
SECTION_RULE_KINDS = {"standard_rating", "triangulation"}
QUESTIONNAIRE_RULE_KINDS = {"action_progress"}
RULE_KINDS = QUESTION_RULE_KINDS | SECTION_RULE_KINDS | QUESTIONNAIRE_RULE_KINDS
YES_NO_VALUES = ("yes", "no")
DONT_KNOW_VALUE = "dont-know"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # the schema's iso_date pattern


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@dataclass
class QuestionInfo:
    """A question's raw data with where it stands in the file."""

    raw: dict[str, Any]
    path: list[PathPart]
    position: int
    section_id: str | None
    section_index: int


@dataclass
class Context:
    data: dict[str, Any]
    themes: Mapping[str, Any] | None
    questions: dict[str, QuestionInfo] = field(default_factory=dict)

    @property
    def scales(self) -> dict[str, Any]:
        return _dict(self.data.get("scales"))

    @property
    def rules(self) -> dict[str, Any]:
        return _dict(self.data.get("rules"))

    def options_of(self, raw: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The option list a choice question offers, or None when that cannot be known."""
        kind = raw.get("type")
        if kind == "yes_no":
            values = [*YES_NO_VALUES, DONT_KNOW_VALUE] if raw.get("dont_know") else list(YES_NO_VALUES)
            return [{"value": v} for v in values]
        if kind not in ("single_choice", "multiple_choice", "rating"):
            return None
        if "options" in raw:
            return [o for o in _list(raw["options"]) if isinstance(o, dict)]
        scale = self.scales.get(raw.get("scale")) if isinstance(raw.get("scale"), str) else None
        if isinstance(scale, dict):
            return [o for o in _list(scale.get("options")) if isinstance(o, dict)]
        return None


def semantic_problems(data: Any, themes: Mapping[str, Any] | None) -> Iterator[Found]:
    """Every semantic problem in a definition's raw JSON, as (path, message)."""
    if not isinstance(data, dict):
        return
    ctx = Context(data=data, themes=themes)
    yield from _identity(ctx)
    yield from _scales(ctx)
    yield from _sections_and_ids(ctx)
    yield from _questions(ctx)
    yield from _conditions(ctx)
    yield from _rules(ctx)


def _identity(ctx: Context) -> Iterator[Found]:
    data = ctx.data
    audience = data.get("audience")
    bands = _list(data.get("age_bands"))
    if audience == "child" and not bands:
        yield ["age_bands"], "a child survey must say which age bands it serves"
    if audience != "child" and "age_bands" in data and audience in ("agency", "practitioner", "family"):
        yield ["age_bands"], "age bands only apply to child surveys"
    if audience in ("child", "family") and "support" not in data:
        yield ["support"], "a child or family survey must tell people who to talk to if they are worried"
    if audience in ("child", "family") and data.get("anonymous") is False:
        yield ["anonymous"], "child and family surveys must be anonymous"
    if audience == "agency" and data.get("anonymous") is True:
        yield ["anonymous"], "an agency self-audit is answered by named staff and cannot be anonymous"
    seen: set[str] = set()
    for i, band in enumerate(bands):
        band = _dict(band)
        band_id = band.get("id")
        if isinstance(band_id, str):
            if band_id in seen:
                yield ["age_bands", i, "id"], f"age band '{band_id}' is declared twice"
            seen.add(band_id)
        low, high = band.get("min_age"), band.get("max_age")
        if _number(low) and _number(high) and low > high:
            yield ["age_bands", i], f"min_age {low} is above max_age {high}"


def _scales(ctx: Context) -> Iterator[Found]:
    for name, scale in ctx.scales.items():
        options = _list(_dict(scale).get("options"))
        if isinstance(scale, dict) and isinstance(scale.get("options"), list) and not options:
            yield ["scales", name, "options"], f"scale '{name}' has no options"
        yield from _option_list(options, ["scales", name, "options"])


def _option_list(options: list[Any], path: list[PathPart], scored: bool = True) -> Iterator[Found]:
    seen: set[str] = set()
    dont_know = not_applicable = 0
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        value = option.get("value")
        if isinstance(value, str):
            if value in seen:
                yield [*path, i, "value"], f"option value '{value}' is used twice in this list"
            seen.add(value)
        out_of_base = bool(option.get("dont_know")) or bool(option.get("not_applicable"))
        if option.get("dont_know") and option.get("not_applicable"):
            yield [*path, i], "an option cannot be both 'don't know' and 'not applicable'"
        dont_know += bool(option.get("dont_know"))
        not_applicable += bool(option.get("not_applicable"))
        if out_of_base and "score" in option:
            yield (
                [*path, i, "score"],
                "a 'don't know' or 'not applicable' option must not have a score: it is kept out of the base",
            )
        if scored and not out_of_base and "score" not in option:
            yield (
                [*path, i, "score"],
                "is required but missing: every option except 'don't know' and 'not applicable' needs a score",
            )
        if out_of_base and option.get("positive"):
            yield [*path, i, "positive"], "a 'don't know' or 'not applicable' option cannot count as positive"
    if dont_know > 1:
        yield path, "more than one option is marked 'don't know'"
    if not_applicable > 1:
        yield path, "more than one option is marked 'not applicable'"


def _sections_and_ids(ctx: Context) -> Iterator[Found]:
    section_ids: set[str] = set()
    first_path: dict[str, list[PathPart]] = {}
    position = 0
    for s_index, section in enumerate(_list(ctx.data.get("sections"))):
        if not isinstance(section, dict):
            continue
        section_id = section.get("id") if isinstance(section.get("id"), str) else None
        if section_id is not None:
            if section_id in section_ids:
                yield ["sections", s_index, "id"], f"section id '{section_id}' is used twice"
            section_ids.add(section_id)
        questions = section.get("questions")
        if isinstance(questions, list) and not questions:
            yield ["sections", s_index, "questions"], f"section '{section_id}' has no questions"
        for q_index, question in enumerate(_list(questions)):
            if not isinstance(question, dict):
                continue
            path: list[PathPart] = ["sections", s_index, "questions", q_index]
            question_id = question.get("id")
            if not isinstance(question_id, str):
                continue
            if question_id in ctx.questions:
                where = first_path[question_id]
                yield [*path, "id"], f"question id '{question_id}' is already used at {json_path(where)}"
                continue
            ctx.questions[question_id] = QuestionInfo(question, path, position, section_id, s_index)
            first_path[question_id] = path
            position += 1
        for band in _list(section.get("age_bands")):
            yield from _band_ref(ctx, band, ["sections", s_index, "age_bands"])


def _band_ref(ctx: Context, band: Any, path: list[PathPart]) -> Iterator[Found]:
    known = [_dict(b).get("id") for b in _list(ctx.data.get("age_bands"))]
    if isinstance(band, str) and band not in known:
        yield path, f"age band '{band}' is not declared in age_bands"


def _questions(ctx: Context) -> Iterator[Found]:
    for info in ctx.questions.values():
        raw, path = info.raw, info.path
        kind = raw.get("type")
        if ctx.themes is not None:
            for i, theme in enumerate(_list(raw.get("themes"))):
                if isinstance(theme, str) and theme not in ctx.themes:
                    yield (
                        [*path, "themes", i],
                        f"theme '{theme}' is not in the theme catalogue (questionnaires/themes.json)",
                    )
        for band in _list(raw.get("age_bands")):
            yield from _band_ref(ctx, band, [*path, "age_bands"])
        scale = raw.get("scale")
        if isinstance(scale, str) and scale not in ctx.scales:
            yield [*path, "scale"], f"scale '{scale}' is not defined in scales"
        if kind in ("single_choice", "multiple_choice") and isinstance(raw.get("options"), list):
            if not raw["options"]:
                yield [*path, "options"], "the list of options is empty"
            yield from _option_list(raw["options"], [*path, "options"], scored=raw.get("scored", True) is not False)
        if kind == "multiple_choice":
            options = ctx.options_of(raw)
            low, high = raw.get("min_selected"), raw.get("max_selected")
            if _number(low) and _number(high) and low > high:
                yield [*path, "min_selected"], f"min_selected {low} is above max_selected {high}"
            if options is not None and _number(high) and high > len(options):
                yield [*path, "max_selected"], f"max_selected {high} is more than the {len(options)} options offered"
        if kind == "rating":
            for link, wanted in (("evidence", "evidence"), ("action", "action")):
                target = raw.get(link)
                if not isinstance(target, str):
                    continue
                other = ctx.questions.get(target)
                if other is None:
                    yield [*path, link], f"question '{target}' does not exist"
                elif other.raw.get("type") != wanted:
                    yield [*path, link], f"question '{target}' is not an {wanted} question"
                elif other.section_id != info.section_id:
                    yield (
                        [*path, link],
                        f"question '{target}' is in another section; an item's {wanted} belongs with it",
                    )
        if kind == "number":
            low, high = raw.get("min"), raw.get("max")
            if _number(low) and _number(high) and low > high:
                yield [*path, "min"], f"min {low} is above max {high}"
        if kind == "date":
            low, high = _iso_date(raw.get("not_before")), _iso_date(raw.get("not_after"))
            for key in ("not_before", "not_after"):
                if (
                    key in raw
                    and isinstance(raw[key], str)
                    and _ISO_DATE.fullmatch(raw[key])
                    and _iso_date(raw[key]) is None
                ):
                    yield [*path, key], f"{raw[key]!r} is not a real date"
            if low and high and low > high:
                yield [*path, "not_before"], f"not_before {low} is after not_after {high}"
        if kind == "evidence":
            types = _list(raw.get("evidence_types"))
            if "evidence_types" in raw and isinstance(raw["evidence_types"], list) and not types:
                yield [*path, "evidence_types"], "the list of evidence types is empty"
            seen: set[str] = set()
            for i, item in enumerate(types):
                value = _dict(item).get("value")
                if isinstance(value, str):
                    if value in seen:
                        yield [*path, "evidence_types", i, "value"], f"evidence type '{value}' is listed twice"
                    seen.add(value)
        same_as = _dict(raw.get("same_as"))
        version = ctx.data.get("version")
        if _number(same_as.get("version")) and _number(version) and same_as["version"] >= version:
            yield [*path, "same_as", "version"], f"must name an earlier version than this one ({version})"


def _conditions(ctx: Context) -> Iterator[Found]:
    graph: dict[str, list[str]] = {}
    for question_id, info in ctx.questions.items():
        targets: list[str] = []
        for key in ("show_if", "required_if"):
            condition = info.raw.get(key)
            if isinstance(condition, dict):
                targets += referenced_questions(_safe(condition))
        graph[question_id] = [t for t in targets if t in ctx.questions]

    in_cycle: set[tuple[str, str]] = set()
    for cycle in _cycles(graph):
        for a, b in zip(cycle, cycle[1:], strict=False):
            in_cycle.add((a, b))
        start = ctx.questions[cycle[0]]
        key = next(  # the condition that takes the first step round the circle
            (
                k
                for k in ("show_if", "required_if")
                if isinstance(start.raw.get(k), dict) and cycle[1] in referenced_questions(_safe(start.raw[k]))
            ),
            "show_if",
        )
        if len(cycle) == 2:
            yield (
                [*start.path, key],
                f"refers to question '{cycle[0]}' itself; conditions may only look at earlier questions",
            )
            continue
        yield [*start.path, key], "conditions go round in a circle: " + " -> ".join(cycle)

    for question_id, info in ctx.questions.items():
        for key in ("show_if", "required_if"):
            condition = info.raw.get(key)
            if not isinstance(condition, dict):
                continue
            for leaf in leaves(_safe(condition)):
                target = leaf.get("question")
                if not isinstance(target, str):
                    continue
                here = [*info.path, key]
                other = ctx.questions.get(target)
                if other is None:
                    yield here, f"refers to question '{target}', which does not exist"
                    continue
                if (question_id, target) in in_cycle:
                    continue
                if other.position >= info.position:
                    yield (
                        here,
                        f"refers to question '{target}', which comes after this question; conditions may only look at earlier questions",
                    )
                    continue
                yield from _leaf_values(ctx, leaf, other.raw, here)


def _safe(condition: dict[str, Any]) -> dict[str, Any]:
    """Drop the malformed parts of a condition so that walking it cannot fail."""
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        return {key: [_safe(c) for c in _list(condition[key]) if isinstance(c, dict)]}
    if "not" in condition:
        return {"not": _safe(_dict(condition["not"]))}
    return condition if isinstance(condition.get("question"), str) else {"all": []}


def _cycles(graph: dict[str, list[str]]) -> Iterator[list[str]]:
    """Each elementary cycle once, found by depth-first search (graphs here are tiny)."""
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> Iterator[list[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    yield cycle
            elif nxt not in state:
                yield from visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            yield from visit(node)


def _leaf_values(ctx: Context, leaf: dict[str, Any], target: dict[str, Any], path: list[PathPart]) -> Iterator[Found]:
    """A leaf test must compare with values that its question can actually take."""
    kind = target.get("type")
    name = target.get("id")
    options = ctx.options_of(target)
    operands: list[Any] = []
    if "equals" in leaf:
        operands = [leaf["equals"]]
    elif "in" in leaf:
        operands = _list(leaf["in"])
    for value in operands:
        if options is not None:
            if not options:
                continue  # an empty option list is reported on its own
            values = [o.get("value") for o in options]
            if value not in values:
                yield (
                    path,
                    f"question '{name}' cannot be answered {value!r}; its values are: {', '.join(map(str, values))}",
                )
        elif kind == "number":
            if not _number(value):
                yield path, f"question '{name}' takes a number, so it can never equal {value!r}"
            elif (_number(target.get("min")) and value < target["min"]) or (
                _number(target.get("max")) and value > target["max"]
            ):
                yield (
                    path,
                    f"question '{name}' only takes numbers from {target.get('min')} to {target.get('max')}, never {value!r}",
                )
        elif kind == "date":
            if _iso_date(value) is None:
                yield path, f"question '{name}' takes a date, so compare with a date written YYYY-MM-DD, not {value!r}"
        elif kind in ("evidence", "action"):
            yield path, f"question '{name}' is a list or a group of fields; test it with 'answered' only"
        elif not isinstance(value, str):
            yield path, f"question '{name}' takes text, so it can never equal {value!r}"
    for op in COMPARISONS:
        if op not in leaf:
            continue
        value = leaf[op]
        if kind == "number":
            if not _number(value):
                yield path, f"'{op}' on number question '{name}' needs a number, not {value!r}"
        elif kind == "date":
            if _iso_date(value) is None:
                yield path, f"'{op}' on date question '{name}' needs a date written YYYY-MM-DD, not {value!r}"
        else:
            yield path, f"'{op}' only compares numbers and dates, and question '{name}' is a {kind} question"


def _rules(ctx: Context) -> Iterator[Found]:
    rules = ctx.rules
    uses: list[tuple[str, list[PathPart], str, Any]] = []  # (rule id, path, level, owner)
    for info in ctx.questions.values():
        for i, rule_id in enumerate(_list(info.raw.get("rules"))):
            uses.append((rule_id, [*info.path, "rules", i], "question", info))
    for s_index, section in enumerate(_list(ctx.data.get("sections"))):
        for i, rule_id in enumerate(_list(_dict(section).get("rules"))):
            uses.append((rule_id, ["sections", s_index, "rules", i], "section", _dict(section)))
    for i, rule_id in enumerate(_list(ctx.data.get("questionnaire_rules"))):
        uses.append((rule_id, ["questionnaire_rules", i], "questionnaire", None))

    for rule_id, path, level, owner in uses:
        if not isinstance(rule_id, str):
            continue
        rule = rules.get(rule_id)
        if not isinstance(rule, dict):
            yield path, f"rule '{rule_id}' is not declared in rules"
            continue
        kind = rule.get("kind")
        if not isinstance(kind, str) or kind not in RULE_KINDS:
            continue  # the schema check reports an unknown kind; naming a level here would mislead
        allowed = {
            "question": QUESTION_RULE_KINDS,
            "section": SECTION_RULE_KINDS,
            "questionnaire": QUESTIONNAIRE_RULE_KINDS,
        }[level]
        if kind not in allowed:
            where = {"question": "a question", "section": "a section", "questionnaire": "the whole questionnaire"}
            yield path, f"rule '{rule_id}' ({kind}) cannot apply to {where[level]}"
            continue
        if level == "question":
            yield from _question_rule(ctx, rule_id, rule, owner, path)
        elif level == "section":
            ratings = [
                ctx.questions[q["id"]].raw
                for q in _list(owner.get("questions"))
                if isinstance(q, dict)
                and q.get("type") == "rating"
                and isinstance(q.get("id"), str)
                and q["id"] in ctx.questions
            ]
            if not ratings:
                yield path, f"rule '{rule_id}' needs rating questions in this section"
            for raw in ratings:
                yield from _named_values(ctx, rule_id, rule, raw, path)

    for rule_id, rule in rules.items():
        rule = _dict(rule)
        if rule.get("kind") == "action_progress":
            red, green = rule.get("red_below"), rule.get("green_from")
            if _number(red) and _number(green) and red > green:
                yield ["rules", rule_id], f"red_below {red} is above green_from {green}"
        if rule.get("kind") == "standard_rating":
            scores = [_dict(t).get("min_score") for t in _list(rule.get("thresholds"))]
            numbers = [s for s in scores if _number(s)]
            if numbers != sorted(numbers, reverse=True):
                yield (
                    ["rules", rule_id, "thresholds"],
                    "thresholds must be listed from the highest min_score to the lowest",
                )


def _question_rule(
    ctx: Context, rule_id: str, rule: dict[str, Any], info: QuestionInfo, path: list[PathPart]
) -> Iterator[Found]:
    raw = info.raw
    kind = rule.get("kind")
    if raw.get("type") != "rating":
        yield path, f"rule '{rule_id}' ({kind}) only applies to rating questions"
        return
    if kind in ("evidence_for_met", "evidence_age") and not raw.get("evidence"):
        yield path, f"rule '{rule_id}' ({kind}) needs the question to name its evidence question ('evidence')"
    if kind == "action_for_shortfall" and not raw.get("action"):
        yield path, f"rule '{rule_id}' ({kind}) needs the question to name its action question ('action')"
    if kind == "not_applicable_reason":
        options = ctx.options_of(raw)
        if options is not None and not any(o.get("not_applicable") for o in options):
            yield path, f"rule '{rule_id}' ({kind}) needs a scale with a 'not applicable' option"
    if kind == "evidence_age":
        evidence = ctx.questions.get(raw.get("evidence")) if isinstance(raw.get("evidence"), str) else None
        if evidence is not None:
            known = [_dict(t).get("value") for t in _list(evidence.raw.get("evidence_types"))]
            for value in _list(rule.get("evidence_types")):
                if value not in known:
                    yield (
                        path,
                        f"rule '{rule_id}' names evidence type '{value}', which question '{evidence.raw.get('id')}' does not offer",
                    )
    yield from _named_values(ctx, rule_id, rule, raw, path)


def _named_values(
    ctx: Context, rule_id: str, rule: dict[str, Any], raw: dict[str, Any], path: list[PathPart]
) -> Iterator[Found]:
    """Values a rule's settings name must be options of the question it is applied to."""
    options = ctx.options_of(raw)
    if options is None:
        return
    values = [o.get("value") for o in options]
    named = [rule.get(k) for k in ("met", "downgrade_to") if isinstance(rule.get(k), str)]
    named += [v for v in _list(rule.get("shortfall")) if isinstance(v, str)]
    named += [_dict(t).get("rating") for t in _list(rule.get("thresholds")) if isinstance(_dict(t).get("rating"), str)]
    for value in named:
        if value not in values:
            yield path, f"rule '{rule_id}' names the rating '{value}', which question '{raw.get('id')}' cannot be given"
