"""R8 on stored results: an agency's Met beside its own practitioners' answers in the same year."""

from reports.triangulation import with_triangulation
from store import results
from store.questionnaires import definition


def test_met_ratings_that_practitioners_do_not_bear_out_are_flagged(partnership) -> None:
    cycle = partnership.cycle
    standards = with_triangulation(
        definition(cycle.questionnaire), cycle, results.standards_frame(cycle), results.audit_responses([cycle])
    )
    police = standards.loc[standards["audit_id"].eq(partnership.police.id)].set_index("section_id")
    assert police.loc["s2", "triangulation"] == "flag", "rated Met; 0 of 12 practitioners know the policy"
    assert police.loc["s2", "practitioner_answers"] == 12
    assert police.loc["s3", "triangulation"] == "no-flag", "R8 checks the agency's own Met, moderated or not"
    assert police.loc["s1", "triangulation"] == "not-checked", "not rated Met: nothing to bear out"
    health = standards.loc[standards["audit_id"].eq(partnership.health.id)].set_index("section_id")
    assert health.loc["s2", "triangulation"] == "not-enough-answers"
    assert len(standards) == 22, "every standard is kept, with or without R8"


def test_without_practitioner_answers_the_standards_are_unchanged(db, agencies, users) -> None:
    from tests import builders

    cycle = builders.audit_cycle()
    builders.submitted_audit(agencies["police"], cycle, users["agency"])
    frame = results.standards_frame(cycle)
    out = with_triangulation(definition(cycle.questionnaire), cycle, frame, results.audit_responses([cycle]))
    assert out.equals(frame)
