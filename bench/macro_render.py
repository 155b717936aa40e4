"""Render cost of our GOV.UK macros against a plain Jinja loop.

Renders a 55-question radios page (4 options and a hint per question, a few
questions answered) two ways in the same run:

  macros  one ``govukRadios({...})`` call per question (templates/govuk/forms.html),
          the params dict written in the page template as a page would;
  plain   a hand-written Jinja loop producing the same inputs.

Both outputs are checked to be the same markup (whitespace and attribute order
aside) before timing. Then prints ms per render of each and the ratio, for the
questions alone and for the full page inside templates/layout.html.

Usage: python bench/macro_render.py [--repeat N]
Target: macros at most ~2x the plain loop.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

N_QUESTIONS = 55

MACRO_FIELDS = """\
{%- from "govuk/forms.html" import govukRadios -%}
{%- for q in questions %}
{{ govukRadios({
  'name': q['id'],
  'fieldset': {'legend': {'text': q['text'], 'classes': 'govuk-fieldset__legend--s'}},
  'hint': {'text': q['hint']},
  'items': q['options'],
  'value': answers.get(q['id']),
}) }}
{%- endfor %}
"""

# The fastest plain loop we could write: subscripts, no macro, no dicts.
PLAIN_FIELDS = """\
{%- for q in questions %}
{%- set qid = q['id'] %}
{%- set answer = answers.get(qid) %}
<div class="govuk-form-group">
<fieldset class="govuk-fieldset" aria-describedby="{{ qid }}-hint">
<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">{{ q['text'] }}</legend>
<div id="{{ qid }}-hint" class="govuk-hint">{{ q['hint'] }}</div>
<div class="govuk-radios" data-module="govuk-radios">
{%- for o in q['options'] %}
{%- set oid = qid if loop.first else qid ~ '-' ~ loop.index %}
<div class="govuk-radios__item">
<input class="govuk-radios__input" id="{{ oid }}" name="{{ qid }}" type="radio" value="{{ o['value'] }}"{% if answer and o['value'] == answer %} checked{% endif %}>
<label class="govuk-label govuk-radios__label" for="{{ oid }}">{{ o['text'] }}</label>
</div>
{%- endfor %}
</div>
</fieldset>
</div>
{%- endfor %}
"""

PAGE = """\
{%- extends "layout.html" %}
{%- block title %}Safeguarding audit{% endblock %}
{%- block content %}
<h1 class="govuk-heading-l">Safeguarding audit</h1>
<form method="post" novalidate>
{% include FIELDS %}
<button type="submit" class="govuk-button" data-module="govuk-button">Save and continue</button>
</form>
{%- endblock %}
"""


def make_questions() -> tuple[list[dict], dict]:
    options = [
        ("yes", "Yes, fully in place"),
        ("partly", "Partly in place"),
        ("no", "No, not in place"),
        ("na", "Not applicable"),
    ]
    questions = [
        {
            "id": f"q{i}",
            "text": f"Question {i}: does the organisation have a named safeguarding lead & deputy?",
            "hint": "Think about policies, training records and recent <cases>.",
            "options": [{"value": v, "text": t} for v, t in options],
        }
        for i in range(1, N_QUESTIONS + 1)
    ]
    answers = {f"q{i}": options[i % 4][0] for i in range(1, N_QUESTIONS + 1, 3)}
    return questions, answers


class _Canon(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list = []

    def handle_starttag(self, tag, attrs):
        self.out.append((tag, tuple(sorted((k, v or "") for k, v in attrs))))

    def handle_endtag(self, tag):
        self.out.append(("/" + tag,))

    def handle_data(self, data):
        text = re.sub(r"\s+", " ", data).strip()
        if text:
            self.out.append((text,))


def canon(html: str) -> list:
    parser = _Canon()
    parser.feed(html)
    parser.close()
    return parser.out


def time_renders(cases: dict, repeat: int, batch: int = 20) -> dict:
    """Best ms per render of each case, batches of the cases interleaved.

    Interleaving and taking the best batch keep the comparison fair on a busy
    machine: noise only ever adds time, to whichever case it hits.
    """
    best = {name: float("inf") for name in cases}
    for template, context in cases.values():
        template.render(**context)  # warm up
    for _ in range(repeat):
        for name, (template, context) in cases.items():
            start = time.perf_counter()
            for _ in range(batch):
                template.render(**context)
            best[name] = min(best[name], (time.perf_counter() - start) * 1000 / batch)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25, help="batches of 20 renders (default 25)")
    args = parser.parse_args(argv)

    env = Environment(
        loader=ChoiceLoader(
            [
                DictLoader(
                    {
                        "bench/macro_fields.html": MACRO_FIELDS,
                        "bench/plain_fields.html": PLAIN_FIELDS,
                        "bench/page.html": PAGE,
                    }
                ),
                FileSystemLoader(str(TEMPLATES)),
            ]
        ),
        autoescape=True,
        undefined=StrictUndefined,
    )
    questions, answers = make_questions()
    context = {"questions": questions, "answers": answers}

    macro_fields = env.get_template("bench/macro_fields.html")
    plain_fields = env.get_template("bench/plain_fields.html")
    page = env.get_template("bench/page.html")

    macro_html = macro_fields.render(**context)
    plain_html = plain_fields.render(**context)
    if canon(macro_html) != canon(plain_html):
        print("macro and plain renders differ: the comparison would be unfair", file=sys.stderr)
        return 1
    assert macro_html.count('type="radio"') == N_QUESTIONS * 4
    assert macro_html.count(" checked") == len(answers)

    results = time_renders(
        {
            "fields, macros": (macro_fields, context),
            "fields, plain loop": (plain_fields, context),
            "page, macros": (page, {**context, "FIELDS": "bench/macro_fields.html"}),
            "page, plain loop": (page, {**context, "FIELDS": "bench/plain_fields.html"}),
        },
        args.repeat,
    )
    print(
        f"{N_QUESTIONS} questions x 4 radios + hint, Jinja2 autoescape + StrictUndefined, best of {args.repeat} batches, ms per render"
    )
    for name, ms in results.items():
        print(f"  {name:<20} {ms:7.3f} ms")
    field_ratio = results["fields, macros"] / results["fields, plain loop"]
    page_ratio = results["page, macros"] / results["page, plain loop"]
    chrome = results["page, plain loop"] - results["fields, plain loop"]
    print(f"  ratio macros/plain   {field_ratio:7.2f}x (fields)   {page_ratio:.2f}x (full page)")
    print(f"  layout chrome        {chrome:7.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
