"""Histology from codes (ICD-O-3 morphology, SNOMED CT, ICD-10-CM) and, last, from text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fhir_mapping.codes import ICD10CM, ICDO3, SNOMED, parse_icdo3_morphology
from fhir_mapping.tables import histology_table
from rules.frozen import fast_init
from rules.patient import Code, Confidence, Histology, HistologySubtype

#: Source priority when coded histologies disagree (lower wins).
_PRIORITY = {ICDO3: 0, SNOMED: 1, ICD10CM: 2}
#: ``Histology.specificity`` of every histology, read once (the property loads two members,
#: each through EnumType's attribute hook on Python 3.11).
_SPECIFICITY = {histology: histology.specificity for histology in Histology}


@fast_init
@dataclass(frozen=True, slots=True)
class HistologyFinding:
    histology: Histology
    subtype: HistologySubtype | None
    code: Code
    confidence: Confidence
    behaviour: str | None = None

    @property
    def specificity(self) -> int:
        return _SPECIFICITY[self.histology] * 2 + (1 if self.subtype else 0)


def from_code(code: Code) -> HistologyFinding | None:
    """Histology for one coding, or ``None`` if the code is not a known sarcoma code."""
    table = histology_table()
    if code.system == ICDO3:
        parsed = parse_icdo3_morphology(code.code)
        if parsed is None:
            return None
        morphology, behaviour = parsed
        row = table.icdo3.get(morphology)
        if row is None:
            return None
        if behaviour is None and not row.bare:
            return None
        if behaviour is not None and behaviour not in row.behaviours:
            return None
        return HistologyFinding(row.histology, row.subtype, code, Confidence.CODED, behaviour)
    if code.system == SNOMED:
        row = table.snomed.get(code.code)
    elif code.system == ICD10CM:
        row = table.icd10(code.code)
    else:
        return None
    if row is None:
        return None
    return HistologyFinding(row.histology, row.subtype, code, Confidence.CODED)


def unparseable_icdo3(codes: Iterable[Code]) -> list[Code]:
    """ICD-O-3 codings that are neither a morphology nor a topography code (e.g. ``80463/3``)."""
    return [
        c
        for c in codes
        if c.system == ICDO3
        and parse_icdo3_morphology(c.code) is None
        and not re.fullmatch(r"C\d{2}(\.\d)?", c.code.strip(), flags=re.IGNORECASE)
    ]


def choose(findings: list[HistologyFinding]) -> tuple[HistologyFinding | None, bool]:
    """Pick the most specific coded finding; report a conflict between named histologies."""
    if not findings:
        return None, False
    named = {f.histology for f in findings if _SPECIFICITY[f.histology] == 2}
    conflict = len(named) > 1
    if conflict:
        best = min(
            (f for f in findings if _SPECIFICITY[f.histology] == 2),
            key=lambda f: (_PRIORITY.get(f.code.system, 9), -f.specificity),
        )
        return best, True
    return max(findings, key=lambda f: (f.specificity, -_PRIORITY.get(f.code.system, 9))), False


# --- conservative text matching ---------------------------------------------------------------

_TU = r"tumou?r"
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], Histology, HistologySubtype | None], ...] = tuple(
    (re.compile(p, re.IGNORECASE), h, s)
    for p, h, s in (
        (rf"gastro-?intestinal stromal {_TU}|\bGIST\b", Histology.GIST, None),
        (
            r"de-?differentiated liposarcoma",
            Histology.LIPOSARCOMA,
            HistologySubtype.DEDIFFERENTIATED,
        ),
        (
            r"well[- ]differentiated liposarcoma",
            Histology.LIPOSARCOMA,
            HistologySubtype.WELL_DIFFERENTIATED,
        ),
        (r"myxoid liposarcoma", Histology.LIPOSARCOMA, HistologySubtype.MYXOID),
        (r"pleomorphic liposarcoma", Histology.LIPOSARCOMA, HistologySubtype.PLEOMORPHIC),
        (r"\bliposarcoma", Histology.LIPOSARCOMA, None),
        (r"leiomyosarcoma", Histology.LEIOMYOSARCOMA, None),
        (r"dermatofibrosarcoma|\bDFSP\b", Histology.DFSP, None),
        (
            rf"inflammatory myofibroblastic {_TU}",
            Histology.INFLAMMATORY_MYOFIBROBLASTIC_TUMOR,
            None,
        ),
        (r"\bPEComa\b|perivascular epithelioid cell", Histology.PECOMA, None),
        (r"alveolar soft[- ]part sarcoma", Histology.ALVEOLAR_SOFT_PART_SARCOMA, None),
        (rf"solitary fibrous {_TU}", Histology.SOLITARY_FIBROUS_TUMOR, None),
        (
            r"extra-?skeletal myxoid chondrosarcoma",
            Histology.EXTRASKELETAL_MYXOID_CHONDROSARCOMA,
            None,
        ),
        (r"angiosarcoma", Histology.ANGIOSARCOMA, None),
        (r"synovial sarcoma", Histology.SYNOVIAL_SARCOMA, None),
        (
            rf"desmoplastic small round cell {_TU}",
            Histology.DESMOPLASTIC_SMALL_ROUND_CELL_TUMOR,
            None,
        ),
        (r"clear[- ]cell sarcoma", Histology.CLEAR_CELL_SARCOMA, None),
        (r"epithelioid sarcoma", Histology.EPITHELIOID_SARCOMA, None),
        (
            r"undifferentiated pleomorphic sarcoma|(?-i:\bUPS\b)|malignant fibrous histiocytoma",
            Histology.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA,
            None,
        ),
        (r"myxofibrosarcoma", Histology.MYXOFIBROSARCOMA, None),
        (
            rf"malignant peripheral nerve sheath {_TU}|(?-i:\bMPNST\b)",
            Histology.MALIGNANT_PERIPHERAL_NERVE_SHEATH_TUMOR,
            None,
        ),
        (r"\bdesmoid|aggressive fibromatosis", Histology.DESMOID_TUMOR, None),
        (
            # not "malignant tenosynovial giant cell tumour", a sarcoma the model does not name
            rf"(?<!malignant )tenosynovial giant cell {_TU}|(?-i:\b(TGCT|PVNS)\b)|"
            rf"pigmented villonodular synovitis|giant cell {_TU} of (the )?tendon sheath",
            Histology.TENOSYNOVIAL_GIANT_CELL_TUMOR,
            None,
        ),
        (r"\bsarcoma\b", Histology.SARCOMA_NOS, None),
    )
)

#: Words that make a text mention unusable (negated, uncertain or historical-family).
_HEDGES = re.compile(
    r"\b(no|not|without|negative|rule[- ]?out|r/o|suspect\w*|possible|probable|"
    r"differential|versus|vs\.?|family history|excluded|query)\b|\?",
    re.IGNORECASE,
)

SARCOMA_HINT = re.compile(
    r"sarcoma|\bGIST\b|stromal|PEComa|DFSP|myofibroblastic|solitary fibrous|"
    r"small round cell|desmoid|fibromatosis|tenosynovial|villonodular|TGCT|PVNS|MPNST|"
    r"nerve sheath|fibrous histiocytoma|tendon sheath|(?-i:\bUPS\b)",
    re.IGNORECASE,
)
#: Each alternative of :data:`SARCOMA_HINT`, lower case and without its ``\b``: an ASCII text
#: in which the pattern matches holds one of them in ``text.lower()`` (on ASCII text the
#: case-insensitive match is ASCII case folding), so a text holding none is decided without
#: the search (~50 thousand instructions on a comorbidity such as "Essential hypertension").
_HINT_WORDS = (
    "sarcoma",
    "gist",
    "stromal",
    "pecoma",
    "dfsp",
    "myofibroblastic",
    "solitary fibrous",
    "small round cell",
    "desmoid",
    "fibromatosis",
    "tenosynovial",
    "villonodular",
    "tgct",
    "pvns",
    "mpnst",
    "nerve sheath",
    "fibrous histiocytoma",
    "tendon sheath",
    "ups",
)


def hints_sarcoma(text: str) -> bool:
    """``SARCOMA_HINT.search(text)`` found something: for ASCII text, searched only when the
    text holds one of :data:`_HINT_WORDS`."""
    if text.isascii():
        lowered = text.lower()
        for word in _HINT_WORDS:
            if word in lowered:
                break
        else:
            return False
    return SARCOMA_HINT.search(text) is not None


def from_text(text: str) -> tuple[Histology, HistologySubtype | None] | None:
    """Histology named in ``text``; ``None`` when absent, hedged or ambiguous."""
    if _HEDGES.search(text):
        return None
    matches: list[tuple[Histology, HistologySubtype | None]] = []
    for pattern, histology, subtype in _TEXT_PATTERNS:
        if pattern.search(text):
            matches.append((histology, subtype))
    if not matches:
        return None
    named = {h for h, _ in matches if h.specificity == 2}
    if len(named) > 1:
        return None
    return max(matches, key=lambda m: (m[0].specificity, m[1] is not None))
