"""ICD-O-3 morphology codes of the WHO soft-tissue entities added with their verified sources
(fhir_mapping/data/histology.yaml), their free-text names, and what the behaviour digit means."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mapping import map_prefetch
from rules.patient import Histology
from rules.setting import current_setting
from tests.fhir_mapping.builders import CTX, bundle

ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
MORPHOLOGY_EXT = (
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
)


def condition(cid: str, code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": "Patient/p1"},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": code,
        **extra,
    }


def coded(code: str, display: str) -> dict[str, Any]:
    return condition("c", {"coding": [{"system": ICDO3, "code": code, "display": display}]})


H = Histology
MPNST = Histology.MALIGNANT_PERIPHERAL_NERVE_SHEATH_TUMOR
CODES = [
    ("8832/1", "Dermatofibrosarcoma protuberans, NOS", H.DFSP),
    ("8832/3", "Dermatofibrosarcoma protuberans, fibrosarcomatous", H.DFSP),
    ("8833/1", "Pigmented dermatofibrosarcoma protuberans", H.DFSP),
    ("8815/1", "Solitary fibrous tumor, NOS", H.SOLITARY_FIBROUS_TUMOR),
    ("8815/3", "Solitary fibrous tumor, malignant", H.SOLITARY_FIBROUS_TUMOR),
    ("8802/3", "Undifferentiated pleomorphic sarcoma", H.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA),
    ("8830/3", "Malignant fibrous histiocytoma", H.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA),
    ("8811/3", "Myxofibrosarcoma", H.MYXOFIBROSARCOMA),
    ("9540/3", "Malignant peripheral nerve sheath tumor, NOS", MPNST),
    ("9542/3", "Malignant peripheral nerve sheath tumor, epithelioid", MPNST),
    ("8821/1", "Aggressive fibromatosis", H.DESMOID_TUMOR),
    ("8822/1", "Abdominal fibromatosis", H.DESMOID_TUMOR),
    ("9252/0", "Tenosynovial giant cell tumor, NOS", H.TENOSYNOVIAL_GIANT_CELL_TUMOR),
    ("9252/1", "Tenosynovial giant cell tumor, diffuse", H.TENOSYNOVIAL_GIANT_CELL_TUMOR),
    ("8804/3", "Epithelioid sarcoma", H.EPITHELIOID_SARCOMA),
    ("8800/3", "Sarcoma, NOS", H.SARCOMA_NOS),
    ("8801/3", "Spindle cell sarcoma", H.SARCOMA_NOS),
]  # fmt: skip


@pytest.mark.parametrize(("code", "display", "histology"), CODES, ids=[c[0] for c in CODES])
def test_icdo3_code_maps_to_its_histology(code: str, display: str, histology: Histology) -> None:
    result = map_prefetch({"c": coded(code, display)}, CTX)
    (diagnosis,) = result.patient.diagnoses
    assert diagnosis.histology is histology
    assert diagnosis.behaviour == code[-1]
    assert not [i for i in result.issues if i.kind == "unparseable-code"]


@pytest.mark.parametrize("code", ["88211", "M8821/1", "8821"])
def test_desmoid_code_spellings(code: str) -> None:
    result = map_prefetch({"c": coded(code, "Aggressive fibromatosis")}, CTX)
    assert result.patient.primary_histology() is Histology.DESMOID_TUMOR


def test_tgct_code_in_the_mcode_histology_extension() -> None:
    resource = condition(
        "c",
        {"text": "Tumour of the right knee"},
        extension=[
            {
                "url": MORPHOLOGY_EXT,
                "valueCodeableConcept": {"coding": [{"system": ICDO3, "code": "9252/1"}]},
            }
        ],
    )
    result = map_prefetch({"c": resource}, CTX)
    assert result.patient.primary_histology() is Histology.TENOSYNOVIAL_GIANT_CELL_TUMOR


@pytest.mark.parametrize(
    "code",
    [
        "9252/3",  # malignant TGCT: a sarcoma the TGCT labels do not cover
        "8802/1",  # pleomorphic hyalinizing angiectatic tumour, not UPS
        "8811/1",  # myxoinflammatory fibroblastic sarcoma, not myxofibrosarcoma
        "9540/0",  # neurofibroma, not MPNST
        "8815/0",  # benign solitary fibrous tumour
        "8802",  # bare 8802 could be either of the above
    ],
)
def test_neighbouring_codes_are_not_read_as_the_entity(code: str) -> None:
    result = map_prefetch({"c": coded(code, "")}, CTX)
    assert result.patient.primary_histology() not in {
        Histology.TENOSYNOVIAL_GIANT_CELL_TUMOR,
        Histology.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA,
        Histology.MYXOFIBROSARCOMA,
        Histology.MALIGNANT_PERIPHERAL_NERVE_SHEATH_TUMOR,
        Histology.SOLITARY_FIBROUS_TUMOR,
    }


@pytest.mark.parametrize("code", ["8832/1", "8815/1", "8821/1", "9252/0", "9252/1"])
def test_behaviour_of_an_entity_coded_0_or_1_by_definition_says_nothing_of_extent(
    code: str,
) -> None:
    """Only GIST /0 and /1 mean localized disease; DFSP NOS, SFT NOS, desmoid and TGCT carry
    their digit whatever the extent, so their advanced-disease cards must not go silent."""
    result = map_prefetch({"c": coded(code, "")}, CTX)
    assert current_setting(result.patient).extent.value == "unknown"


TEXTS = [
    ("Undifferentiated pleomorphic sarcoma of the thigh", H.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA),
    ("UPS, left thigh", H.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA),
    ("High-grade myxofibrosarcoma", H.MYXOFIBROSARCOMA),
    ("Malignant peripheral nerve sheath tumour, sciatic nerve", MPNST),
    ("MPNST in NF1", MPNST),
    ("Desmoid tumour of the abdominal wall", H.DESMOID_TUMOR),
    ("Desmoid-type fibromatosis", H.DESMOID_TUMOR),
    ("Aggressive fibromatosis, shoulder", H.DESMOID_TUMOR),
    ("Diffuse tenosynovial giant cell tumor of the knee", H.TENOSYNOVIAL_GIANT_CELL_TUMOR),
    ("Pigmented villonodular synovitis", H.TENOSYNOVIAL_GIANT_CELL_TUMOR),
    ("TGCT right ankle", H.TENOSYNOVIAL_GIANT_CELL_TUMOR),
]  # fmt: skip


@pytest.mark.parametrize(("text", "histology"), TEXTS, ids=[t[0] for t in TEXTS])
def test_text_names_the_entity(text: str, histology: Histology) -> None:
    result = map_prefetch({"c": condition("t", {"text": text})}, CTX)
    assert result.patient.primary_histology() is histology
    assert "text-derived-finding" in [i.kind for i in result.issues]


@pytest.mark.parametrize(
    "text",
    [
        "Malignant tenosynovial giant cell tumour",  # a sarcoma, not the TGCT the labels cover
        "Follow-ups arranged",  # lower-case 'ups' is not UPS
        "Neurofibromatosis type 1",  # not a desmoid
        "Possible desmoid tumour",  # hedged
    ],
)
def test_text_that_is_not_the_entity(text: str) -> None:
    result = map_prefetch({"c": bundle(condition("t", {"text": text}))}, CTX)
    assert result.patient.primary_histology() not in {
        Histology.TENOSYNOVIAL_GIANT_CELL_TUMOR,
        Histology.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA,
        Histology.DESMOID_TUMOR,
    }
