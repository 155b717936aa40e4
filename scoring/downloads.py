"""The analysts' downloads: scored standards, theme tables, raw answers long and wide.

Each builder returns an `export.Export` (columns, data dictionary, row chunks) that
`export.stream` writes as CSV, JSON or XLSX. Every figure passes through the same suppression
as the pages (`scoring.suppression`), and free text from anonymous surveys is released only
for groups of respondents at least as large as the policy's text threshold (20 for children).

Raw answers are read chunk by chunk (`answers` is an iterator of frames in response order,
as a database cursor gives them), so the download holds one chunk in memory at a time.

In the raw answers of anonymous surveys, the columns about a response (agency, sector, age band)
could single out its respondents where few of them share those values, however the figures are
suppressed. So the files keep every group of respondents shown at least k strong: a group too
small has its agency and sector read `c`, pooled with the other hidden groups of its age band,
with further groups hidden as the tables' secondary suppression does, and a pool that still
holds fewer than k respondents is left out of the file (`_rows_released`). The database's ids
and order would still place the pooled rows (a run of `c` between two agencies' rows, a gap in
their ids), so these files number their responses afresh and hold the pooled ones back to the
end, ordered by their answers (`_Released.answers`): memory for the pool, not the whole file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from questionnaires.model import Questionnaire
from scoring.export import Column, Export
from scoring.figures import shown
from scoring.frames import REASON_SUFFIX, option_frame, question_frame, typed_answers
from scoring.suppression import SUPPRESSED, SuppressionPolicy, cells_to_hide, mark
from scoring.themes import THEME_TABLE_COLUMNS, source_of

META_COLUMNS = ["cycle", "source", "agency_id", "sector", "age_band"]
TEXT_TYPES = ("short_text", "long_text", "reason")

_GROUP_HIDDEN_NOTE = (
    f"'{SUPPRESSED}' in anonymous surveys where the agency's respondents (in the age band) are fewer than"
    " the threshold, or hidden so that such a group cannot be worked out; a band's responses too few to"
    " show even with their agencies hidden are left out"
)
_META_DOC = {
    "response_id": Column(
        "response_id",
        "The response (for an audit, the agency's audit response; for an anonymous survey, its number in"
        f" this file: responses whose agency is shown first, then those whose agency reads '{SUPPRESSED}',"
        " in an order that says nothing of when they came in)",
        "integer",
    ),
    "cycle": Column("cycle", "The audit cycle or survey round the response belongs to", "text"),
    "source": Column("source", "Who answered", "text", "self-rating; moderated; practitioner; child; family"),
    "agency_id": Column(
        "agency_id", "The agency (for surveys, the agency whose link was used)", "integer", _GROUP_HIDDEN_NOTE
    ),
    "sector": Column("sector", "The agency's sector", "text", _GROUP_HIDDEN_NOTE),
    "age_band": Column("age_band", "Child surveys: the age band the child answered in", "text"),
}
WHOLE_NUMBER = "rounded to the whole number, as the pages show it"
WHOLE_PERCENT = "rounded to two decimal places (the whole percentage the pages show)"
_SUPPRESSED_NOTE = f"'{SUPPRESSED}' where suppressed: fewer respondents than the threshold, or hidden so that such a cell cannot be worked out from totals"


def _scale_text(options: pd.DataFrame) -> str:
    return "; ".join(options["value"] + " = " + options["label"])


def standards_export(
    questionnaire: Questionnaire,
    standards: pd.DataFrame,
    responses: pd.DataFrame,
    policy: SuppressionPolicy | None = None,
) -> Export:
    """Scored results per agency and standard (self, moderated, reported rating, explanation).

    `standards` comes from `score_audits` (with `triangulate`'s columns if it ran); the
    practitioners' figures beside a triangulation are hidden below the anonymous threshold.
    """
    policy = policy or SuppressionPolicy()
    meta = responses.drop_duplicates("response_id").set_index("response_id")
    table = standards.copy()
    for column in ("cycle", "agency_id", "agency", "sector"):
        if column in meta and column not in table:
            table[column] = meta[column].reindex(table["response_id"]).to_numpy()
    titles = {s.id: s.title for s in questionnaire.sections}
    table["standard_title"] = table["section_id"].map(titles)
    # ids stay whole numbers even where an audit's agency is not known (missing, not NaN), and
    # rows go agency by agency, standards in the definition's order (s1, s2, ... s10, not s1, s10)
    for column in ("agency_id", "response_id"):
        if column in table:
            table[column] = table[column].astype("Int64")
    position = {s.id: n for n, s in enumerate(questionnaire.sections)}
    keys = [c for c in ("cycle", "agency_id", "response_id") if c in table]
    table = (
        table.assign(_position=table["section_id"].map(position))
        .sort_values([*keys, "_position"], kind="stable", na_position="last")
        .drop(columns="_position")
        .reset_index(drop=True)
    )
    table = shown(table)  # scores and shares as the pages show them
    value_cols: list[str] = []
    if "practitioner_answers" in table:
        hidden = table["practitioner_answers"].fillna(0).lt(policy.k_for("practitioner"))
        table["suppressed"] = hidden.to_numpy()
        value_cols = ["practitioner_answers", "practitioner_positive", "positive_share"]
        table = mark(table, value_cols, policy.marker)
    options = option_frame(questionnaire)
    rating_options = options.loc[options["question_id"].isin(questionnaire_ratings(questionnaire))].drop_duplicates(
        "value"
    )
    ratings = _scale_text(rating_options)
    columns = [
        Column("cycle", "The audit cycle", "text"),
        Column("agency_id", "The agency", "integer"),
        Column("agency", "The agency's name", "text"),
        Column("sector", "The agency's sector", "text"),
        Column("response_id", "The agency's audit response", "integer"),
        Column("section_id", "The standard", "text", ", ".join(s.id for s in questionnaire.sections)),
        Column("standard_title", "The standard's title", "text"),
        Column(
            "self_rating",
            "The rating the rules give the agency's answers (R1-R4, R2); empty when not all items are answered",
            "text",
            ratings,
        ),
        Column(
            "score_100",
            f"Weighted score of the standard's applicable items, 0 to 100, {WHOLE_NUMBER}",
            "number",
        ),
        Column("applicable", "Items that apply (not rated not applicable)", "integer"),
        Column("met", "Applicable items that count as met after the evidence rules", "integer"),
        Column("moderated_rating", "The sub-group's moderated rating, if moderated", "text", ratings),
        Column("reported_rating", "The rating reported: the moderated one where there is one (R6)", "text", ratings),
        Column("rating_source", "Where the reported rating comes from", "text", "self; moderated"),
        Column("moderation", "How moderation changed the self rating", "text", "agreed; raised; lowered"),
        Column(
            "triangulation",
            "R8: does the practitioners' view bear out a Met rating",
            "text",
            "flag; no-flag; not-enough-answers; not-checked",
        ),
        Column(
            "practitioner_answers",
            "Practitioners of the agency answering the matching question (don't know excluded)",
            "integer",
            _SUPPRESSED_NOTE,
        ),
        Column(
            "positive_share",
            f"Share of those practitioners answering positively, 0 to 1, {WHOLE_PERCENT}",
            "number",
            _SUPPRESSED_NOTE,
        ),
        Column("explanation", "Which rule decided the rating, and the answers it read", "text"),
    ]
    present = [c for c in columns if c.name in table]
    return Export(
        name=f"{questionnaire.id}-standards",
        columns=[c.name for c in present],
        dictionary=present,
        chunks=[table[[c.name for c in present]]],
        sheet="Scored results",
    )


def questionnaire_ratings(questionnaire: Questionnaire) -> list[str]:
    return [q.id for q in questionnaire.questions if q.type == "rating"]


def theme_export(
    table: pd.DataFrame, policy: SuppressionPolicy | None = None, name: str = "themes", sheet: str = "Themes"
) -> Export:
    """A theme table (`themes.theme_table`, suppressed with a policy) with `c` in hidden cells."""
    policy = policy or SuppressionPolicy()
    values = ["respondents", "answers", "positive", "share", "mean_100", "change"]
    table = shown(table)  # shares and means as the pages show them
    table = mark(table, values, policy.marker) if "suppressed" in table else table
    columns = [
        Column("theme", "The theme (questionnaires/themes.json)", "text"),
        Column(
            "measure",
            "Essex measure",
            "text",
            "quantity (how much did we do); quality (how well did we do it); outcome (is anyone better off); all",
        ),
        Column("source", "Who answered", "text", "self-rating; moderated; practitioner; child; family"),
        Column("cycle", "The audit cycle or survey round", "text"),
        Column(
            "group",
            "The agency or sector, or 'all'; 'No agency' or 'No sector' for answers given to no agency",
            "text",
        ),
        Column("age_band", "Child surveys: the age band; empty for all ages or other sources", "text"),
        Column(
            "respondents",
            "Responses (audits for agency sources) with at least one answer in the base",
            "integer",
            _SUPPRESSED_NOTE,
        ),
        Column(
            "answers",
            "Answers in the base (standards for agency sources); don't know and not applicable excluded",
            "integer",
            _SUPPRESSED_NOTE,
        ),
        Column("positive", "Positive answers (standards met, for agency sources)", "integer", _SUPPRESSED_NOTE),
        Column(
            "share",
            f"positive / answers, 0 to 1: the positive or compliance share, {WHOLE_PERCENT}",
            "number",
            _SUPPRESSED_NOTE,
        ),
        Column(
            "mean_100",
            f"Mean score on 0 (each question's lowest option) to 100 (its highest), {WHOLE_NUMBER}",
            "number",
            _SUPPRESSED_NOTE,
        ),
        Column(
            "change",
            f"share less the share of the source's previous cycle (from the unrounded shares), {WHOLE_PERCENT}",
            "number",
            _SUPPRESSED_NOTE,
        ),
    ]
    return Export(
        name=name,
        columns=list(THEME_TABLE_COLUMNS),
        dictionary=columns,
        chunks=[table[THEME_TABLE_COLUMNS]],
        sheet=sheet,
    )


def _text_released(questionnaire: Questionnaire, responses: pd.DataFrame, policy: SuppressionPolicy) -> pd.Index:
    """The responses whose free text may leave the platform: those in large enough groups."""
    if not questionnaire.anonymous:
        return pd.Index(responses["response_id"])
    keys = [c for c in ("cycle", "agency_id", "age_band") if c in responses]
    k = policy.k_for_text(source_of(questionnaire))
    size = (
        responses.groupby(keys, dropna=False)["response_id"].transform("nunique")
        if keys
        else pd.Series(responses["response_id"].nunique(), index=responses.index)
    )
    return pd.Index(responses.loc[size.ge(k), "response_id"])


@dataclass(frozen=True, slots=True)
class _Released:
    """What a raw answers file may say of its responses."""

    meta: pd.DataFrame  # the columns about each response, indexed by response_id, `c` where hidden
    text: pd.Index  # the responses whose free text may be shown
    withheld: pd.Index  # the responses left out of the file
    pooled: pd.Index  # the responses shown with their agency hidden (anonymous surveys)
    numbers: dict[int, int] | None  # anonymous surveys: each response's number in the file

    def answers(self, chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """The chunks without the withheld responses' answers (and without chunks left empty).

        The pooled responses' answers come last, in an order their answers alone decide: in
        the order they came in, a run of them between agencies' shown rows would say which
        agency they used, and how many.
        """
        held: list[pd.DataFrame] = []
        for chunk in chunks:
            if len(self.withheld):
                chunk = chunk.loc[~chunk["response_id"].isin(self.withheld).to_numpy()]
            if len(self.pooled):
                pooled = chunk["response_id"].isin(self.pooled).to_numpy()
                held.append(chunk.loc[pooled])
                chunk = chunk.loc[~pooled]
            if len(chunk):
                yield chunk
        if held and sum(len(h) for h in held):
            yield self._numbered_last(pd.concat(held, ignore_index=True))

    def _numbered_last(self, answers: pd.DataFrame) -> pd.DataFrame:
        """The pooled responses ordered by a digest of their answers, numbered after the shown ones."""
        line = answers["question_id"].astype(str) + "\x1f" + answers["value"].map(repr)
        text = line.groupby(answers["response_id"]).agg(lambda lines: "\x1e".join(sorted(lines)))
        digest = text.map(lambda t: hashlib.sha256(t.encode()).hexdigest())
        order = pd.DataFrame({"response_id": digest.index, "digest": digest.to_numpy()})
        order = order.sort_values(["digest", "response_id"])  # ties: the same answers, told apart by nothing
        if self.numbers is not None:
            first = len(self.numbers) + 1
            self.numbers.update({int(r): first + n for n, r in enumerate(order["response_id"])})
        rank = pd.Series(range(len(order)), index=order["response_id"].to_numpy())
        position = rank.reindex(answers["response_id"]).to_numpy()
        return answers.iloc[np.lexsort((np.arange(len(answers)), position))].reset_index(drop=True)

    def file_ids(self, response_ids: pd.Series) -> np.ndarray:
        """The ids a file shows: anonymous responses' numbers in the file, not the database's
        ids, whose gaps and runs would place the pooled responses among the shown ones."""
        if self.numbers is None:
            return response_ids.to_numpy()
        return response_ids.map(self.numbers).to_numpy()


_IDENTIFYING = ("agency_id", "sector")  # hidden for a small group; cycle and age band stay, as the
# questions asked differ by band (a band's rows are told apart by their questions anyway)


def _rows_released(questionnaire: Questionnaire, responses: pd.DataFrame, policy: SuppressionPolicy) -> _Released:
    """Hide the agency and sector of groups under k; leave out a band's pool still under k.

    A group is the respondents sharing a cycle, agency and age band. Groups under k have their
    agency and sector hidden, and so do further groups, smallest first, until every cycle and
    band's hidden groups are at least two with at least k respondents between them (or are all
    of the band's): the published totals by band, by agency and by sector and band, less the
    groups shown, must not give a hidden group's count. A band whose hidden groups still hold
    fewer than k respondents is withheld: its rows would show a suppressed cell's answers.
    """
    meta_cols = [c for c in META_COLUMNS if c in responses]
    respondents = responses.drop_duplicates("response_id").reset_index(drop=True)
    meta = respondents.set_index("response_id")[meta_cols]
    identifying = [c for c in _IDENTIFYING if c in respondents]
    text = _text_released(questionnaire, responses, policy)
    if not questionnaire.anonymous or respondents.empty:
        return _Released(meta, text, pd.Index([]), pd.Index([]), None)
    pool = [c for c in ("cycle", "age_band") if c in respondents]
    keys = [*pool, *identifying]
    gid = respondents.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    cells = respondents[keys].drop_duplicates().reset_index(drop=True)  # in the order ngroup numbers them
    cells["respondents"] = np.bincount(gid, minlength=len(cells))
    sets = [pool]
    if "age_band" in pool and identifying:
        sets.append([c for c in keys if c != "age_band"])  # an agency's bands add up to its total
    if "sector" in identifying and "agency_id" in identifying:
        sets.append([*pool, "sector"])  # so do a sector's agencies, in a band
    k = policy.k_for(source_of(questionnaire))
    _, hidden_cells = cells_to_hide(cells, "respondents", k, sets)
    hidden = hidden_cells.to_numpy()[gid]
    pool_id = respondents.groupby(pool, dropna=False, sort=False).ngroup().to_numpy() if pool else np.zeros_like(gid)
    pooled = np.bincount(pool_id, weights=hidden)
    withheld = hidden & (pooled[pool_id] < k)
    for column in identifying:
        meta[column] = meta[column].astype(object).mask(hidden, SUPPRESSED)
    shown_ids = sorted(int(r) for r in respondents.loc[~hidden, "response_id"])
    numbers = {r: n for n, r in enumerate(shown_ids, start=1)}  # the pooled ones follow, as they are read
    pooled = pd.Index(respondents.loc[hidden & ~withheld, "response_id"])
    return _Released(meta, text, pd.Index(respondents.loc[withheld, "response_id"]), pooled, numbers)


@dataclass(frozen=True, slots=True)
class RawCounts:
    """How many responses a raw answers file holds, and how many it leaves out as too few to show."""

    shown: int
    left_out: int


def raw_counts(questionnaire: Questionnaire, responses: pd.DataFrame, policy: SuppressionPolicy) -> RawCounts:
    """What `answers_long` and `answers_wide` will hold of these responses: the downloads page
    says it beside each file, so an analyst is not left wondering at a file without rows."""
    released = _rows_released(questionnaire, responses, policy)
    total = responses["response_id"].nunique() if len(responses) else 0
    return RawCounts(total - len(released.withheld), len(released.withheld))


def _in_response_order(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Chunks that never split a response: the last response of a chunk waits for the next."""
    held: pd.DataFrame | None = None
    for chunk in chunks:
        if held is not None:
            chunk = pd.concat([held, chunk], ignore_index=True)
        if chunk.empty:
            held = None
            continue
        last = chunk["response_id"].iloc[-1]
        tail = chunk["response_id"].eq(last).to_numpy()
        held = chunk.loc[tail]
        if (~tail).any():
            yield chunk.loc[~tail]
    if held is not None and len(held):
        yield held


def _typed(
    chunk: pd.DataFrame,
    questionnaire: Questionnaire,
    questions: pd.DataFrame,
    labels: pd.Series,
    released: _Released,
) -> pd.DataFrame:
    typed = typed_answers(chunk, questions)
    base_id = typed["question_id"].str.removesuffix(REASON_SUFFIX)
    info = questions.set_index("question_id")
    typed["questionnaire"] = questionnaire.key
    typed["section_id"] = info["section_id"].reindex(base_id).to_numpy()
    typed["stable_key"] = info["stable_key"].reindex(base_id).to_numpy()
    typed["stable_key"] = typed["stable_key"].where(~typed["type"].eq("reason"), typed["stable_key"] + REASON_SUFFIX)
    key = pd.MultiIndex.from_arrays([typed["question_id"], typed["value_text"].fillna("")])
    typed["label"] = labels.reindex(key).to_numpy()
    hide = typed["type"].isin(TEXT_TYPES) & ~typed["response_id"].isin(released.text)
    typed["value_text"] = typed["value_text"].mask(hide, SUPPRESSED)
    for column in released.meta.columns:
        typed[column] = released.meta[column].reindex(typed["response_id"]).to_numpy()
    return typed


LONG_COLUMNS = [
    "response_id",
    *META_COLUMNS,
    "questionnaire",
    "section_id",
    "question_id",
    "stable_key",
    "type",
    "value_text",
    "label",
    "value_num",
    "value_date",
]


def answers_long(
    questionnaire: Questionnaire,
    answers: Iterable[pd.DataFrame],
    responses: pd.DataFrame,
    policy: SuppressionPolicy | None = None,
) -> Export:
    """Raw answers, one row per answer, typed, with each response's cycle, agency and age band.

    `answers` is an iterator of (`response_id`, `question_id`, `value`) frames;
    `responses` describes every response once. Free text of anonymous responses in groups
    (cycle x agency x age band) smaller than the text threshold reads `c`.
    """
    policy = policy or SuppressionPolicy()
    questions = question_frame(questionnaire)
    options = option_frame(questionnaire)
    labels = options.set_index(["question_id", "value"])["label"]
    meta_cols = [c for c in META_COLUMNS if c in responses]
    released = _rows_released(questionnaire, responses, policy)
    columns = [c for c in LONG_COLUMNS if c not in META_COLUMNS or c in meta_cols]

    def chunks() -> Iterator[pd.DataFrame]:
        for chunk in released.answers(answers):
            typed = _typed(chunk, questionnaire, questions, labels, released)
            typed["response_id"] = released.file_ids(typed["response_id"])
            yield typed[columns]

    dictionary = [
        _META_DOC["response_id"],
        *[_META_DOC[c] for c in meta_cols],
        Column("questionnaire", "The questionnaire and version answered (id@version)", "text"),
        Column("section_id", "The section (for S11, the standard)", "text"),
        Column("question_id", f"The question; '<id>{REASON_SUFFIX}' holds a not applicable reason", "text"),
        Column("stable_key", "The question's key across versions (follows same_as links), for trends", "text"),
        Column(
            "type",
            "The question type",
            "text",
            "single_choice; multiple_choice; rating; yes_no; short_text; long_text; number; date; evidence; action; reason",
        ),
        Column(
            "value_text",
            f"Choice value(s) joined by '; ', text, or evidence and action as JSON; '{SUPPRESSED}' for free text of a group too small to show",
            "text",
        ),
        Column("label", "The chosen option's label", "text"),
        Column("value_num", "Number answers; for evidence, how many pieces", "number"),
        Column("value_date", "Date answers", "date (YYYY-MM-DD)"),
    ]
    return Export(
        name=f"{questionnaire.id}-answers-long",
        columns=columns,
        dictionary=dictionary,
        chunks=chunks(),
        sheet="Raw answers, long",
    )


def answers_wide(
    questionnaire: Questionnaire,
    answers: Iterable[pd.DataFrame],
    responses: pd.DataFrame,
    policy: SuppressionPolicy | None = None,
) -> Export:
    """Raw answers, one row per response and one column per question (in the order asked).

    Chunks of `answers` must come in response order (a response's answers together); a
    response split over two chunks is joined up before it is written.
    """
    policy = policy or SuppressionPolicy()
    questions = question_frame(questionnaire)
    options = option_frame(questionnaire)
    labels = options.set_index(["question_id", "value"])["label"]
    meta_cols = [c for c in META_COLUMNS if c in responses]
    released = _rows_released(questionnaire, responses, policy)
    question_cols: list[str] = []  # the answers' keys, in the order asked
    names: list[str] = []  # their columns: a key that is also a column about the response gets "_answer"
    taken = {"response_id", *meta_cols}
    dictionary = [_META_DOC["response_id"], *[_META_DOC[c] for c in meta_cols]]

    def add(key: str, meaning: str, kind: str, values: str = "") -> None:
        name = key
        while name in taken:  # the workshop asks practitioners their "sector" beside the agency's
            name += "_answer"
        taken.add(name)
        question_cols.append(key)
        names.append(name)
        dictionary.append(Column(name, meaning, kind, values))

    for row in questions.itertuples(index=False):
        mine = options.loc[options["question_id"].eq(row.question_id)]
        add(row.question_id, row.text, row.type, _scale_text(mine) if len(mine) else "")
        if row.type == "rating" and mine["not_applicable"].any():
            add(row.question_id + REASON_SUFFIX, f"Why {row.question_id} does not apply", "reason")
    columns = ["response_id", *meta_cols, *names]

    def chunks() -> Iterator[pd.DataFrame]:
        for chunk in _in_response_order(released.answers(answers)):
            typed = _typed(chunk, questionnaire, questions, labels, released)
            shown = typed["value_text"].astype(object)
            number = typed["type"].isin(["number"])
            shown = shown.mask(number.to_numpy(), typed["value_num"].astype(object))
            date = typed["type"].eq("date")
            shown = shown.mask(date.to_numpy(), typed["value_date"].dt.date.astype(object))  # text in CSV and JSON
            wide = (
                pd.DataFrame({"response_id": typed["response_id"], "question_id": typed["question_id"], "shown": shown})
                .drop_duplicates(["response_id", "question_id"], keep="last")
                .pivot(index="response_id", columns="question_id", values="shown")
                .reindex(columns=question_cols)
            )
            wide.columns = pd.Index(names)
            wide = wide.reset_index()
            for column in meta_cols:
                wide[column] = released.meta[column].reindex(wide["response_id"]).to_numpy()
            wide["response_id"] = released.file_ids(wide["response_id"])
            yield wide[columns].sort_values("response_id", kind="stable")

    return Export(
        name=f"{questionnaire.id}-answers-wide",
        columns=columns,
        dictionary=dictionary,
        chunks=chunks(),
        sheet="Raw answers, wide",
    )


__all__ = ["RawCounts", "answers_long", "answers_wide", "raw_counts", "standards_export", "theme_export"]
