"""Value-set membership on (system, code), with the normalisations the coding reference asks for.

* HGNC: ``http://www.genenames.org/geneId`` (GRIG STU1/2, MII) equals ``http://www.genenames.org``
  (GRIG STU3, mCODE STU4); codes with or without the ``HGNC:`` prefix.
* ICD-O-3: ``8936``, ``8936/3``, ``M8936/3`` and ``89363`` are one morphology; a code without
  a behaviour digit matches any behaviour of that morphology in the set.
* Sequence Ontology: trailing slash ignored.
* Names (lower case) are a last-resort text match for drugs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rules.knowledge import ValueSetFile
from rules.results import CodeRef, DrugRef, TestRef

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
LOINC = "http://loinc.org"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
HGNC = "http://www.genenames.org"

SO = "http://www.sequenceontology.org"
_SYSTEM_ALIASES = {
    "http://www.genenames.org/geneid": HGNC,
    "http://www.genenames.org": HGNC,
    "http://www.sequenceontology.org": SO,
}
_ICDO_RE = re.compile(r"^M?(\d{4})(?:/?(\d))?$")
#: Stands for a value set without names (no text can name a member).
_NO_NAMES = re.compile(r"(?!)")


def _names_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """One search for "any of ``names`` as a whole word" (the names as written; the text is
    lower-cased by the caller): the same answer as searching for each name in turn."""
    ordered = sorted(names)
    if not ordered:
        return _NO_NAMES
    alternatives = "|".join(re.escape(name) for name in ordered)
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")


def normalise_system(system: str) -> str:
    stripped = system.strip()
    return _SYSTEM_ALIASES.get(stripped.lower().rstrip("/"), stripped)


def normalise_code(system: str, code: str) -> str:
    code = code.strip()
    if system == HGNC and not code.upper().startswith("HGNC:"):
        return f"HGNC:{code}"
    if system == HGNC:
        return "HGNC:" + code.split(":", 1)[1]
    if system == ICDO3:
        match = _ICDO_RE.match(code.upper())
        if match:
            return match.group(1) + (f"/{match.group(2)}" if match.group(2) else "")
    return code


@dataclass(frozen=True, slots=True)
class ExpandedValueSet:
    id: str
    kind: str
    title: str
    display: str
    codes: frozenset[tuple[str, str]]
    morphologies: frozenset[str]
    names: frozenset[str]
    ordered_codes: tuple[CodeRef, ...]
    members: tuple[str, ...]


class ValueSets:
    """The KB's expanded value sets (``includes`` resolved transitively)."""

    def __init__(self, files: Mapping[str, ValueSetFile]) -> None:
        self._files = dict(files)
        self._expanded: dict[str, ExpandedValueSet] = {}
        self._name_patterns: dict[str, re.Pattern[str]] = {}
        self._drug_refs: dict[str, DrugRef] = {}
        self._test_refs: dict[str, TestRef] = {}
        for vs_id in sorted(self._files):
            self._expanded[vs_id] = self._expand(vs_id, ())

    def _expand(self, vs_id: str, stack: tuple[str, ...]) -> ExpandedValueSet:
        if vs_id in stack:
            raise ValueError(f"value set include cycle: {' -> '.join((*stack, vs_id))}")
        if vs_id not in self._files:
            raise KeyError(vs_id)
        vs = self._files[vs_id]
        codes: set[tuple[str, str]] = set()
        names: set[str] = set(vs.names)
        ordered: list[CodeRef] = []
        members: list[str] = [vs_id] if vs.kind in {"drug", "test"} else []
        for entry in vs.codes:
            system = normalise_system(entry.system)
            codes.add((system, normalise_code(system, entry.code)))
            ordered.append(CodeRef(system, entry.code, entry.display))
        for included in vs.includes:
            sub = self._expand(included, (*stack, vs_id))
            codes |= sub.codes
            names |= sub.names
            members.extend(m for m in sub.members if m not in members)
        morphologies = frozenset(c.split("/")[0] for s, c in codes if s == ICDO3)
        return ExpandedValueSet(
            id=vs_id,
            kind=vs.kind,
            title=vs.title,
            display=vs.display or vs.title,
            codes=frozenset(codes),
            morphologies=morphologies,
            names=frozenset(names),
            ordered_codes=tuple(ordered),
            members=tuple(members),
        )

    def __contains__(self, vs_id: object) -> bool:
        return vs_id in self._expanded

    def ids(self) -> list[str]:
        return sorted(self._expanded)

    def get(self, vs_id: str) -> ExpandedValueSet:
        return self._expanded[vs_id]

    def kind(self, vs_id: str) -> str:
        return self._expanded[vs_id].kind

    def contains(self, vs_id: str, system: str | None, code: str | None) -> bool:
        if not system or not code:
            return False
        vs = self._expanded[vs_id]
        norm_system = normalise_system(system)
        norm_code = normalise_code(norm_system, code)
        if (norm_system, norm_code) in vs.codes:
            return True
        return norm_system == ICDO3 and "/" not in norm_code and norm_code in vs.morphologies

    def matches_name(self, vs_id: str, text: str | None) -> bool:
        """Whole-word match of any listed name in free text (case-insensitive)."""
        if not text:
            return False
        lowered = text.lower()
        if lowered.isascii() and lowered.isalnum():
            # One word of [a-z0-9] (an ingredient name): a name matches it as a whole word
            # only by being the whole of it, so the search is a set lookup.
            return lowered in self._expanded[vs_id].names
        pattern = self._name_patterns.get(vs_id)
        if pattern is None:
            pattern = self._name_patterns[vs_id] = _names_pattern(self._expanded[vs_id].names)
        return pattern is not _NO_NAMES and pattern.search(lowered) is not None

    def matches(self, vs_id: str, codes: Iterable[tuple[str, str]], text: str | None) -> bool:
        """True when any (system, code) is in the set, else when the text names a member."""
        if any(self.contains(vs_id, system, code) for system, code in codes):
            return True
        return self.matches_name(vs_id, text)

    @staticmethod
    def normalised(codes: Iterable[tuple[str | None, str | None]]) -> tuple[tuple[str, str], ...]:
        """The (system, code) pairs as :meth:`contains` looks them up (normalised; pairs
        without a system or a code left out, since they are in no set): normalise a drug's
        codes once, then ask :meth:`matches_normalised` for each value set."""
        out: list[tuple[str, str]] = []
        for system, code in codes:
            if system and code:
                norm_system = normalise_system(system)
                out.append((norm_system, normalise_code(norm_system, code)))
        return tuple(out)

    def matches_normalised(
        self, vs_id: str, codes: tuple[tuple[str, str], ...], text: str | None
    ) -> bool:
        """:meth:`matches` for codes already :meth:`normalised`."""
        vs = self._expanded[vs_id]
        for pair in codes:
            if pair in vs.codes:
                return True
            system, code = pair
            if system == ICDO3 and "/" not in code and code in vs.morphologies:
                return True
        return self.matches_name(vs_id, text)

    def drug_ref(self, vs_id: str) -> DrugRef:
        """The drug's reference (one immutable object per value set, built on first use)."""
        ref = self._drug_refs.get(vs_id)
        if ref is None:
            vs = self._expanded[vs_id]
            ref = self._drug_refs[vs_id] = DrugRef(
                id=vs.id, display=vs.display, codes=vs.ordered_codes
            )
        return ref

    def test_ref(self, vs_id: str) -> TestRef:
        """The test's reference (one immutable object per value set, built on first use)."""
        ref = self._test_refs.get(vs_id)
        if ref is None:
            vs = self._expanded[vs_id]
            ref = self._test_refs[vs_id] = TestRef(
                id=vs.id, display=vs.display, codes=vs.ordered_codes
            )
        return ref

    def drug_members(self, vs_id: str) -> tuple[str, ...]:
        """The single-drug value sets a drug or drug-group set expands to."""
        return self._expanded[vs_id].members
