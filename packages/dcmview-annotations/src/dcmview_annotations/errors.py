"""Exceptions raised by dcmview-annotations.

    AnnotationError
    ├── RoiValidationError     a RoiSet payload (PUT body) breaks rules; lists every problem
    └── CsvReadError           the CSV source cannot be read at all (bad argument type)

Problems found in CSV content are not raised: `load_csv` returns them as `CsvProblem`s so that
a bad row never poisons the other files.
"""

from __future__ import annotations

from dataclasses import dataclass


class AnnotationError(Exception):
    """Root of every exception dcmview-annotations raises on purpose."""


@dataclass(frozen=True)
class RoiProblem:
    """One broken rule in a RoiSet: the field it concerns, a stable rule code and a sentence."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RoiValidationError(AnnotationError, ValueError):
    """A RoiSet payload breaks one or more rules; `problems` lists them all."""

    def __init__(self, problems: list[RoiProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class CsvReadError(AnnotationError, TypeError):
    """`load_csv` was given something that is neither a path nor a binary file object."""
