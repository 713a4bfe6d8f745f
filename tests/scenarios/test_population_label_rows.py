"""Label rows added to the special-population tables, over HTTP: entrectinib and sirolimus
(FYARRO or oral, which the record cannot tell apart) in pregnancy, and pexidartinib's labelled
dose for creatinine clearance 15-89 mL/min. Observations carry dates relative to today (the
service's clock), since pregnancy and laboratory results are only read while they are recent."""

from __future__ import annotations

from typing import Any

from tests.scenarios import builders as b
from tests.scenarios.conftest import no_card_with, rule_card
from tests.scenarios.test_special_populations import lab, pregnancy_condition, pregnancy_status

PECOMA = b.condition("pecoma")
TGCT = b.condition("tgct", code=(b.ICDO3, "9252/1", "Tenosynovial giant cell tumor, diffuse"))
PREGNANT = pregnancy_status("LA15173-0", "Pregnant")


def text_order(text: str, *, mg: float | None = None, per_day: int = 1) -> dict[str, Any]:
    """A drafted MedicationRequest naming its drug in text only (brand names, IV products)."""
    resource = b.draft("anlotinib", id="draft-text", mg=mg, per_day=per_day)
    resource["medicationCodeableConcept"] = {"text": text}
    return resource


def test_entrectinib_in_pregnancy_gives_the_contraception_periods(cds):
    cards = cds(
        b.order_sign(
            [b.draft("entrectinib", mg=600)],
            conditions=[b.condition("leiomyosarcoma")],
            genomics=[b.fusion("ETV6", "NTRK3"), PREGNANT],
        )
    )
    card = rule_card(cards, "pregnancy-embryo-fetal-toxicity")
    assert card["indicator"] == "warning"
    assert "Entrectinib label" in card["detail"]
    assert "5 weeks" in card["detail"] and "3 months" in card["detail"]
    assert "not yet clinically reviewed" in card["detail"]


def test_fyarro_ordered_by_text_in_pregnancy_warns_with_both_sirolimus_labels(cds):
    cards = cds(
        b.order_sign(
            [text_order("FYARRO (sirolimus protein-bound particles) 100 mg/m2 IV")],
            conditions=[PECOMA, pregnancy_condition()],
        )
    )
    card = rule_card(cards, "pregnancy-embryo-fetal-toxicity")
    assert "nab-sirolimus (Fyarro): can cause fetal harm" in card["detail"]
    assert "12 weeks" in card["detail"]
    assert "`Condition/cond-pregnant`" in card["detail"]


def test_fyarro_without_a_pregnancy_record_has_no_pregnancy_card(cds):
    cards = cds(
        b.order_sign(
            [text_order("FYARRO (sirolimus protein-bound particles) 100 mg/m2 IV")],
            conditions=[PECOMA],
        )
    )
    no_card_with(cards, "Pregnancy")


def test_pexidartinib_full_dose_with_clearance_60_gets_the_renal_label_dose(cds):
    cards = cds(
        b.order_sign(
            [text_order("pexidartinib 250 mg capsules", mg=250, per_day=2)],
            conditions=[TGCT],
            genomics=[lab("35591-7", 60, "mL/min", high=None, id="cg-1")],
        )
    )
    card = rule_card(cards, "renal-impairment-labelled-dose")
    assert card["indicator"] == "warning"
    assert "125 mg in the morning and 250 mg in the evening" in card["detail"]
    assert "`Observation/cg-1`" in card["detail"]


def test_pexidartinib_at_the_renal_label_dose_is_silent(cds):
    cards = cds(
        b.order_sign(
            [text_order("pexidartinib 125 mg capsules", mg=187.5, per_day=2)],
            conditions=[TGCT],
            genomics=[lab("35591-7", 60, "mL/min", high=None, id="cg-1")],
        )
    )
    no_card_with(cards, "creatinine clearance")


def test_pexidartinib_with_normal_clearance_is_silent(cds):
    cards = cds(
        b.order_sign(
            [text_order("pexidartinib 250 mg capsules", mg=250, per_day=2)],
            conditions=[TGCT],
            genomics=[lab("35591-7", 95, "mL/min", high=None, id="cg-1")],
        )
    )
    no_card_with(cards, "creatinine clearance")


# --- boxed hepatotoxicity warnings: sunitinib and regorafenib ------------------------------------

GIST = [b.condition("gist")]
EXON11 = [b.kit_exon11(), b.negative("PDGFRA")]


def test_sunitinib_after_imatinib_without_recent_liver_tests_prompts_them(cds):
    cards = cds(
        b.order_sign(
            [b.draft("sunitinib", mg=50)],
            conditions=GIST,
            genomics=EXON11,
            medications=[b.progressed("imatinib", mg=400)],
        )
    )
    card = rule_card(cards, "sunitinib-baseline-liver-tests")
    assert card["indicator"] == "warning"
    assert "boxed warning" in card["summary"]
    assert "during each cycle" in card["detail"]
    assert "Regulatory label" in card["detail"]


def test_sunitinib_with_a_recent_liver_panel_has_no_liver_test_card(cds):
    cards = cds(
        b.order_sign(
            [b.draft("sunitinib", mg=50)],
            conditions=GIST,
            genomics=[*EXON11, *b.liver_panel(5)],
            medications=[b.progressed("imatinib", mg=400)],
        )
    )
    no_card_with(cards, "Sunitinib boxed warning")


def test_regorafenib_without_recent_liver_tests_says_its_label_was_read_in_a_copy(cds):
    cards = cds(
        b.order_sign(
            [b.draft("regorafenib", mg=160)],
            conditions=GIST,
            genomics=EXON11,
            medications=[b.progressed("imatinib", mg=400), b.progressed("sunitinib", mg=50)],
        )
    )
    card = rule_card(cards, "regorafenib-baseline-liver-tests")
    assert "every 2 weeks for the first 2 months" in card["detail"]
    assert "secondary copy" in card["detail"]
