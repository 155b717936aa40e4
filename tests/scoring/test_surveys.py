"""Survey scoring by scale: scores, positive shares and means, don't know and N/A out of the base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from questionnaires import Questionnaire
from scoring import surveys
from scoring.frames import question_frame, theme_pairs
from scoring.surveys import aggregate, response_theme_scores, score_answers, score_survey
from tests.scoring.conftest import definition, load

CHOSEN = ["response_id", "question_id", "value", "score", "score_100", "positive", "in_base", "known"]


def _answers(*rows: tuple[int, str, object]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["response_id", "question_id", "value"])
    frame["value"] = frame["value"].astype(object)
    return frame


def _frame(rows: list[tuple[object, ...]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


SCALE_CASES = [
    # family survey, agreement scale 1-5, strongly agree and agree positive, don't know out of base
    pytest.param("family-experience", "told-what", "strongly-agree", 5.0, 100.0, True, True, id="agree-top"),
    pytest.param("family-experience", "told-what", "agree", 4.0, 75.0, True, True, id="agree"),
    pytest.param("family-experience", "told-what", "neither", 3.0, 50.0, False, True, id="neither"),
    pytest.param("family-experience", "told-what", "strongly-disagree", 1.0, 0.0, False, True, id="bottom"),
    pytest.param("family-experience", "told-what", "dont-know", np.nan, np.nan, False, False, id="dont-know"),
    # practitioner survey: yes/no with don't know; a single choice with a not applicable option
    pytest.param("practitioner-s11-survey", "training-recent", "yes", 1.0, 100.0, True, True, id="yes"),
    pytest.param("practitioner-s11-survey", "training-recent", "no", 0.0, 0.0, False, True, id="no"),
    pytest.param(
        "practitioner-s11-survey", "training-recent", "dont-know", np.nan, np.nan, False, False, id="yes-no-dont-know"
    ),
    pytest.param(
        "practitioner-s11-survey", "commissioned-services", "not-applicable", np.nan, np.nan, False, False, id="n-a"
    ),
    # child survey: faces scored 0-100, 5-point how often
    pytest.param("child-experience", "safe-home.age-4-7", "ok", 50.0, 50.0, False, True, id="faces-ok"),
    pytest.param("child-experience", "safe-home.age-12-17", "not-often", 25.0, 25.0, False, True, id="how-often"),
]


@pytest.mark.parametrize(("name", "question", "value", "score", "score_100", "positive", "in_base"), SCALE_CASES)
def test_answers_score_by_their_scale(
    shipped: dict[str, Questionnaire],
    name: str,
    question: str,
    value: str,
    score: float,
    score_100: float,
    positive: bool,
    in_base: bool,
) -> None:
    out = score_answers(shipped[name], _answers((1, question, value)))
    expected = _frame([(1, question, value, score, score_100, positive, in_base, True)], CHOSEN)
    assert_frame_equal(
        out[CHOSEN].astype({"question_id": "str", "value": "str"}),
        expected.astype({"question_id": "str", "value": "str"}),
    )


def test_all_scale_cases_in_one_batch(shipped: dict[str, Questionnaire]) -> None:
    for name in {c.values[0] for c in SCALE_CASES}:
        cases = [c.values for c in SCALE_CASES if c.values[0] == name]
        answers = _answers(*[(i, c[1], c[2]) for i, c in enumerate(cases)])
        out = score_answers(shipped[name], answers)
        assert out["score"].tolist() == pytest.approx([c[3] for c in cases], nan_ok=True)
        assert out["positive"].tolist() == [c[5] for c in cases]
        assert out["in_base"].tolist() == [c[6] for c in cases]


def test_unscored_questions_are_left_out_and_unknown_values_counted_nowhere(shipped: dict[str, Questionnaire]) -> None:
    family = shipped["family-experience"]
    answers = _answers(
        (1, "relationship", "parent"),  # a profile question
        (1, "anything-else", "Thank you"),  # free text
        (1, "told-what", "maybe"),  # not an option
        (1, "told-why", ["agree"]),  # a list where one value belongs
        (1, "no-such-question", "agree"),
    )
    out = score_answers(family, answers)
    assert out["question_id"].astype("str").tolist() == ["told-what", "told-why"]
    assert out["known"].tolist() == [False, False]
    assert out["in_base"].tolist() == [False, False]
    assert out["score"].isna().all()


def test_multiple_choice_scores_its_chosen_options() -> None:
    data = definition("family-experience")
    services = next(q for s in data["sections"] for q in s["questions"] if q["id"] == "services")
    services.pop("scored")
    services["themes"], services["measure"] = ["inter-agency-working"], "quantity"
    for option, score in zip(services["options"], [3, 2, 1, 0] + [1] * (len(services["options"]) - 4), strict=True):
        option["score"] = score
    services["options"][0]["positive"] = True
    family = load(data)
    answers = _answers(
        (1, "services", ["social-care", "education"]), (2, "services", ["education"]), (3, "services", [])
    )
    out = score_answers(family, answers)
    assert out["score"].tolist() == pytest.approx([1.5, 0.0, np.nan], nan_ok=True)
    assert out["positive"].tolist() == [True, False, False]
    assert out["in_base"].tolist() == [True, True, False]
    assert out["value"].astype("str").tolist() == ["social-care; education", "education", ""]


def _reference(questionnaire: Questionnaire, answers: pd.DataFrame) -> pd.DataFrame:
    """Scores worked out the slow, obvious way, one answer at a time, to check the vectorised ones."""
    rows = []
    for r, qid, value in answers.itertuples(index=False):
        question = questionnaire.question(qid)
        if question is None or not question.scored or not any(o.score is not None for o in question.options):
            continue
        option = question.option(value) if isinstance(value, str) else None
        scores = [o.score for o in question.options if o.score is not None and o.in_base]
        low, high = min(scores), max(scores)
        if option is None or not option.in_base:
            rows.append((r, qid, np.nan, np.nan, False, False))
        else:
            rows.append((r, qid, option.score, (option.score - low) / (high - low) * 100, option.positive, True))
    return pd.DataFrame(rows, columns=["response_id", "question_id", "score", "score_100", "positive", "in_base"])


@pytest.mark.parametrize(
    "name", ["practitioner-s11-survey", "practitioner-workshop", "child-experience", "family-experience"]
)
def test_vectorised_scores_equal_one_at_a_time_scores(shipped: dict[str, Questionnaire], name: str) -> None:
    questionnaire = shipped[name]
    rng = np.random.default_rng(11)
    rows = []
    for response in range(200):
        for question in questionnaire.questions:
            if question.is_choice and question.type != "multiple_choice" and rng.random() < 0.8:
                values = [o.value for o in question.options] + ["bogus"]
                rows.append((response, question.id, values[rng.integers(len(values))]))
    answers = _answers(*rows)
    out = score_answers(questionnaire, answers)
    expected = _reference(questionnaire, answers)
    got = out[expected.columns.tolist()].astype({"question_id": "str"})
    assert_frame_equal(got, expected.astype({"question_id": "str"}))


def test_theme_sums_per_response(shipped: dict[str, Questionnaire]) -> None:
    family = shipped["family-experience"]
    answers = _answers(
        (1, "told-what", "agree"),  # family-involvement, being-informed (quality)
        (1, "told-why", "disagree"),  # same themes
        (1, "better-for-child", "strongly-agree"),  # getting-help (outcome)
        (1, "help-in-time", "dont-know"),  # getting-help (quality), out of base
        (2, "told-what", "strongly-agree"),
    )
    themes = score_survey(family, answers).themes
    got = (
        themes.astype({"theme": "str", "measure": "str"})
        .sort_values(["response_id", "theme", "measure"])
        .reset_index(drop=True)
    )
    expected = _frame(
        [
            (1, "being-informed", "quality", 2, 1, 100.0),
            (1, "family-involvement", "quality", 2, 1, 100.0),
            (1, "getting-help", "outcome", 1, 1, 100.0),
            (2, "being-informed", "quality", 1, 1, 100.0),
            (2, "family-involvement", "quality", 1, 1, 100.0),
        ],
        ["response_id", "theme", "measure", "answers", "positive", "score_sum"],
    ).astype({"theme": "str", "measure": "str"})
    assert_frame_equal(got, expected)


def test_theme_sums_from_stored_answer_scores_match_one_pass(shipped: dict[str, Questionnaire]) -> None:
    child = shipped["child-experience"]
    rng = np.random.default_rng(3)
    rows = [
        (r, q.id, q.options[rng.integers(len(q.options))].value)
        for r in range(50)
        for q in child.questions
        if q.is_choice
    ]
    rows.reverse()  # not in response order: the codes must not rely on it
    answers = _answers(*rows)
    once = score_survey(child, answers)
    again = response_theme_scores(once.answers, question_frame(child))
    key = ["response_id", "theme", "measure"]
    assert_frame_equal(
        again.sort_values(key).reset_index(drop=True), once.themes.sort_values(key).reset_index(drop=True)
    )


def test_aggregate_keeps_dont_know_out_of_the_base() -> None:
    scores = pd.DataFrame(
        {
            "question_id": ["q"] * 5,
            "response_id": range(5),
            "score": [5.0, 4.0, 1.0, np.nan, np.nan],
            "score_100": [100.0, 75.0, 0.0, np.nan, np.nan],
            "positive": [True, True, False, False, False],
            "in_base": [True, True, True, False, False],
        }
    )
    out = aggregate(scores, ["question_id"])
    expected = pd.DataFrame(
        {
            "question_id": ["q"],
            "answers_total": [5],
            "respondents": [3],
            "positive": [2],
            "positive_share": [2 / 3],
            "mean_score": [10 / 3],
            "mean_100": [175 / 3],
        }
    )
    assert_frame_equal(out, expected)


def test_theme_sums_of_many_responses_with_few_answers_each(shipped: dict[str, Questionnaire]) -> None:
    """A table of responses x pairs too big to fill densely: the sums come from factorised keys, the same."""
    family = shipped["family-experience"]
    values = ["strongly-agree", "agree", "disagree", "dont-know"]
    n = 220_000  # one answer each: more responses x pairs than the answers justify
    answers = pd.DataFrame(
        {
            "response_id": np.arange(n),
            "question_id": np.where(np.arange(n) % 2 == 0, "told-what", "help-in-time"),
            "value": pd.Series(np.array(values, dtype=object)[np.arange(n) % 4], dtype=object),
        }
    )
    themes = score_survey(family, answers).themes
    scores = score_answers(family, answers)
    base = scores.loc[scores["in_base"]].astype({"question_id": "str"})
    pairs = theme_pairs(question_frame(family))
    expected = (
        base.merge(pairs, on="question_id")
        .groupby(["response_id", "theme", "measure"])
        .agg(answers=("score", "size"), positive=("positive", "sum"), score_sum=("score_100", "sum"))
        .reset_index()
    )
    got = themes.astype({"theme": "str", "measure": "str"}).sort_values(["response_id", "theme", "measure"])
    assert_frame_equal(got.reset_index(drop=True), expected.astype({"positive": "int64"}), check_dtype=False)


def _batch(questionnaire: Questionnaire, responses: int, seed: int) -> pd.DataFrame:
    """Stored answers as the store reads them back: by response, each in the order its questions are asked.

    Each age band's responses answer that band's questions (choice ones with an option or a
    value that is not one, the others with text), so a batch is a few blocks of one order of
    questions, with the odd response that skips a question, asks two the other way round, or
    holds a malformed row or an answer with no value.
    """
    rng = np.random.default_rng(seed)
    bands = [b.id for b in questionnaire.age_bands] or [None]
    rows: list[tuple[int, object, object]] = []
    for r in range(responses):
        band = bands[r * len(bands) // responses]
        asked = [q for s in questionnaire.sections_for(band) for q in s.questions_for(band)]
        if r % 17 == 5:
            asked = asked[1:]  # skipped the first question
        if r % 23 == 7:
            asked[0], asked[1] = asked[1], asked[0]
        blank = r == responses // 3  # its first choice answer has no value
        for q in asked:
            if q.is_choice and q.type != "multiple_choice":
                values = [o.value for o in q.options] + ["bogus"]
                rows.append((r, q.id, None if blank else values[rng.integers(len(values))]))
                blank = False
            else:
                rows.append((r, q.id, "Some words."))
        if r == responses // 2:
            rows.append((r, None, "agree"))  # a malformed row: no question
    return _answers(*rows)


SURVEYS = ["practitioner-s11-survey", "practitioner-workshop", "child-experience", "family-experience"]


def test_answers_in_response_order_are_split_into_blocks_of_one_order_of_questions() -> None:
    response = np.array([1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5])
    ids = np.array(["a", "b", "c", "a", "b", "c", "a", "b", "a", "b", "b", "a"], dtype=object)
    assert surveys._blocks(response, ids) == [(0, 2, 3), (6, 2, 2), (10, 1, 2)]
    assert surveys._blocks(response[::-1], ids[::-1]) is None, "not grouped by response: looked up one by one"
    assert surveys._blocks(np.array([1, 1, 1, 2, 2, 2, 1, 1, 4, 4, 5, 5]), ids) is None, "a response come back to"
    unordered = response.astype(object)
    unordered[3:6] = pd.NA  # an id that is neither above nor below another
    assert surveys._blocks(unordered, ids) is None
    malformed = ids.copy()
    malformed[4] = pd.NA  # compares to nothing as true or false
    assert surveys._blocks(response, malformed) is None


def _in_sixths() -> Questionnaire:
    """The family survey with agreement scored 7, 5, 4, 2, 1: scores in sixths of 100, whose sums depend on their order."""
    data = definition("family-experience")
    for option, score in zip(data["scales"]["agreement"]["options"], [7, 5, 4, 2, 1], strict=False):
        option["score"] = score
    return load(data)


@pytest.fixture(params=[*SURVEYS, "in-sixths"])
def survey(request: pytest.FixtureRequest, shipped: dict[str, Questionnaire]) -> Questionnaire:
    """Each shipped survey, and the family survey with scores in sixths (`_in_sixths`)."""
    return _in_sixths() if request.param == "in-sixths" else shipped[request.param]


def test_answers_in_blocks_score_and_sum_as_answers_looked_up_one_by_one(
    survey: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blocks are a shortcut: the frames come out the same, to the last bit, as without them."""
    answers = _batch(survey, 300, seed=5)
    ids = answers["question_id"].to_numpy(dtype=object)
    assert surveys._blocks(answers["response_id"].to_numpy(), ids) is not None, "the batch comes in blocks"
    by_blocks = score_survey(survey, answers)
    as_text = score_survey(survey, answers.astype({"question_id": "str", "value": "str"}))
    as_categories = score_survey(survey, answers.astype({"question_id": "category"}))
    monkeypatch.setattr(surveys, "MOST_BLOCKS", 0)
    monkeypatch.setattr(surveys, "_dense_theme_sums", lambda *args: None)
    one_by_one = score_survey(survey, answers)
    for got in (by_blocks, as_text, as_categories):
        assert_frame_equal(got.answers, one_by_one.answers, check_exact=True)
        assert_frame_equal(got.themes, one_by_one.themes, check_exact=True)


