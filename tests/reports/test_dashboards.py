"""The dashboards' tables: what the heat map, themes, trends, actions and returns pages show."""

from __future__ import annotations

import datetime as dt

from reports import dashboards
from reports.policy import policy_from
from scoring import SUPPRESSED
from store.models import Action

POLICY = policy_from({})


def test_the_heat_map_shows_reported_ratings_own_ratings_and_flags(partnership) -> None:
    data = dashboards.heat_map(partnership.cycle, POLICY)
    assert [s["id"] for s in data.sections][:3] == ["s1", "s2", "s3"]
    police = next(r for r in data.rows if r["agency"].name == "Shire Police")
    s1, s2, s3 = police["cells"][:3]
    assert s1["reported"]["text"] == "Partially met" and s1["self"] is None
    assert s3["reported"]["text"] == "Partially met" and s3["self"]["text"] == "Met", "moderated: own rating beside"
    assert s2["flag"] and not s3["flag"]
    assert [f["section"]["id"] for f in data.flags] == ["s2"]
    assert data.flags[0]["explanation"].startswith(
        "Flagged: rated Met, but none of the 12 practitioners answered positively"
    )
    assert police["status"] == "Submitted"
    assert data.totals[0] == {"Met": 1, "Partially met": 1, "Not met": 0, "Not applicable": 0}


def test_a_flag_from_few_practitioners_hides_their_figures(partnership) -> None:
    data = dashboards.heat_map(partnership.cycle, policy_from({"SUPPRESSION_K": 20}))
    assert data.flags[0]["explanation"] == (
        "Flagged: rated Met, but too few of its practitioners answered positively; fewer than 20 answered, so the"
        " figures are hidden (rule R8: a Met rating is checked against practitioners' answers)."
    )
    assert "12" not in data.flags[0]["explanation"]


def test_themes_split_by_source_band_and_measure_with_small_cells_hidden(partnership) -> None:
    matrix = dashboards.theme_matrix(POLICY, None)
    assert matrix["period"] == matrix["periods"][-1]
    lines = {(theme["theme"], line["source"]): line["cells"] for theme in matrix["themes"] for line in theme["lines"]}
    child = [cells for (theme, source), cells in lines.items() if source.startswith("Children")]
    assert child and all(c is None or c["text"] == SUPPRESSED for cells in child for c in cells)
    informed = lines[("being-informed", "Parents and carers")]
    assert [c["text"] if c else None for c in informed] == [None, "67% (12)", None]


def test_trends_give_each_period_and_the_change(partnership) -> None:
    data = dashboards.trends(POLICY)
    assert data["periods"] and all(
        len(line["cells"]) == len(data["periods"]) for t in data["themes"] for line in t["lines"]
    )


def test_actions_come_overdue_first(partnership) -> None:
    Action.create(
        audit=partnership.health,
        question_id="s2.1-action",
        what="Late one",
        owner="Boss",
        due=dt.date(2020, 1, 1),
        progress=10,
    )
    rows = dashboards.action_rows(partnership.cycle, dt.date.today())
    assert rows[0]["what"] == "Late one" and rows[0]["overdue"] and rows[0]["rag_text"] == "Red"
    assert [r["what"] for r in rows[1:]] == ["Fix s1.2"]


def test_returns_count_submitted_audits_and_survey_responses(partnership, agencies) -> None:
    data = dashboards.returns(partnership.cycle)
    assert (data["returned"], data["total"], data["rate"]) == (2, 2, "100%")
    totals = {r["round"].name: r["total"] for r in data["rounds"]}
    assert totals == {"Autumn survey": 12, "Families": 12, "Children": "c"}, "3 children: under k, hidden"
