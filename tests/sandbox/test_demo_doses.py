"""Demo data must be plausible: the chemotherapy of the DSRCT and LMS demo patients is an IV
regimen per cycle (not a daily dose for months), on the card facts and on the timeline."""

from __future__ import annotations

from cds_hooks.demo import load_bundle, prefetch_for
from cds_hooks.timeline.model import line_dose
from fhir_mapping import map_prefetch
from rules.patient import derive_lines_of_therapy


def test_the_dsrct_demo_is_a_plausible_iv_regimen_on_card_and_timeline() -> None:
    result = map_prefetch(prefetch_for(load_bundle("dsrct")), {"patientId": "demo-dsrct"})
    schedules = {e.agent.ingredient: e.dose.schedule for e in result.patient.exposures if e.dose}
    assert schedules == {
        "doxorubicin": "75 mg/m2 every 21 days",
        "ifosfamide": "1800 mg/m2 on days 1-5 of 21 (9000 mg/m2 per cycle)",
    }
    assert not any(i.kind == "implausible-dose" for i in result.issues)
    (line,) = derive_lines_of_therapy(result.patient.exposures)
    assert "doxorubicin 75 mg/m2 every 21 days" in line_dose(line)


def test_the_lms_demo_doxorubicin_is_per_cycle() -> None:
    result = map_prefetch(
        prefetch_for(load_bundle("lms-after-anthracycline")), {"patientId": "demo-lms"}
    )
    (exposure,) = result.patient.exposures
    assert exposure.dose is not None and exposure.dose.schedule == "75 mg/m2 every 21 days"
    assert not any(i.kind == "implausible-dose" for i in result.issues)
