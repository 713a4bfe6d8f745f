"""Clinical wording of patient facts: the words a card or a document shows for a histology, a
stop reason, a count or a fusion, never an internal key such as ``sarcoma-nos``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rules.patient import Histology, HistologySubtype, StopReason

#: Names for the histologies the knowledge base has no section (and so no label) for.
HISTOLOGY_NAMES: Mapping[str, str] = {
    Histology.GIST.value: "Gastrointestinal stromal tumour (GIST)",
    Histology.SYNOVIAL_SARCOMA.value: "Synovial sarcoma",
    Histology.EPITHELIOID_SARCOMA.value: "Epithelioid sarcoma",
    Histology.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA.value: "Undifferentiated pleomorphic sarcoma",
    Histology.MYXOFIBROSARCOMA.value: "Myxofibrosarcoma",
    Histology.MALIGNANT_PERIPHERAL_NERVE_SHEATH_TUMOR.value: (
        "Malignant peripheral nerve sheath tumour (MPNST)"
    ),
    Histology.SARCOMA_NOS.value: "Sarcoma without a histologic subtype",
    Histology.OTHER.value: "Tumour other than a recognised sarcoma",
}

_STOPPED = {
    StopReason.PROGRESSION: "stopped for progression",
    StopReason.TOXICITY: "stopped for toxicity",
    StopReason.COMPLETED: "completed",
    StopReason.OTHER: "stopped for another reason",
}

#: British and American spellings that name the same thing.
_SPELLINGS = (("tumour", "tumor"), ("oesophag", "esophag"), ("haem", "hem"), ("oedema", "edema"))


def histology_name(value: str, labels: Mapping[str, str] | None = None) -> str:
    """The clinical name of a histology id: the KB's label, else :data:`HISTOLOGY_NAMES`."""
    if labels and value in labels:
        return labels[value]
    if value in HISTOLOGY_NAMES:
        return HISTOLOGY_NAMES[value]
    return value.replace("-", " ").capitalize()


def diagnosis_name(
    histology: str, subtype: HistologySubtype | None, labels: Mapping[str, str] | None = None
) -> str:
    """``Dedifferentiated liposarcoma``, ``Leiomyosarcoma``: subtype first, one capital."""
    name = histology_name(histology, labels)
    if subtype is None:
        return name
    rest = name[0].lower() + name[1:] if name[1:2].islower() else name
    return f"{subtype.value.replace('-', ' ').capitalize()} {rest}"


def _normal(text: str) -> str:
    text = text.lower()
    for british, american in _SPELLINGS:
        text = text.replace(british, american)
    text = re.sub(r"\([^)]*\)", " ", text)  # acronyms in parentheses: "(GIST)"
    text = re.sub(r"\b(nos|not otherwise specified)\b", " ", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def same_name(first: str, second: str) -> bool:
    """True when two names differ only in spelling (tumour/tumor), case, ``NOS`` or an
    acronym in parentheses: the second adds nothing next to the first."""
    return _normal(first) == _normal(second)


def with_recorded_as(name: str, display: str | None) -> str:
    """``name``, followed by the record's own wording when it says something different."""
    if not display or same_name(name, display):
        return name
    return f"{name}, recorded as {display}"


def stopped(reason: StopReason | None) -> str:
    """How a course ended, as a clause: ``stopped for progression``, ``completed``; empty when
    unknown."""
    if reason is None:
        return ""
    return _STOPPED.get(reason, "")


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``1 line``, ``2 lines``: never ``line(s)``."""
    word = singular if number == 1 else (plural or f"{singular}s")
    return f"{number} {word}"


def fusion(genes: Iterable[str]) -> str:
    """HGVS fusion notation: ``EWSR1::WT1``."""
    return "::".join(genes)


__all__ = [
    "HISTOLOGY_NAMES",
    "count",
    "diagnosis_name",
    "fusion",
    "histology_name",
    "same_name",
    "stopped",
    "with_recorded_as",
]
