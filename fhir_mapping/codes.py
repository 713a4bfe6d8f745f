"""Code-system URIs, well-known codes and safe accessors over raw FHIR JSON.

The accessors never raise on odd input: a wrong type reads as "absent".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from rules.patient import Code

# --- code systems (clinical-coding.md §1, §3, §4) ---------------------------------------------
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
HGNC = "http://www.genenames.org"
HGNC_STU2 = "http://www.genenames.org/geneId"
HGVS = "http://varnomen.hgvs.org"
SO = "http://www.sequenceontology.org"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
MII_BIOMARKER = (
    "https://www.medizininformatik-initiative.de/fhir/ext/modul-mtb/CodeSystem/"
    "mii-cs-mtb-molekulare-biomarker"
)
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

# --- LOINC (clinical-coding.md §1.2, §1.4, §5) -------------------------------------------------
LNC_VARIANT = "69548-6"
LNC_GENE_STUDIED = "48018-6"
LNC_HGVS_C = "48004-6"
LNC_HGVS_P = "48005-3"
LNC_HGVS_G = "81290-9"
LNC_CHANGE_TYPE = "48019-4"
LNC_GENOMIC_SOURCE = "48002-0"
LNC_VARIATION_CODE = "81252-9"
LNC_ISCN = "81291-7"
LNC_VAF = "81258-6"
LNC_DNA_REGION = "47999-8"
# RegionStudied (GRIG STU2 CGFindings.fsh @ 155bf19; mCODE STU4 GenomicRegionStudied)
LNC_REGION_STUDIED = "53041-0"  # DNA region of interest panel
LNC_REGION_DESCRIPTION = "81293-3"  # region-description (string)
LNC_RANGES_EXAMINED = "51959-5"  # ranges-examined (Range)
LNC_GENOMIC_REF_SEQ = "48013-7"  # genomic reference sequence ID
LNC_MEDICATION_ASSESSED = "51963-7"
LNC_DISEASE_STATUS = "97509-4"
LNC_TREATMENT_RESPONSE = "88040-1"
LA_PRESENT = "LA9633-4"
LA_ABSENT = "LA9634-2"
LA_SOMATIC = "LA6684-0"
LA_GERMLINE = "LA6683-2"
SCT_POSITIVE = "10828004"

# --- SNOMED (clinical-coding.md §5) ------------------------------------------------------------
SCT_PROGRESSION_STOP = "266721009"
SCT_TOXICITY_STOP = "407563006"
SCT_COMPLETED_STOP = "182992009"
SCT_OTHER_STOPS = frozenset(
    {
        "160932005",
        "105480006",
        "184081006",
        "309846006",
        "399307001",
        "419620001",
        "7058009",
        "443729008",
        "77386006",
    }
)
SCT_CURATIVE = "373808002"
SCT_PALLIATIVE = "363676003"
SCT_ADJUVANT = "373846009"  # "Adjuvant - intent" (mCODE STU4 VS_Other.fsh comment; MII onko maps)
SCT_NEOADJUVANT = "373847000"  # "Neo-adjuvant - intent" (MII/Senologie ConceptMap)
SCT_IMPROVED = "268910001"
SCT_STABLE = "359746009"
SCT_WORSENED = "271299001"
SCT_UNDETERMINED = "709137006"
# No evidence of disease / remission / distant metastasis (mCODE ConditionStatusTrend values):
# 260415000 "Not detected" (mCODE STU1 ConditionStatusTrendVS; STU4 VS_Other.fsh comment),
# 281900007 "No abnormality detected" (STU4 VS_Other.fsh comment, FHIR-32837),
# 550991000124107 / 103338009 full remission (disorder / qualifier; STU4 ConditionStatusTrendMaxVS),
# 551001000124108 / 103337004 partial remission (same), 399409002 "Distant metastasis present".
SCT_NOT_DETECTED = "260415000"
SCT_NO_ABNORMALITY = "281900007"
SCT_FULL_REMISSION = "550991000124107"
SCT_FULL_REMISSION_QUALIFIER = "103338009"
SCT_PARTIAL_REMISSION = "551001000124108"
SCT_PARTIAL_REMISSION_QUALIFIER = "103337004"
SCT_DISTANT_METASTASIS = "399409002"

# --- Sequence Ontology fusion codes (clinical-coding.md §1.3) ----------------------------------
SO_FUSION_CODES = frozenset({"SO:0001565", "SO:0001886", "SO:1000044", "SO:0002062"})


@lru_cache(maxsize=1024)
def normalise_system(system: str) -> str:
    """Normalise equivalent code-system URIs (HGNC versions, SO trailing slash).

    Cached: called for every coding read; a code-system URI is not patient data.
    """
    stripped = system.strip()
    if stripped.rstrip("/") == HGNC_STU2 or stripped.rstrip("/") == HGNC:
        return HGNC
    if stripped.rstrip("/") == SO:
        return SO
    return stripped


#: Compiled once: ``re.fullmatch`` with a flag pays an enum lookup and a cache probe per
#: call, and every gene coding of every variant is read through here.
_HGNC_ID = re.compile(r"\s*(?:HGNC:)?(\d+)\s*", re.IGNORECASE)


def normalise_hgnc(code: str) -> str | None:
    """``HGNC:6342`` or ``6342`` -> ``HGNC:6342``; ``None`` if not an HGNC id."""
    match = _HGNC_ID.fullmatch(code)
    return f"HGNC:{match.group(1)}" if match else None


def normalise_so(code: str) -> str:
    """``SO:0001565`` / ``0001565`` -> ``SO:0001565``."""
    text = code.strip().upper()
    if text.startswith("SO:"):
        return text
    if re.fullmatch(r"\d{7}", text):
        return f"SO:{text}"
    return text


ICDO3_MORPHOLOGY = re.compile(r"^M?(\d{4})(?:/?(\d))?$", re.IGNORECASE)


def parse_icdo3_morphology(code: str) -> tuple[str, str | None] | None:
    """``8936/3``, ``8936``, ``M8936/3``, ``89363`` -> ``("8936", "3")`` / ``("8936", None)``."""
    match = ICDO3_MORPHOLOGY.match(code.strip())
    if match is None:
        return None
    return match.group(1), match.group(2)


# --- raw JSON accessors --------------------------------------------------------------------------


# ``type(x) is dict`` first: parsed JSON is plain dicts, and isinstance() against the Mapping
# ABC costs several times more on these hot paths (a Python-level ``__instancecheck__``), so
# the other JSON types (absent elements above all: ``None``) are turned away before it.
_JSON_SCALARS = frozenset({type(None), str, list, int, float, bool})

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def as_dict(value: Any) -> Mapping[str, Any]:
    kind = type(value)
    if kind is dict:
        return value  # type: ignore[no-any-return]
    return value if kind not in _JSON_SCALARS and isinstance(value, Mapping) else _EMPTY


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def as_decimal(value: Any) -> Decimal | None:
    """A finite number from a JSON number or numeric string (never a boolean); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def codings(concept: Any) -> Iterator[Mapping[str, Any]]:
    for coding in as_list(as_dict(concept).get("coding")):
        if type(coding) is dict or (
            type(coding) not in _JSON_SCALARS and isinstance(coding, Mapping)
        ):
            yield coding


