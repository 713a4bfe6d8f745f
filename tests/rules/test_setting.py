"""Disease setting: how extent facts combine, and how advanced-disease rules respond to it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rules import KnowledgeBase, evaluate, load_kb
from rules.engine import ADVANCED_ONLY
from rules.extent import Extent, ExtentFact, ExtentSource, GistRisk, GistRiskAssessment
from rules.gist_risk import derive
from rules.patient import PartialDate, Patient
from rules.setting import current_setting
from tests.rules.sarcoma_case_factory import Case, build_patient, load_all_cases

KB: KnowledgeBase = load_kb()
ADVANCED_RULES = {c.rule.id for c in KB.rules if c.rule.setting == "advanced"}
#: Firing cases of the advanced-disease rules whose patient records no extent of its own (those
#: with one are the rules' own setting cases).
FIRING = [
    c
    for c in load_all_cases()
    if c.rule in ADVANCED_RULES
    and c.expect == "fire"
    and current_setting(c.patient).extent is Extent.UNKNOWN
]


def _with(patient: Patient, **extra: object) -> Patient:
    spec_patient = build_patient(extra)  # type: ignore[arg-type]
    return replace(
        patient,
        extent_facts=patient.extent_facts + spec_patient.extent_facts,
        resections=patient.resections + spec_patient.resections,
        disease_status=patient.disease_status + spec_patient.disease_status,
    )


def _fired(case: Case, patient: Patient) -> list[object]:
    return [r for r in evaluate(patient, KB, case.as_of, case.hook) if r.rule_id == case.rule]


def test_every_line_recommendation_is_gated_on_advanced_disease() -> None:
    lines = {c.rule.id for c in KB.rules if c.rule.line}
    assert lines <= ADVANCED_RULES
    # the A4 list of the specialist review, all gated
    assert {
        "gist-first-line-imatinib", "dfsp-imatinib", "imt-alk-crizotinib", "pecoma-mtor-inhibitor",
        "asps-pazopanib", "sft-pazopanib-sunitinib", "emc-pazopanib", "angiosarcoma-options",
        "lms-first-line-anthracycline", "lps-first-line-anthracycline",
        "anlotinib-second-line-sts", "dsrct-anlotinib-case-report",
        "gist-kit-exon9-draft-imatinib-400",
    } <= ADVANCED_RULES  # fmt: skip
    assert FIRING


@pytest.mark.parametrize("case", FIRING, ids=lambda c: c.id)
def test_advanced_rule_is_silent_for_localized_or_resected_disease(case: Case) -> None:
    localized = _with(case.patient, extent=[{"extent": "localized", "date": "2025-12"}])
    assert _fired(case, localized) == []
    resected = _with(case.patient, resections=[{"date": "2025-12-01", "residual": "R0"}])
    assert _fired(case, resected) == []
    remission = _with(case.patient, status=[{"value": "no-evidence-of-disease", "date": "2025-12"}])
    assert _fired(case, remission) == []


@pytest.mark.parametrize("case", FIRING, ids=lambda c: c.id)
def test_advanced_rule_fires_plainly_for_metastatic_disease(case: Case) -> None:
    metastatic = _with(
        case.patient,
        extent=[{"extent": "metastatic", "source": "secondary-condition", "date": "2025-12",
                 "site": "liver", "text": "Secondary malignant neoplasm of liver",
                 "ref": "Condition/met-liver"}],
    )  # fmt: skip
    recs = _fired(case, metastatic)
    assert len(recs) == 1
    rec = recs[0]
    assert not rec.summary.startswith(ADVANCED_ONLY)  # type: ignore[attr-defined]
    assert rec.setting_confirmed  # type: ignore[attr-defined]
    setting = [f for f in rec.findings if f.text.startswith("Setting:")]  # type: ignore[attr-defined]
    assert setting and setting[0].source_ref == "Condition/met-liver"
    assert "metastatic (liver) since 2025-12" in setting[0].text


@pytest.mark.parametrize("case", FIRING, ids=lambda c: c.id)
def test_advanced_rule_with_unknown_extent_is_hedged(case: Case) -> None:
    recs = _fired(case, case.patient)
    assert len(recs) == 1
    rec = recs[0]
    assert rec.summary.startswith(ADVANCED_ONLY)  # type: ignore[attr-defined]
    assert not any(a.recommended for a in rec.actions)  # type: ignore[attr-defined]
    assert any("Extent of disease not recorded" in f.text for f in rec.findings)  # type: ignore[attr-defined]


def _fact(extent: str, when: str | None, source: str = "stage", ref: str = "x") -> ExtentFact:
    return ExtentFact(
        Extent(extent),
        ExtentSource(source),
        extent,
        ref,
        PartialDate.parse(when) if when else None,
    )


def test_latest_fact_wins_and_recurrence_after_resection_is_advanced() -> None:
    patient = build_patient(
        {
            "resections": [{"date": "2022-04-02", "residual": "R0"}],
            "status": [{"value": "progression", "date": "2025-03-10"}],
        }
    )
    setting = current_setting(patient)
    assert setting.extent is Extent.ADVANCED
    assert setting.since == PartialDate(2025, 3, 10)
    resected = build_patient({"resections": [{"date": "2025-04-02", "residual": "R0"}]})
    assert current_setting(resected).text() == "resected 2025-04-02 (R0), no evidence of disease"


def test_active_metastasis_is_not_cleared_by_resection_of_the_primary() -> None:
    patient = build_patient(
        {
            "extent": [{"extent": "metastatic", "source": "secondary-condition",
                        "date": "2025-03", "site": "liver"}],
            "resections": [{"date": "2025-05-02", "residual": "R0"}],
        }
    )  # fmt: skip
    setting = current_setting(patient)
    assert setting.extent is Extent.METASTATIC
    assert setting.text() == "metastatic (liver) since 2025-03"
    cleared = replace(
        patient,
        disease_status=build_patient(
            {"status": [{"value": "no-evidence-of-disease", "date": "2025-09"}]}
        ).disease_status,
    )
    assert current_setting(cleared).extent is Extent.NO_EVIDENCE_OF_DISEASE


def test_r2_resection_is_locally_advanced_and_same_day_conflict_favours_advanced() -> None:
    r2 = build_patient({"resections": [{"date": "2025-05-02", "residual": "R2"}]})
    assert current_setting(r2).extent is Extent.LOCALLY_ADVANCED
    both = build_patient(
        {"extent": [{"extent": "localized", "date": "2025-05"},
                    {"extent": "metastatic", "date": "2025-05"}]}
    )  # fmt: skip
    assert current_setting(both).extent is Extent.METASTATIC


def test_adjuvant_course_is_not_a_line_of_therapy() -> None:
    patient = build_patient(
        {
            "therapy": [
                {"drug": "imatinib", "start": "2021-05", "end": "2024-05", "intent": "adjuvant",
                 "status": "completed", "mg": 400},
                {"drug": "imatinib", "start": "2025-04", "mg": 400},
            ]
        }
    )  # fmt: skip
    lines = patient.lines_of_therapy()
    assert len(lines) == 1
    assert lines[0].start == PartialDate(2025, 4)


@pytest.mark.parametrize(
    ("size", "mitoses", "site", "rupture", "risk"),
    [
        (6, 8, "gastric", None, GistRisk.HIGH),
        (4, 3, "gastric", None, GistRisk.VERY_LOW),
        (4, 3, "jejunum-ileum", None, GistRisk.LOW),
        (12, 2, "gastric", None, GistRisk.INTERMEDIATE),
        (12, 2, "small-intestine", None, GistRisk.HIGH),
        (7, 2, "small-intestine", None, None),  # duodenum and jejunum/ileum columns disagree
        (7, 2, "jejunum-ileum", None, None),  # insufficient data
        (1.5, 1, "gastric", True, GistRisk.HIGH),  # rupture
        (3, 2, None, None, None),  # site unknown
    ],
)
def test_gist_risk_from_the_afip_table(
    size: float, mitoses: float, site: str | None, rupture: bool | None, risk: GistRisk | None
) -> None:
    from decimal import Decimal

    derived = derive(
        GistRiskAssessment(
            "Observation/p",
            size_cm=Decimal(str(size)),
            mitoses_per_5mm2=Decimal(str(mitoses)),
            site=site,
            rupture=rupture,
        )
    )
    assert (derived.risk if derived else None) is risk
