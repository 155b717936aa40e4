"""A definition's words as sentences name them: questions by a short quote, dates in words.

One home for both, so that the forms' error messages and the scores' explanations name a
question and write a date the same way, and people never read an id or an ISO date.
Pure Python, like the rest of `questionnaires`, so scoring can use it without the forms.
"""

from __future__ import annotations

from datetime import date


def quoted(text: str, limit: int = 80) -> str:
    """A question's text in quotes for a message: whole, or shortened at a word's end with "…".

    >>> quoted("Do you feel safe?")
    '‘Do you feel safe?’'
    >>> quoted("How much do you agree that senior leaders show that keeping children safe matters", 40)
    '‘How much do you agree that senior…’'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return f"‘{text}’"
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:  # end at the last whole word, unless that leaves too little
        cut = cut[: cut.rindex(" ")]
    return f"‘{cut.rstrip(' ,;:.-')}…’"


def long_date(value: date) -> str:
    """`3 March 2024`, the GOV.UK style for dates in text.

    >>> long_date(date(2021, 3, 1))
    '1 March 2021'
    """
    return f"{value.day} {value.strftime('%B')} {value.year}"