def concept_codes(concept: Any) -> Iterator[Code]:
    """Every coding of a CodeableConcept with a system and code, systems normalised."""
    if not (
        type(concept) is dict
        or (type(concept) not in _JSON_SCALARS and isinstance(concept, Mapping))
    ):
        return
    items = concept.get("coding")
    if not isinstance(items, list):
        return
    for coding in items:
        if not (
            type(coding) is dict
            or (type(coding) not in _JSON_SCALARS and isinstance(coding, Mapping))
        ):
            continue
        system = coding.get("system")
        code = coding.get("code")
        if (
            isinstance(system, str)
            and isinstance(code, str)
            and system.strip()
            and (stripped := code.strip())
        ):
            yield Code(normalise_system(system), stripped, as_str(coding.get("display")))


def code_pairs(concept: Any) -> list[tuple[str, str]]:
    """``[(c.system, c.code) for c in concept_codes(concept)]`` without building a ``Code`` per
    coding or running a generator (hot: every component of every genomic Observation is keyed
    through here; a generator left early is finalised, a ``Code`` is a dataclass ``__init__``)."""
    if not (
        type(concept) is dict
        or (type(concept) not in _JSON_SCALARS and isinstance(concept, Mapping))
    ):
        return []
    items = concept.get("coding")
    if not isinstance(items, list):
        return []
    out: list[tuple[str, str]] = []
    for coding in items:
        if not (
            type(coding) is dict
            or (type(coding) not in _JSON_SCALARS and isinstance(coding, Mapping))
        ):
            continue
        system = coding.get("system")
        code = coding.get("code")
        if (
            isinstance(system, str)
            and isinstance(code, str)
            and system.strip()
            and (stripped := code.strip())
        ):
            out.append((normalise_system(system), stripped))
    return out


def only_coding(concept: Any, systems: frozenset[str]) -> str | None:
    """The code of a JSON concept whose only coding is a JSON object in one of ``systems``
    (spelt exactly as given) with a string code, unstripped; ``None`` for any other shape.
    The fast paths' reading of the common single-coding concept: anything else goes to
    :func:`code_pairs` and its kin, which normalise."""
    if type(concept) is dict:
        items = concept.get("coding")
        if type(items) is list and len(items) == 1:
            coding = items[0]
            if type(coding) is dict:
                system = coding.get("system")
                if type(system) is str and system in systems:
                    code = coding.get("code")
                    if type(code) is str:
                        return code
    return None


def first_code(concept: Any, system: str) -> Code | None:
    return next((c for c in concept_codes(concept) if c.system == system), None)


def has_code(concept: Any, system: str, code: str) -> bool:
    """Like ``any(... for c in concept_codes(concept))`` without building Code objects (hot)."""
    if not (
        type(concept) is dict
        or (type(concept) not in _JSON_SCALARS and isinstance(concept, Mapping))
    ):
        return False
    items = concept.get("coding")
    if not isinstance(items, list):
        return False
    for coding in items:
        if not (
            type(coding) is dict
            or (type(coding) not in _JSON_SCALARS and isinstance(coding, Mapping))
        ):
            continue
        value = coding.get("code")
        raw_system = coding.get("system")
        if (
            isinstance(value, str)
            and isinstance(raw_system, str)
            and code
            and value.strip() == code
            and raw_system.strip()
            and normalise_system(raw_system) == system
        ):
            return True
    return False


def concept_text(concept: Any) -> str | None:
    return as_str(as_dict(concept).get("text"))


def reference_of(resource: Mapping[str, Any]) -> str:
    # as_str inlined: called several times for every resource read.
    rtype = resource.get("resourceType")
    if not (isinstance(rtype, str) and rtype.strip()):
        rtype = "Unknown"
    rid = resource.get("id")
    return f"{rtype}/{rid}" if isinstance(rid, str) and rid.strip() else f"{rtype}/(no id)"
