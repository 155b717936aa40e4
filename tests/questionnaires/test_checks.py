"""questionnaires.checks.semantic_problems on small hand-made definitions: the rules the schema
cannot express and the invalid fixtures do not already cover."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from questionnaires.checks import semantic_problems
from questionnaires.errors import json_path
from questionnaires.loader import load_definition

SCALE = {
    "label": "Rating",
    "options": [
        {"value": "met", "label": "Met", "score": 2, "positive": True},
        {"value": "partially-met", "label": "Partially met", "score": 1},
        {"value": "not-met", "label": "Not met", "score": 0},
        {"value": "not-applicable", "label": "Not applicable", "not_applicable": True},
    ],
}
BANDS = [
    {"id": "young", "label": "4 to 7", "min_age": 4, "max_age": 7, "assisted": True},
    {"id": "older", "label": "8 to 11", "min_age": 8, "max_age": 11},
]
SUPPORT = {"heading": "Worried?", "text": "Talk to someone you trust."}


def agency() -> dict[str, Any]:
    """A small valid agency self-audit: one rating item with its evidence and action."""
    return {
        "schema_version": 1,
        "id": "audit",
        "version": 1,
        "title": "Audit",
        "audience": "agency",
        "anonymous": False,
        "scales": {"rating": copy.deepcopy(SCALE)},
        "rules": {
            "evidence-for-met": {"kind": "evidence_for_met", "met": "met", "downgrade_to": "partially-met"},
            "currency": {
                "kind": "evidence_age",
                "max_age_years": 3,
                "evidence_types": ["policy"],
                "downgrade_to": "partially-met",
            },
            "shortfall": {"kind": "action_for_shortfall", "shortfall": ["partially-met", "not-met"]},
            "na-reason": {"kind": "not_applicable_reason"},
            "standard": {
                "kind": "standard_rating",
                "met": "met",
                "thresholds": [{"rating": "partially-met", "min_score": 50}, {"rating": "not-met", "min_score": 0}],
            },
            "triangulation": {"kind": "triangulation", "met": "met", "min_positive_share": 0.5},
            "progress": {"kind": "action_progress", "red_below": 25, "green_from": 75, "overdue_red_below": 50},
        },
        "questionnaire_rules": ["progress"],
        "sections": [
            {
                "id": "s1",
                "title": "Standard 1",
                "rules": ["standard", "triangulation"],
                "questions": [
                    {
                        "id": "s1.1",
                        "type": "rating",
                        "text": "Is there a policy?",
                        "themes": ["policy"],
                        "measure": "quality",
                        "scale": "rating",
                        "evidence": "s1.1-evidence",
                        "action": "s1.1-action",
                        "rules": ["evidence-for-met", "currency", "shortfall", "na-reason"],
                    },
                    {
                        "id": "s1.1-evidence",
                        "type": "evidence",
                        "text": "Evidence",
                        "themes": ["policy"],
                        "measure": "quality",
                        "evidence_types": [
                            {"value": "policy", "label": "Policy"},
                            {"value": "minutes", "label": "Minutes"},
                        ],
                    },
                    {
                        "id": "s1.1-action",
                        "type": "action",
                        "text": "Action",
                        "themes": ["policy"],
                        "measure": "quality",
                    },
                    {
                        "id": "topics",
                        "type": "multiple_choice",
                        "text": "Which topics?",
                        "themes": ["training"],
                        "measure": "quantity",
                        "min_selected": 1,
                        "max_selected": 2,
                        "options": [
                            {"value": "a", "label": "A", "score": 1},
                            {"value": "b", "label": "B", "score": 1},
                            {"value": "c", "label": "C", "score": 0},
                        ],
                    },
                ],
            }
        ],
    }


def survey(audience: str) -> dict[str, Any]:
    """A small valid survey for `audience` (practitioner, child or family)."""
    data: dict[str, Any] = {
        "schema_version": 1,
        "id": f"{audience}-survey",
        "version": 1,
        "title": "Survey",
        "audience": audience,
        "anonymous": True,
        "scales": {},
        "sections": [
            {
                "id": "about",
                "title": "About you",
                "questions": [
                    {
                        "id": "safe",
                        "type": "yes_no",
                        "text": "Do you feel safe?",
                        "themes": ["feeling-safe"],
                        "measure": "outcome",
                    }
                ],
            }
        ],
    }
    if audience == "child":
        data["age_bands"] = copy.deepcopy(BANDS)
    if audience in ("child", "family"):
        data["support"] = dict(SUPPORT)
    return data


def problems(data: Any, themes: Any = None) -> list[tuple[str, str]]:
    return [(json_path(path), message) for path, message in semantic_problems(data, themes)]


def paths(data: Any) -> list[str]:
    return [path for path, _ in problems(data)]


def question(data: dict[str, Any], question_id: str) -> dict[str, Any]:
    return next(q for s in data["sections"] for q in s["questions"] if q["id"] == question_id)


STARTS = [agency, *(lambda a=a: survey(a) for a in ("practitioner", "child", "family"))]


@pytest.mark.parametrize("make", STARTS, ids=["agency", "practitioner", "child", "family"])
def test_the_starting_points_are_valid(make: Any) -> None:
    assert problems(make()) == []
    assert load_definition(make(), "start").sections  # the schema and the theme catalogue accept them too


# Audience: age bands, anonymity, support


@pytest.mark.parametrize("audience", ["agency", "practitioner", "family"])
def test_age_bands_only_on_child_surveys(audience: str) -> None:
    data = agency() if audience == "agency" else survey(audience)
    data["age_bands"] = copy.deepcopy(BANDS)
    assert problems(data) == [("$.age_bands", "age bands only apply to child surveys")]


def test_a_child_survey_needs_age_bands() -> None:
    data = survey("child")
    del data["age_bands"]
    assert problems(data) == [("$.age_bands", "a child survey must say which age bands it serves")]
    data["age_bands"] = []
    assert paths(data) == ["$.age_bands"]


def test_age_band_ages_and_ids() -> None:
    data = survey("child")
    data["age_bands"][1]["min_age"] = 12
    data["age_bands"].append(dict(BANDS[0]))
    found = problems(data)
    assert ("$.age_bands[1]", "min_age 12 is above max_age 11") in found
    assert ("$.age_bands[2].id", "age band 'young' is declared twice") in found
    assert len(found) == 2


def test_age_bands_named_by_sections_and_questions_must_be_declared() -> None:
    data = survey("child")
    data["sections"][0]["age_bands"] = ["young", "teen"]
    data["sections"][0]["questions"][0]["age_bands"] = ["older", "adult"]
    assert problems(data) == [
        ("$.sections[0].age_bands", "age band 'teen' is not declared in age_bands"),
        ("$.sections[0].questions[0].age_bands", "age band 'adult' is not declared in age_bands"),
    ]


@pytest.mark.parametrize("audience", ["child", "family"])
def test_child_and_family_surveys_must_be_anonymous(audience: str) -> None:
    data = survey(audience)
    data["anonymous"] = False
    assert problems(data) == [("$.anonymous", "child and family surveys must be anonymous")]


def test_an_agency_self_audit_cannot_be_anonymous() -> None:
    data = agency()
    data["anonymous"] = True
    (found,) = problems(data)
    assert found[0] == "$.anonymous"
    assert "cannot be anonymous" in found[1]


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_practitioner_survey_may_be_anonymous_or_not(anonymous: bool) -> None:
    data = survey("practitioner")
    data["anonymous"] = anonymous
    assert problems(data) == []


@pytest.mark.parametrize("audience", ["child", "family"])
def test_child_and_family_surveys_need_a_support_block(audience: str) -> None:
    data = survey(audience)
    del data["support"]
    (found,) = problems(data)
    assert found[0] == "$.support"
    assert "who to talk to" in found[1]


@pytest.mark.parametrize("audience", ["agency", "practitioner"])
def test_other_audiences_need_no_support_block(audience: str) -> None:
    data = agency() if audience == "agency" else survey(audience)
    assert "support" not in data
    assert problems(data) == []


# Rule settings


def test_action_progress_red_below_above_green_from() -> None:
    data = agency()
    data["rules"]["progress"]["red_below"] = 80
    assert problems(data) == [("$.rules.progress", "red_below 80 is above green_from 75")]


def test_action_progress_red_below_equal_to_green_from_is_allowed() -> None:
    data = agency()
    data["rules"]["progress"]["red_below"] = 75
    assert problems(data) == []


def test_thresholds_must_run_from_highest_to_lowest() -> None:
    data = agency()
    data["rules"]["standard"]["thresholds"].reverse()
    assert paths(data) == ["$.rules.standard.thresholds"]
    data["rules"]["standard"]["thresholds"][0]["min_score"] = 0
    data["rules"]["standard"]["thresholds"][1]["min_score"] = 0
    assert problems(data) == []


def test_thresholds_out_of_order_among_three() -> None:
    data = agency()
    data["rules"]["standard"]["thresholds"] = [
        {"rating": "partially-met", "min_score": 50},
        {"rating": "not-met", "min_score": 0},
        {"rating": "partially-met", "min_score": 25},
    ]
    (found,) = problems(data)
    assert found[0] == "$.rules.standard.thresholds"
    assert "highest min_score to the lowest" in found[1]


def test_evidence_age_names_an_evidence_type_the_linked_question_lacks() -> None:
    data = agency()
    data["rules"]["currency"]["evidence_types"] = ["policy", "training-records"]
    assert problems(data) == [
        (
            "$.sections[0].questions[0].rules[1]",
            "rule 'currency' names evidence type 'training-records', which question 's1.1-evidence' does not offer",
        )
    ]


def test_evidence_age_with_every_type_offered() -> None:
    data = agency()
    data["rules"]["currency"]["evidence_types"] = ["minutes", "policy"]
    assert problems(data) == []


def test_values_named_by_a_section_rule_must_be_options_of_its_ratings() -> None:
    data = agency()
    data["rules"]["standard"]["thresholds"][0]["rating"] = "partly"
    data["rules"]["triangulation"]["met"] = "fully-met"
    assert problems(data) == [
        ("$.sections[0].rules[0]", "rule 'standard' names the rating 'partly', which question 's1.1' cannot be given"),
        (
            "$.sections[0].rules[1]",
            "rule 'triangulation' names the rating 'fully-met', which question 's1.1' cannot be given",
        ),
    ]


def test_section_rules_need_rating_questions() -> None:
    data = survey("practitioner")
    data["rules"] = {"standard": agency()["rules"]["standard"]}
    data["sections"][0]["rules"] = ["standard"]
    assert problems(data) == [("$.sections[0].rules[0]", "rule 'standard' needs rating questions in this section")]


@pytest.mark.parametrize(
    ("link", "rule", "words"),
    [
        ("evidence", "evidence-for-met", "needs the question to name its evidence question"),
        ("action", "shortfall", "needs the question to name its action question"),
    ],
)
def test_item_rules_need_their_linked_question(link: str, rule: str, words: str) -> None:
    data = agency()
    item = question(data, "s1.1")
    del item[link]
    item["rules"] = [rule]
    (found,) = problems(data)
    assert found[0] == "$.sections[0].questions[0].rules[0]"
    assert words in found[1]


def test_not_applicable_reason_needs_a_not_applicable_option() -> None:
    data = agency()
    data["scales"]["rating"]["options"].pop()
    question(data, "s1.1")["rules"] = ["na-reason"]
    assert problems(data) == [
        (
            "$.sections[0].questions[0].rules[0]",
            "rule 'na-reason' (not_applicable_reason) needs a scale with a 'not applicable' option",
        )
    ]


@pytest.mark.parametrize(
    ("where", "rule", "words"),
    [
        ("question", "standard", "cannot apply to a question"),
        ("question", "progress", "cannot apply to a question"),
        ("section", "shortfall", "cannot apply to a section"),
        ("section", "progress", "cannot apply to a section"),
        ("questionnaire", "triangulation", "cannot apply to the whole questionnaire"),
        ("questionnaire", "evidence-for-met", "cannot apply to the whole questionnaire"),
    ],
)
def test_rules_at_the_wrong_level(where: str, rule: str, words: str) -> None:
    data = agency()
    if where == "question":
        question(data, "s1.1")["rules"].append(rule)
        path = "$.sections[0].questions[0].rules[4]"
    elif where == "section":
        data["sections"][0]["rules"].append(rule)
        path = "$.sections[0].rules[2]"
    else:
        data["questionnaire_rules"].append(rule)
        path = "$.questionnaire_rules[1]"
    (found,) = problems(data)
    assert found[0] == path
    assert words in found[1]


def test_an_unknown_rule_kind_is_left_to_the_schema() -> None:
    data = agency()
    data["rules"]["na-reason"]["kind"] = "reason_for_na"
    assert problems(data) == []


# Questions


def test_min_selected_above_max_selected() -> None:
    data = agency()
    question(data, "topics")["min_selected"] = 3
    assert problems(data) == [("$.sections[0].questions[3].min_selected", "min_selected 3 is above max_selected 2")]


def test_min_selected_equal_to_max_selected_is_allowed() -> None:
    data = agency()
    question(data, "topics")["min_selected"] = 2
    assert problems(data) == []


def test_same_as_must_name_an_earlier_version() -> None:
    data = agency()
    data["version"] = 2
    item = question(data, "topics")
    for version, wanted in (
        (1, []),
        (2, ["$.sections[0].questions[3].same_as.version"]),
        (3, ["$.sections[0].questions[3].same_as.version"]),
    ):
        item["same_as"] = {"version": version, "question": "old-topics"}
        assert paths(data) == wanted, version
    assert "earlier version than this one (2)" in problems(data)[0][1]


def test_evidence_and_action_must_be_in_the_items_section() -> None:
    data = agency()
    moved = data["sections"][0]["questions"].pop(1)
    data["sections"].append({"id": "s2", "title": "Evidence", "questions": [moved]})
    assert problems(data) == [
        (
            "$.sections[0].questions[0].evidence",
            "question 's1.1-evidence' is in another section; an item's evidence belongs with it",
        )
    ]


def test_option_both_dont_know_and_not_applicable_and_positive() -> None:
    data = agency()
    data["scales"]["rating"]["options"][3].update(dont_know=True, positive=True)
    assert problems(data) == [
        ("$.scales.rating.options[3]", "an option cannot be both 'don't know' and 'not applicable'"),
        ("$.scales.rating.options[3].positive", "a 'don't know' or 'not applicable' option cannot count as positive"),
    ]


def test_a_scale_without_options() -> None:
    data = agency()
    data["scales"]["empty"] = {"label": "Empty", "options": []}
    assert problems(data) == [("$.scales.empty.options", "scale 'empty' has no options")]


def test_themes_are_checked_only_against_a_catalogue() -> None:
    data = agency()
    question(data, "topics")["themes"] = ["nowhere"]
    assert problems(data, themes=None) == []
    found = problems(data, themes={"policy": object(), "training": object()})
    assert found == [
        (
            "$.sections[0].questions[3].themes[0]",
            "theme 'nowhere' is not in the theme catalogue (questionnaires/themes.json)",
        )
    ]


def test_profile_options_need_no_scores() -> None:
    data = survey("practitioner")
    data["sections"][0]["questions"].append(
        {
            "id": "role",
            "type": "single_choice",
            "text": "Your role",
            "scored": False,
            "options": [{"value": "nurse", "label": "Nurse"}, {"value": "teacher", "label": "Teacher"}],
        }
    )
    assert problems(data) == []
    del data["sections"][0]["questions"][1]["scored"]
    assert paths(data) == [
        "$.sections[0].questions[1].options[0].score",
        "$.sections[0].questions[1].options[1].score",
    ]


# Robustness: shapes the schema refuses must not crash the semantic checks


@pytest.mark.parametrize(
    "data", [None, [], "text", 1, {}, {"sections": "x"}, {"sections": [None, 1, {"questions": [None, {"id": 3}]}]}]
)
def test_odd_shapes_give_no_semantic_problems_and_no_exception(data: Any) -> None:
    assert problems(data) == []


@pytest.mark.parametrize(
    "poison",
    [None, 1, "x", [], {}, [1], [[]], [{}], {"a": []}, [{"id": []}], {"question": []}, True],
    ids=repr,
)
def test_any_value_anywhere_never_raises(poison: Any) -> None:
    base = agency()
    base["audience"] = "child"
    base["anonymous"] = True
    base["support"] = dict(SUPPORT)
    base["age_bands"] = copy.deepcopy(BANDS)
    base["sections"][0]["age_bands"] = ["young"]
    question(base, "topics")["show_if"] = {
        "all": [{"question": "s1.1", "in": ["met"]}, {"not": {"question": "s1.1", "answered": True}}]
    }

    def walk(node: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        found = [where]
        if isinstance(node, dict):
            for key, value in node.items():
                found += walk(value, (*where, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                found += walk(value, (*where, index))
        return found

    for where in walk(base)[1:]:
        data = copy.deepcopy(base)
        node = data
        for part in where[:-1]:
            node = node[part]
        node[where[-1]] = copy.deepcopy(poison)
        problems(data, themes={"policy": None})  # must not raise
