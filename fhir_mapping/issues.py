"""Data-quality findings: reported, never raised."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MappingIssue:
    """One data-quality finding.

    ``kind`` is a stable kebab-case code; ``reference`` is ``Type/id``; ``problem`` is a fixed
    explanation that never contains names, identifiers or free text from the resource.
    """

    kind: str
    reference: str
    problem: str
