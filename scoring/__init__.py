"""Scoring, compliance rules and theme aggregation: pure functions over pandas DataFrames.

Filled in by the scoring issue; depends on `questionnaires` only, never on `forms` or Flask.
"""