@pytest.mark.parametrize("name", SURVEYS)
def test_answers_out_of_response_order_score_and_sum_the_same(shipped: dict[str, Questionnaire], name: str) -> None:
    """Responses in any order (each response's answers together and in order, or not) give the same scores."""
    questionnaire = shipped[name]
    answers = _batch(questionnaire, 120, seed=9)
    ordered = score_survey(questionnaire, answers)
    rng = np.random.default_rng(2)
    order = rng.permutation(answers["response_id"].unique())
    whole_responses = answers.set_index("response_id").loc[order].reset_index()
    key = ["response_id", "theme", "measure"]
    for shuffled in (whole_responses, answers.iloc[::-1].reset_index(drop=True)):
        got = score_survey(questionnaire, shuffled)
        answer_key = ["response_id", "question_id"]
        assert_frame_equal(
            got.answers.sort_values(answer_key, kind="stable").reset_index(drop=True),
            ordered.answers.sort_values(answer_key, kind="stable").reset_index(drop=True),
        )
        assert_frame_equal(
            got.themes.sort_values(key).reset_index(drop=True), ordered.themes.sort_values(key).reset_index(drop=True)
        )


def test_theme_sums_of_answers_in_blocks_are_added_a_question_at_a_time(
    shipped: dict[str, Questionnaire], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch in blocks is summed by columns, with no key per answer (that is for answers out of order)."""
    child = shipped["child-experience"]
    answers = _batch(child, 90, seed=4)
    expected = score_survey(child, answers).themes

    def by_answer(*args: object) -> pd.DataFrame:
        raise AssertionError("summed answer by answer")

    monkeypatch.setattr(surveys, "_theme_sums", by_answer)
    assert_frame_equal(score_survey(child, answers).themes, expected, check_exact=True)


@pytest.mark.parametrize("cells", [1, 37, 64])
def test_theme_sums_read_from_the_tables_a_stretch_at_a_time_are_the_same_frame(
    shipped: dict[str, Questionnaire], monkeypatch: pytest.MonkeyPatch, cells: int
) -> None:
    """Stretches of responses that end anywhere (one response each, or a few with a pair cut off) give the same frame."""
    practitioner = shipped["practitioner-s11-survey"]
    answers = _batch(practitioner, 90, seed=6)
    expected = score_survey(practitioner, answers).themes
    monkeypatch.setattr(surveys, "CELLS", cells)
    assert_frame_equal(score_survey(practitioner, answers).themes, expected, check_exact=True)


def test_a_batch_with_nothing_scored_has_no_theme_sums(shipped: dict[str, Questionnaire]) -> None:
    family = shipped["family-experience"]
    texts = [q.id for q in family.questions if not q.is_choice]
    scores = score_survey(family, _answers(*((r, q, "Some words.") for r in range(3) for q in texts)))
    assert scores.answers.empty
    assert scores.themes.empty
    assert scores.themes.columns.tolist() == ["response_id", "theme", "measure", "answers", "positive", "score_sum"]


def _own_copy(value: object) -> object:
    """The same text as a string object of its own, as values decoded row by row come (anything else as it is)."""
    return str(value.encode(), "utf-8") if isinstance(value, str) else value


@pytest.mark.parametrize("name", SURVEYS)
def test_values_shared_by_rows_are_looked_up_once_and_score_as_looked_up_one_by_one(
    shipped: dict[str, Questionnaire], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store shares one string among the rows of one choice: each string is looked up once, to the same scores."""
    questionnaire = shipped[name]
    answers = _batch(questionnaire, 300, seed=3)
    own = answers.assign(value=pd.Series([_own_copy(v) for v in answers["value"]], dtype=object))
    looked_up: list[int] = []
    lookup, few = surveys.codes, surveys._few_codes

    def counted(values: object, categories: pd.Index) -> np.ndarray:
        looked_up.append(len(values))
        return lookup(values, categories)

    def few_counted(values: object, categories: pd.Index, places: dict[str, int]) -> np.ndarray:
        looked_up.append(len(values))
        return few(values, categories, places)

    monkeypatch.setattr(surveys, "codes", counted)
    monkeypatch.setattr(surveys, "_few_codes", few_counted)
    for shared, one_by_one in ((answers, own), (answers.astype({"value": "str"}), own.astype({"value": "str"}))):
        looked_up.clear()
        got = score_survey(questionnaire, shared)
        most = max(looked_up)
        assert most < len(answers) // 10, "each shared string looked up once"
        looked_up.clear()
        expected = score_survey(questionnaire, one_by_one)
        assert max(looked_up) > 10 * most, "strings of their own each looked up"
        assert_frame_equal(got.answers, expected.answers, check_exact=True)
        assert_frame_equal(got.themes, expected.themes, check_exact=True)


def _skipping_batch(questionnaire: Questionnaire, responses: int, seed: int) -> pd.DataFrame:
    """Stored answers of respondents who skip optional questions, each response in the order its questions are asked.

    Age bands take turns (as responses come in), every third question is skipped by some
    respondents, and the odd response answers two questions the other way round or one
    question twice: no two responses in a row need answer the same questions.
    """
    rng = np.random.default_rng(seed)
    bands = [b.id for b in questionnaire.age_bands] or [None]
    rows: list[tuple[int, object, object]] = []
    for r in range(responses):
        band = bands[r % len(bands)]
        asked = [q for s in questionnaire.sections_for(band) for q in s.questions_for(band)]
        asked = [q for n, q in enumerate(asked) if n % 3 != 1 or rng.random() < 0.6]
        if r % 23 == 7:
            asked[1], asked[2] = asked[2], asked[1]
        if r % 31 == 3:
            asked.append(asked[1])
        for q in asked:
            if q.is_choice and q.type != "multiple_choice":
                values = [o.value for o in q.options] + ["bogus"]
                rows.append((r, q.id, values[rng.integers(len(values))]))
            else:
                rows.append((r, q.id, "Some words."))
    return _answers(*rows)


def test_answers_of_respondents_who_skip_questions_sum_as_answers_added_one_by_one(
    survey: Questionnaire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skipped questions break the blocks: the sums come from a grid of responses x questions, the same to the last bit."""
    answers = _skipping_batch(survey, 400, seed=8)
    no_blocks = surveys._blocks(answers["response_id"].to_numpy(), answers["question_id"].to_numpy(dtype=object))
    assert no_blocks is None, "too many orders of questions for blocks"
    per_answer = surveys._theme_sums

    def not_by_answer(*args: object) -> pd.DataFrame:
        raise AssertionError("summed answer by answer")

    monkeypatch.setattr(surveys, "_theme_sums", not_by_answer)
    in_a_grid = score_survey(survey, answers)
    monkeypatch.setattr(surveys, "_theme_sums", per_answer)
    monkeypatch.setattr(surveys, "_dense_theme_sums", lambda *args: None)
    one_by_one = score_survey(survey, answers)
    assert_frame_equal(in_a_grid.answers, one_by_one.answers, check_exact=True)
    assert_frame_equal(in_a_grid.themes, one_by_one.themes, check_exact=True)


def test_a_value_first_seen_past_the_first_rows_is_looked_up_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared strings are looked up at their first rows, found among the first rows or else in the whole column."""
    monkeypatch.setattr(surveys, "PROBE", 8)
    values = np.array(["agree", "disagree"] * 10 + ["dont-know", "bogus", "agree"], dtype=object)
    categories = pd.Index(["agree", "disagree", "dont-know"], dtype=object)
    places = {text: code for code, text in enumerate(categories)}
    assert surveys._value_codes(values, categories, places).tolist() == [0, 1] * 10 + [2, -1, 0]


FEW_VALUES = {
    "text": ["agree", "bogus", "disagree", "agree", ""],
    "text and missing values": ["agree", None, np.nan, pd.NA, "agree"],
    "lists and numbers": ["agree", ["agree"], 1, 1.0, True],
    "text of another type": ["agree", np.str_("disagree"), "dont-know"],
}


@pytest.mark.parametrize(
    ("kind", "as_str"),
    [(kind, False) for kind in FEW_VALUES] + [(kind, True) for kind in FEW_VALUES if kind != "lists and numbers"],
)  # a str column holds text only
def test_a_few_values_are_looked_up_in_a_dict_as_pandas_looks_them_up(
    kind: str, as_str: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text looked up in a dict of the categories gets the codes pandas gives; anything else is left to pandas."""
    categories = pd.Index(["agree", "disagree", "dont-know", "1"], dtype=object)
    places = {text: code for code, text in enumerate(categories)}
    values = np.array(FEW_VALUES[kind], dtype=object)
    if as_str:
        values = pd.array(values, dtype="str")
    expected = surveys.codes(values, categories)
    by_pandas: list[int] = []
    lookup = surveys.codes

    def counted(values: object, categories: pd.Index) -> np.ndarray:
        by_pandas.append(len(values))
        return lookup(values, categories)

    monkeypatch.setattr(surveys, "codes", counted)
    assert surveys._few_codes(values, categories, places).tolist() == expected.tolist()
    assert (by_pandas == []) == (kind == "text"), "text in a dict, anything else by pandas"
    assert surveys._few_codes(np.array(["agree"] * (surveys.FEW + 1), dtype=object), categories, places).tolist() == [
        0
    ] * (surveys.FEW + 1)
    assert by_pandas[-1] == surveys.FEW + 1, "many values by pandas"


RESPONSE_IDS = {
    "whole numbers": lambda r: r + 1000,
    "fractions": lambda r: r + 0.5,
    "text": lambda r: f"r{r:03d}",
    "dates": lambda r: pd.Timestamp("2025-04-01") + pd.Timedelta(days=int(r)),
    "text and numbers": lambda r: r if r % 2 else f"r{r:03d}",
}


@pytest.mark.parametrize("kind", [*RESPONSE_IDS, "nullable whole numbers"])
def test_scores_hold_response_ids_as_a_frame_column_holds_them(shipped: dict[str, Questionnaire], kind: str) -> None:
    """The frames are put together from their blocks: ids that are numbers as they are, others as pandas infers them."""
    family = shipped["family-experience"]
    answers = _batch(family, 40, seed=2)
    numbered = score_survey(family, answers)
    if kind == "nullable whole numbers":
        ids = answers["response_id"].astype("Int64")
    else:
        ids = pd.Series([RESPONSE_IDS[kind](r) for r in answers["response_id"]], dtype=object).infer_objects()
    got = score_survey(family, answers.assign(response_id=ids))
    numbers, first = np.unique(answers["response_id"].to_numpy(), return_index=True)
    for frame, expected in ((got.answers, numbered.answers), (got.themes, numbered.themes)):
        row = first[np.searchsorted(numbers, expected["response_id"].to_numpy())]  # each row's response's first answer
        expected = expected.assign(response_id=ids.to_numpy()[row])  # the ids as read, made a column by pandas
        assert_frame_equal(frame, expected, check_exact=True)


def test_a_frame_whose_columns_are_renamed_in_place_leaves_the_next_frames_alone(
    shipped: dict[str, Questionnaire],
) -> None:
    """Each frame has columns of its own, though they are made once: renaming them changes no other frame's."""
    family = shipped["family-experience"]
    answers = _batch(family, 5, seed=1)
    first = score_survey(family, answers)
    first.answers.columns.name = "renamed"
    first.themes.columns.name = "renamed"
    again = score_survey(family, answers)
    assert again.answers.columns.name is None
    assert again.themes.columns.name is None
    assert again.answers.columns.tolist() == surveys.SCORE_COLUMNS
    assert again.themes.columns.tolist() == surveys.THEME_SCORE_COLUMNS
