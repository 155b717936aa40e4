"""Problems found in definition files, and the one error that carries all of them.

Administrators fix definitions from these messages, so each names the file, the place in the
file as a JSON path (`$.sections[2].questions[0].scale`) and what is wrong in plain words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PathPart = str | int


def json_path(parts: Iterable[PathPart]) -> str:
    """`["sections", 0, "id"]` -> `$.sections[0].id`."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class DefinitionError(Exception):
    """Raised with every problem found, so an administrator can fix them all in one go."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} found in questionnaire definitions"
        super().__init__("\n".join([heading + ":", *map(str, self.problems)]))
