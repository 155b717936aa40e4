"""Suppression thresholds come from configuration, and a threshold that publishes single answers is refused."""

import pytest

from reports.policy import policy_from


def test_defaults_and_configured_thresholds() -> None:
    assert (policy_from({}).k, policy_from({}).k_child_text) == (10, 20)
    configured = policy_from({"SUPPRESSION_K": "5", "SUPPRESSION_K_TEXT": 6, "SUPPRESSION_K_CHILD_TEXT": 7})
    assert (configured.k, configured.k_text, configured.k_child_text) == (5, 6, 7)
    assert configured.k_for("self-rating") == 1, "agencies are not people: never suppressed"


@pytest.mark.parametrize("key", ["SUPPRESSION_K", "SUPPRESSION_K_TEXT", "SUPPRESSION_K_CHILD_TEXT"])
def test_a_threshold_below_two_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        policy_from({key: 1})
