"""Loading definition files: every broken fixture is refused with the right path and words, the
shipped definitions load, cross-file references are checked and the result is frozen."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from questionnaires import DefinitionError, Problem, load_all, load_definition, load_file, load_files
from questionnaires.loader import DEFINITIONS_DIR, MAX_DEPTH, MAX_FILE_BYTES, parse_json
from tests.conftest import FIXTURES

MINIMAL = FIXTURES / "questionnaires" / "minimal.json"
INVALID = FIXTURES / "questionnaires" / "invalid"

# (fixture file, expected JSON path, words the message must contain). Each fixture is minimal.json
# with exactly one defect, so each must give exactly one problem.
CASES: list[tuple[str, str, list[str]]] = [
    # parsing
    ("invalid-json.json", "$", ["not valid JSON", "line 5"]),
    ("duplicate-json-key.json", "$", ["'title'", "twice"]),
    ("nan-score.json", "$", ["NaN", "number"]),
    # the whole file
    ("missing-title.json", "$.title", ["required", "missing"]),
    ("wrong-type-version.json", "$.version", ["whole number", '"1"']),
    ("wrong-schema-version.json", "$.schema_version", ["must be 1", "not 2"]),
    ("bad-questionnaire-id.json", "$.id", ["Minimal_Survey", "lower-case"]),
    ("unknown-audience.json", "$.audience", ["parents", "agency", "practitioner", "child", "family"]),
    ("unknown-field.json", "$.scales.rating.options[0].colur", ["unknown field", "colour"]),
    ("anonymous-agency.json", "$.anonymous", ["agency", "cannot be anonymous"]),
    ("child-without-age-bands.json", "$.age_bands", ["child survey", "age bands"]),
    ("age-bands-on-agency.json", "$.age_bands", ["only apply to child surveys"]),
    # ids
    (
        "duplicate-question-id.json",
        "$.sections[1].questions[1].id",
        ["'colour'", "already used", "$.sections[0].questions[0]"],
    ),
    ("duplicate-section-id.json", "$.sections[1].id", ["'first'", "twice"]),
    ("duplicate-option-value.json", "$.sections[0].questions[0].options[1].value", ["'red'", "twice"]),
    ("duplicate-evidence-type.json", "$.sections[0].questions[3].evidence_types[1].value", ["'policy'", "twice"]),
    # references
    ("dangling-scale.json", "$.sections[0].questions[5].scale", ["'ratings'", "not defined"]),
    ("dangling-theme.json", "$.sections[0].questions[0].themes[0]", ["'leadershp'", "theme catalogue"]),
    ("dangling-condition-question.json", "$.sections[1].questions[1].show_if", ["'agreed'", "does not exist"]),
    ("dangling-rule.json", "$.sections[0].rules[0]", ["'standard-ratings'", "not declared"]),
    ("dangling-evidence-link.json", "$.sections[0].questions[2].evidence", ["'item-evidences'", "does not exist"]),
    ("action-link-wrong-type.json", "$.sections[0].questions[2].action", ["'item-evidence'", "not an action question"]),
    # conditions
    ("forward-condition.json", "$.sections[0].questions[0].show_if", ["'agree'", "comes after", "earlier questions"]),
    ("circular-condition.json", "$.sections[1].questions[1].show_if", ["circle", "why -> story -> why"]),
    (
        "circular-condition-through-required-if.json",
        "$.sections[1].questions[1].required_if",
        ["circle", "why -> story -> why"],
    ),
    ("self-condition.json", "$.sections[1].questions[2].show_if", ["'story'", "itself"]),
    (
        "impossible-condition-value.json",
        "$.sections[1].questions[1].show_if",
        ["'agree'", "'maybe'", "yes, no, dont-know"],
    ),
    ("impossible-condition-number.json", "$.sections[1].questions[4].required_if", ["'staff'", "0 to 1000", "5000"]),
    ("comparison-on-text.json", "$.sections[1].questions[2].show_if", ["'gt'", "numbers and dates", "short_text"]),
    ("comparison-with-bad-date.json", "$.sections[1].questions[6].show_if", ["'gte'", "YYYY-MM-DD", "2020-13-01"]),
    ("malformed-condition.json", "$.sections[1].questions[1].show_if", ["not a valid condition", "exactly one of"]),
    # questions
    ("unknown-question-type.json", "$.sections[1].questions[2].type", ["unknown question type", "paragraph"]),
    ("missing-measure.json", "$.sections[1].questions[3].measure", ["required", "missing"]),
    ("empty-choice-list.json", "$.sections[0].questions[0].options", ["options", "empty"]),
    ("choice-without-options-or-scale.json", "$.sections[0].questions[0]", ["'options' or 'scale'"]),
    ("empty-section.json", "$.sections[1].questions", ["'second'", "no questions"]),
    ("non-numeric-score.json", "$.sections[0].questions[0].options[0].score", ["should be a number", '"0"']),
    ("missing-score.json", "$.sections[0].questions[0].options[0].score", ["required", "needs a score"]),
    ("score-on-dont-know.json", "$.sections[0].questions[1].options[2].score", ["must not have a score"]),
    ("two-dont-know-options.json", "$.sections[0].questions[1].options", ["more than one", "don't know"]),
    (
        "min-selected-above-max-selected.json",
        "$.sections[0].questions[1].min_selected",
        ["min_selected 3", "max_selected 2"],
    ),
    ("max-selected-too-many.json", "$.sections[0].questions[1].max_selected", ["max_selected 4", "3 options"]),
    ("number-min-above-max.json", "$.sections[1].questions[3].min", ["min 2000", "max 1000"]),
    ("bad-date.json", "$.sections[1].questions[5].not_before", ["2000-02-30", "not a real date"]),
    ("bad-date-format.json", "$.sections[1].questions[5].not_before", ["01/01/2000", "YYYY-MM-DD"]),
    ("dates-wrong-way-round.json", "$.sections[1].questions[5].not_before", ["2000-01-01", "after", "1999-12-31"]),
    ("same-as-not-earlier.json", "$.sections[1].questions[2].same_as.version", ["earlier version", "(1)"]),
    # rules
    (
        "rule-on-wrong-level.json",
        "$.questionnaire_rules[0]",
        ["'standard-rating'", "cannot apply to the whole questionnaire"],
    ),
    (
        "rule-on-non-rating.json",
        "$.sections[0].questions[0].rules[0]",
        ["'na-reason'", "only applies to rating questions"],
    ),
    (
        "rule-value-not-in-scale.json",
        "$.sections[0].questions[2].rules[0]",
        ["'evidence-for-met'", "'partly-met'", "'item'"],
    ),
    ("unknown-rule-kind.json", "$.rules.na-reason.kind", ["reason_for_na", "not_applicable_reason"]),
    (
        "evidence-age-unknown-type.json",
        "$.sections[0].questions[2].rules[2]",
        ["'minutes'", "'item-evidence'", "does not offer"],
    ),
    ("thresholds-out-of-order.json", "$.rules.standard-rating.thresholds", ["highest min_score", "lowest"]),
    ("action-progress-red-above-green.json", "$.rules.action-progress", ["red_below 80", "green_from 75"]),
]


def _raises(*paths: Path | str) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load_files(paths)
    return caught.value.problems


def _minimal() -> dict[str, Any]:
    return json.loads(MINIMAL.read_text(encoding="utf-8"))


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "path", "words"), CASES, ids=[case[0] for case in CASES])
def test_every_invalid_fixture_gives_its_one_problem(name: str, path: str, words: list[str]) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_file(INVALID / name)
    problems = caught.value.problems
    assert len(problems) == 1, "\n".join(map(str, problems))
    (problem,) = problems
    assert isinstance(problem, Problem)
    assert problem.file.endswith(name)
    assert problem.path == path
    for word in words:
        assert word.lower() in problem.message.lower(), f"{word!r} not in {problem.message!r}"


def test_several_defects_are_all_reported_at_once() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_file(INVALID / "several-defects.json")
    problems = caught.value.problems
    assert all(p.file.endswith("several-defects.json") for p in problems)
    assert [(p.path, p.message.split(" ")[0]) for p in problems] == [
        ("$.sections[0].questions[0].options[1].value", "option"),
        ("$.sections[0].questions[0].themes[0]", "theme"),
        ("$.title", "is"),
    ]
    assert "'red'" in problems[0].message
    assert "'leadershp'" in problems[1].message
    assert "required" in problems[2].message


def test_every_invalid_fixture_is_in_the_table() -> None:
    on_disk = {p.name for p in INVALID.glob("*.json")}
    assert on_disk == {case[0] for case in CASES} | {"several-defects.json"}
    assert len(CASES) >= 24


def test_each_invalid_fixture_differs_from_minimal() -> None:
    """Guard against a fixture that was regenerated without its defect."""
    minimal = MINIMAL.read_text(encoding="utf-8")
    valid = _minimal()
    for path in INVALID.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert text != minimal
        data, problems = parse_json(text, str(path))
        assert problems or data != valid, path.name


def test_minimal_fixture_loads_with_every_question_type() -> None:
    questionnaire = load_file(MINIMAL)
    assert questionnaire.key == "minimal@1"
    assert questionnaire.source == str(MINIMAL)
    kinds = {q.type for q in questionnaire.questions}
    assert kinds == {
        "single_choice",
        "multiple_choice",
        "rating",
        "yes_no",
        "short_text",
        "long_text",
        "number",
        "date",
        "evidence",
        "action",
    }
    assert load_file(str(MINIMAL)) == questionnaire


# The shipped definitions


def test_every_shipped_definition_loads() -> None:
    loaded = load_all()
    files = sorted(DEFINITIONS_DIR.glob("*.json"))
    assert files
    versions = {q.key: q for q in loaded.values()}
    assert len(versions) == len(files)
    for questionnaire in versions.values():
        assert loaded[questionnaire.key] is questionnaire
        assert loaded[questionnaire.id].version >= questionnaire.version
        assert questionnaire.sections, questionnaire.key
        for section in questionnaire.sections:
            assert section.questions, f"{questionnaire.key} {section.id}"
            for question in section.questions:
                assert questionnaire.question(question.id) is question
                if question.scored:  # profile questions ("scored": false) need neither
                    where = f"{questionnaire.key} {question.id}"
                    assert question.themes, where
                    assert question.measure in ("quantity", "quality", "outcome"), where
        assert any(q.scored for q in questionnaire.questions), questionnaire.key


def test_load_all_on_an_empty_folder_raises(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a definition")
    with pytest.raises(DefinitionError) as caught:
        load_all(tmp_path)
    (problem,) = caught.value.problems
    assert problem.file == str(tmp_path)
    assert problem.path == "$"
    assert "no questionnaire definitions" in problem.message


def test_load_all_keys_each_version_and_the_newest_under_the_id(tmp_path: Path) -> None:
    first = _minimal()
    second = _minimal()
    second["version"] = 2
    second["title"] = "Every question type, again"
    _write(tmp_path / "a.json", second)
    _write(tmp_path / "b.json", first)
    loaded = load_all(tmp_path)
    assert set(loaded) == {"minimal", "minimal@1", "minimal@2"}
    assert loaded["minimal"] is loaded["minimal@2"]
    assert loaded["minimal@1"].title == "Every question type"


def test_load_all_refuses_the_folder_when_one_file_is_broken(tmp_path: Path) -> None:
    _write(tmp_path / "good.json", _minimal())
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_all(tmp_path)
    (problem,) = caught.value.problems
    assert problem.file == str(tmp_path / "bad.json")


# DefinitionError and Problem


def test_str_of_definition_error_lists_every_problem() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_files([INVALID / "several-defects.json", INVALID / "missing-title.json"])
    error = caught.value
    lines = str(error).splitlines()
    assert lines[0] == "4 problems found in questionnaire definitions:"
    assert lines[1:] == [f"{p.file}: {p.path}: {p.message}" for p in error.problems]
    assert any(line.endswith("several-defects.json: $.title: is required but missing") for line in lines)
    assert any(line.endswith("missing-title.json: $.title: is required but missing") for line in lines)


def test_str_of_one_problem() -> None:
    problem = Problem("a.json", "$.sections[0].id", "is wrong")
    assert str(problem) == "a.json: $.sections[0].id: is wrong"
    assert str(DefinitionError([problem])) == (
        "1 problem found in questionnaire definitions:\na.json: $.sections[0].id: is wrong"
    )


def test_problems_in_several_files_are_reported_together() -> None:
    problems = _raises(INVALID / "missing-title.json", MINIMAL, INVALID / "invalid-json.json")
    assert [Path(p.file).name for p in problems] == ["missing-title.json", "invalid-json.json"]


# Files that are not definitions at all


def test_a_file_too_large_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    text = MINIMAL.read_text(encoding="utf-8")
    path.write_text(text + " " * (MAX_FILE_BYTES + 1 - len(text.encode())), encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES + 1
    (problem,) = _raises(path)
    assert (problem.file, problem.path) == (str(path), "$")
    assert "larger than" in problem.message


def test_text_too_large_is_reported_by_parse_json() -> None:
    data, problems = parse_json(b" " * (MAX_FILE_BYTES + 1), "pasted")
    assert data is None
    assert [(p.file, p.path) for p in problems] == [("pasted", "$")]
    assert "larger than" in problems[0].message


def test_a_file_just_within_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "padded.json"
    text = MINIMAL.read_text(encoding="utf-8")
    path.write_text(text + " " * (MAX_FILE_BYTES - len(text.encode())), encoding="utf-8")
    assert load_file(path).key == "minimal@1"


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    data = _minimal()
    data["title"] = "Café questionnaire"
    path.write_bytes(json.dumps(data, ensure_ascii=False).encode("latin-1"))
    (problem,) = _raises(path)
    assert (problem.file, problem.path) == (str(path), "$")
    assert "not UTF-8" in problem.message


def test_binary_garbage_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(bytes(range(256)))
    (problem,) = _raises(path)
    assert problem.path == "$"


@pytest.mark.parametrize("text", ["", "[]", "null", '"text"', "42", "{}"])
def test_json_that_is_not_an_object_is_reported(tmp_path: Path, text: str) -> None:
    path = tmp_path / "odd.json"
    path.write_text(text, encoding="utf-8")
    problems = _raises(path)
    assert problems
    assert all(p.file == str(path) for p in problems)


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    (problem,) = _raises(path)
    assert (problem.file, problem.path) == (str(path), "$")
    assert "cannot read the file" in problem.message


def test_a_folder_given_as_a_file_is_reported(tmp_path: Path) -> None:
    (problem,) = _raises(tmp_path)
    assert "cannot read the file" in problem.message


def test_deep_nesting_is_reported_not_crashed_on(tmp_path: Path) -> None:
    data = _minimal()
    condition: dict[str, Any] = {"question": "agree", "equals": "no"}
    for _ in range(500):
        condition = {"not": condition}
    data["sections"][1]["questions"][1]["show_if"] = condition
    (problem,) = _raises(_write(tmp_path / "deep.json", data))
    assert problem.path.startswith("$.sections[1].questions[1].show_if.not.not")
    assert "nested more than" in problem.message


def test_nesting_a_real_definition_might_use_is_fine(tmp_path: Path) -> None:
    data = _minimal()
    condition: dict[str, Any] = {"question": "agree", "equals": "no"}
    for _ in range(MAX_DEPTH // 2):
        condition = {"not": condition}
    data["sections"][1]["questions"][1]["show_if"] = condition
    assert load_file(_write(tmp_path / "nested.json", data)).question("why") is not None


def test_nesting_too_deep_for_the_json_parser_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "very-deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (problem,) = _raises(path)
    assert problem.path == "$"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_numbers_are_refused(constant: str) -> None:
    data, problems = parse_json('{"score": ' + constant + "}", "x.json")
    assert data is None
    (problem,) = problems
    assert constant in problem.message


# load_definition on parsed data


def test_load_definition_reports_the_source_given() -> None:
    data = _minimal()
    del data["title"]
    with pytest.raises(DefinitionError) as caught:
        load_definition(data, "pasted.json")
    assert [(p.file, p.path) for p in caught.value.problems] == [("pasted.json", "$.title")]
    assert load_definition(_minimal(), "pasted.json").source == "pasted.json"


# References between files


def _survey(**matches: str) -> dict[str, Any]:
    data = _minimal()
    data["id"] = "survey"
    data["sections"][1]["questions"][0]["matches"] = matches
    return data


def test_matches_a_missing_questionnaire(tmp_path: Path) -> None:
    path = _write(tmp_path / "survey.json", _survey(questionnaire="s11-self-audit", section="first"))
    (problem,) = _raises(path, MINIMAL)
    assert problem.file == str(path)
    assert problem.path == "$.sections[1].questions[0].matches.questionnaire"
    assert "'s11-self-audit'" in problem.message
    assert "not among the files checked" in problem.message


def test_matches_a_missing_section(tmp_path: Path) -> None:
    path = _write(tmp_path / "survey.json", _survey(questionnaire="minimal", section="third"))
    (problem,) = _raises(path, MINIMAL)
    assert problem.path == "$.sections[1].questions[0].matches.section"
    assert "'minimal'" in problem.message
    assert "'third'" in problem.message


def test_matches_an_existing_section(tmp_path: Path) -> None:
    path = _write(tmp_path / "survey.json", _survey(questionnaire="minimal", section="second"))
    survey, _ = load_files([path, MINIMAL])
    matches = survey.question("agree").matches
    assert (matches.questionnaire, matches.section) == ("minimal", "second")


def test_matches_looks_at_the_newest_version(tmp_path: Path) -> None:
    newer = _minimal()
    newer["version"] = 2
    newer["sections"][1]["id"] = "later"
    path = _write(tmp_path / "survey.json", _survey(questionnaire="minimal", section="second"))
    (problem,) = _raises(path, MINIMAL, _write(tmp_path / "minimal-2.json", newer))
    assert problem.path == "$.sections[1].questions[0].matches.section"


def test_shipped_practitioner_survey_needs_the_self_audit() -> None:
    survey = DEFINITIONS_DIR / "practitioner-s11-survey.json"
    problems = _raises(survey)
    assert problems
    assert all(p.path.endswith(".matches.questionnaire") for p in problems)
    assert load_files([survey, DEFINITIONS_DIR / "s11-self-audit.json"])


def test_two_files_with_the_same_id_and_version(tmp_path: Path) -> None:
    copy = _write(tmp_path / "copy.json", _minimal())
    (problem,) = _raises(MINIMAL, copy)
    assert problem.file == str(copy)
    assert problem.path == "$.version"
    assert "version 1 of 'minimal'" in problem.message
    assert str(MINIMAL) in problem.message


def test_same_as_a_question_the_earlier_version_lacks(tmp_path: Path) -> None:
    newer = _minimal()
    newer["version"] = 2
    newer["sections"][1]["questions"][2]["same_as"] = {"version": 1, "question": "tell-us-more"}
    path = _write(tmp_path / "minimal-2.json", newer)
    (problem,) = _raises(MINIMAL, path)
    assert problem.file == str(path)
    assert problem.path == "$.sections[1].questions[2].same_as.question"
    assert "'tell-us-more'" in problem.message


def test_same_as_a_question_the_earlier_version_has(tmp_path: Path) -> None:
    newer = _minimal()
    newer["version"] = 2
    newer["sections"][1]["questions"][2]["id"] = "more"
    newer["sections"][1]["questions"][2]["same_as"] = {"version": 1, "question": "story"}
    newer["sections"][1]["questions"][5]["required_if"]["any"][1]["question"] = "more"
    _, second = load_files([MINIMAL, _write(tmp_path / "minimal-2.json", newer)])
    same_as = second.question("more").same_as
    assert (same_as.version, same_as.question) == (1, "story")


# Frozen definitions


def test_definition_objects_are_frozen() -> None:
    questionnaire = load_file(MINIMAL)
    section = questionnaire.sections[0]
    question = questionnaire.question("colour")
    targets = [
        (questionnaire, "title"),
        (section, "id"),
        (question, "text"),
        (question.options[0], "score"),
        (questionnaire.scales["rating"], "label"),
        (questionnaire.rules["na-reason"], "kind"),
    ]
    for target, name in targets:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(target, name, "changed")


def test_definition_collections_are_read_only() -> None:
    questionnaire = load_file(MINIMAL)
    assert isinstance(questionnaire.sections, tuple)
    assert isinstance(questionnaire.sections[0].questions, tuple)
    with pytest.raises(TypeError):
        questionnaire.scales["other"] = questionnaire.scales["rating"]  # type: ignore[index]
    with pytest.raises(TypeError):
        questionnaire.rules["standard-rating"].params["met"] = "not-met"  # type: ignore[index]
    with pytest.raises(TypeError):
        questionnaire._questions["colour"] = None  # type: ignore[index]


def test_condition_mappings_are_read_only() -> None:
    questionnaire = load_file(MINIMAL)
    why = questionnaire.question("why")
    assert why.show_if == {"question": "agree", "equals": "no"}
    with pytest.raises(TypeError):
        why.show_if["equals"] = "yes"  # type: ignore[index]
    with pytest.raises(TypeError):
        del why.required_if["question"]  # type: ignore[attr-defined]
    trained = questionnaire.question("trained")
    parts = trained.show_if["all"]
    assert isinstance(parts, tuple)
    with pytest.raises(TypeError):
        parts[0]["gt"] = 5
    with pytest.raises(TypeError):
        parts[1]["not"]["equals"] = "yes"
    with pytest.raises(AttributeError):
        parts.append({"question": "staff", "answered": True})


def test_changing_the_raw_json_after_loading_changes_nothing() -> None:
    data = _minimal()
    questionnaire = load_definition(data, "raw")
    data["sections"][1]["questions"][1]["show_if"]["equals"] = "yes"
    data["sections"][1]["questions"][4]["show_if"]["all"].clear()
    assert questionnaire.question("why").show_if["equals"] == "no"
    assert len(questionnaire.question("trained").show_if["all"]) == 2


def test_a_byte_order_mark_is_accepted_and_huge_numbers_are_not() -> None:
    from questionnaires.loader import parse_json

    assert parse_json(b'\xef\xbb\xbf{"a": 1}', "bom.json") == ({"a": 1}, [])
    data, problems = parse_json('{"score": 1e999}', "huge.json")
    assert data is None
    assert [p.message for p in problems] == ["not valid JSON: 1e999 is not a number JSON allows; write a number"]


def test_a_number_too_long_to_read_is_a_problem_not_a_crash() -> None:
    from questionnaires.loader import parse_json

    data, problems = parse_json('{"version": ' + "1" * 5000 + "}", "long.json")
    assert data is None
    assert [p.message for p in problems] == ["a number 5000 digits long is far too large; no definition needs one"]
    assert parse_json('{"version": -' + "1" * 300 + "}", "ok.json")[1] == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (float("nan"), "nan is not a number JSON allows"),
        (float("inf"), "inf is not a number"),
        (10**400, "far too large"),
        ("A\x00B", "not text"),
        ("\ud800", "not text"),
    ],
)
def test_data_no_arithmetic_or_storage_can_use_is_refused(value: Any, words: str) -> None:
    """load_definition takes parsed data too: NaN passed every check, 10**400 crashed float(),
    and a lone surrogate (`"\\ud800"` in JSON) crashed storing the definition."""
    data = _minimal()
    data["sections"][0]["questions"][0]["weight"] = value
    with pytest.raises(DefinitionError) as caught:
        load_definition(data, "numbers.json")
    [problem] = caught.value.problems
    assert problem.path == "$.sections[0].questions[0].weight"
    assert words in problem.message
