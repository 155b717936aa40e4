"""How precisely a figure is shown: one rule for the pages and the downloads.

Scores on 0 to 100 (a standard's weighted score, a theme's mean) are shown to the whole number,
and shares on 0 to 1 (positive or compliance shares, practitioners' share, a change between
periods) to the whole percentage, that is two decimal places. The pages write their text from
the rounded figure and the downloads hold the same rounded figure, so a file read back with
pandas equals what the page shows (and no analyst reports 66.66666666666667 out of 100).
Rounding is half to even on the stored binary value, as Python's format and numpy both do.
Figures are rounded only as they leave: suppression and change are worked out from the exact ones.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

SCORE_DECIMALS = 0  # a 0-100 score: whole numbers
SHARE_DECIMALS = 2  # a 0-1 share: whole percentages

#: Columns of the downloads holding a 0-100 score, and those holding a 0-1 share.
SCORE_COLUMNS = ("score_100", "mean_100")
SHARE_COLUMNS = ("share", "positive_share", "change")

Figures = TypeVar("Figures", float, pd.Series)


def shown_score(value: Figures) -> Figures:
    """A 0-100 score as pages and files show it.

    >>> shown_score(66.66666666666667), shown_score(62.5), shown_score(pd.Series([80.4, None])).tolist()
    (67.0, 62.0, [80.0, nan])
    """
    return _rounded(value, SCORE_DECIMALS)


def shown_share(value: Figures) -> Figures:
    """A 0-1 share as pages and files show it: the whole percentage, as a fraction.

    >>> shown_share(2 / 3), shown_share(pd.Series([0.125, 1.0])).tolist()
    (0.67, [0.12, 1.0])
    """
    return _rounded(value * 100, SHARE_DECIMALS - 2) / 100


def score_text(value: float) -> str:
    """>>> score_text(66.66666666666667)
    '67'
    """
    return f"{shown_score(value):.{SCORE_DECIMALS}f}"


def percent_text(share: float | None) -> str:
    """A share as the pages write it; empty when there is none.

    >>> percent_text(2 / 3), percent_text(float("nan")), percent_text(None)
    ('67%', '', '')
    """
    if share is None or pd.isna(share):
        return ""
    return percentage(share) + "%"


def percentage(share: float) -> str:
    """A share in percent, as text without the sign: a change in percentage points is written so.

    >>> percentage(0.125), percentage(0.3)
    ('12', '30')
    """
    return f"{shown_share(share) * 100:.{SHARE_DECIMALS - 2}f}"


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A download's table with its score and share columns rounded as the pages show them."""
    out = frame.copy()
    for column in SCORE_COLUMNS:
        if column in out:
            out[column] = shown_score(pd.to_numeric(out[column], errors="coerce").astype("float64"))
    for column in SHARE_COLUMNS:
        if column in out:
            out[column] = shown_share(pd.to_numeric(out[column], errors="coerce").astype("float64"))
    return out


def _rounded(value: Figures, decimals: int) -> Figures:
    if isinstance(value, pd.Series):
        return value.round(decimals)
    return float(np.round(float(value), decimals))
