"""The small-number suppression policy, from the app's configuration (one place for its keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scoring import SuppressionPolicy

DEFAULTS = SuppressionPolicy()


def policy_from(config: Mapping[str, Any]) -> SuppressionPolicy:
    """`SUPPRESSION_K` (anonymous sources, default 10), `SUPPRESSION_K_TEXT` and `SUPPRESSION_K_CHILD_TEXT`.

    A threshold below 2 would publish single respondents' answers, so it is refused.
    """
    k = int(config.get("SUPPRESSION_K", DEFAULTS.k))
    k_text = int(config.get("SUPPRESSION_K_TEXT", DEFAULTS.k_text))
    k_child = int(config.get("SUPPRESSION_K_CHILD_TEXT", DEFAULTS.k_child_text))
    if min(k, k_text, k_child) < 2:
        raise ValueError("suppression thresholds must be at least 2: a smaller one publishes single answers")
    return SuppressionPolicy(k=k, k_text=k_text, k_child_text=k_child)
