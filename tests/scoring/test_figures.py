"""The one rule for how precisely scores and shares are shown, on pages and in files alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.figures import percent_text, score_text, shown, shown_score, shown_share


def test_a_file_holds_exactly_what_the_page_writes() -> None:
    values = np.random.default_rng(11).uniform(0, 1, 2_000)
    values = np.append(values, [0.125, 0.135, 0.665, 2 / 3, 0.005, 0.0, 1.0])
    table = shown(pd.DataFrame({"share": values, "mean_100": values * 100, "score_100": values * 100}))
    for exact, share, mean, score in zip(values, table["share"], table["mean_100"], table["score_100"], strict=True):
        assert percent_text(exact) == f"{share * 100:.0f}%"  # the page's text, from the file's figure
        assert score_text(exact * 100) == f"{score:.0f}" == f"{mean:.0f}" and score == round(score)
        assert share == round(share, 2)


def test_only_the_figures_are_rounded_and_missing_stays_missing() -> None:
    table = pd.DataFrame(
        {"respondents": [3, 7], "share": [1 / 3, np.nan], "change": [-1 / 6, 0.004], "words": ["a", "b"]}
    )
    out = shown(table)
    assert out["share"].tolist()[0] == 0.33 and np.isnan(out["share"].tolist()[1])
    assert out["change"].tolist() == [-0.17, 0.0]
    pd.testing.assert_frame_equal(out[["respondents", "words"]], table[["respondents", "words"]])
    assert table["share"].iloc[0] == 1 / 3, "the caller's table is left as it was"
    assert (shown_score(12.5), shown_share(0.125)) == (12.0, 0.12), "half to even, as Python's format does"
