"""Wording the specialist review asked for, over HTTP: the angiosarcoma options card and the
order-time warning on targeted agents before chemotherapy agree on pazopanib; the liposarcoma
pazopanib warning states a limitation of use, not a contraindication."""

from __future__ import annotations

from tests.scenarios import builders as b
from tests.scenarios.conftest import rule_card

ANGIOSARCOMA = [b.condition("angiosarcoma"), b.metastasis()]
LIPOSARCOMA = [b.condition("liposarcoma")]


def test_angiosarcoma_options_offer_pazopanib_only_after_chemotherapy_and_say_off_label(cds):
    card = rule_card(cds(b.patient_view(conditions=ANGIOSARCOMA)), "angiosarcoma-options")
    assert "after chemotherapy" in card["detail"]
    assert "off-label" in card["detail"]


def test_pazopanib_drafted_before_chemotherapy_in_angiosarcoma_still_warns(cds):
    cards = cds(b.order_sign([b.draft("pazopanib", mg=800)], conditions=ANGIOSARCOMA))
    card = rule_card(cards, "sts-targeted-before-chemotherapy")
    assert card["indicator"] == "warning"


def test_liposarcoma_pazopanib_warning_is_not_a_contraindication(cds):
    cards = cds(
        b.order_sign(
            [b.draft("pazopanib", mg=800)],
            conditions=LIPOSARCOMA,
            medications=[b.progressed("doxorubicin")],
        )
    )
    card = rule_card(cards, "liposarcoma-pazopanib-order")
    assert card["indicator"] == "warning"
    assert "Do not use" not in card["detail"]
    assert "limitation of use" in card["detail"]


def test_fourth_line_ripretinib_after_three_inhibitors_without_regorafenib(cds):
    history = [
        b.progressed("imatinib", mg=400, authored="2021-01-01"),
        b.progressed("sunitinib", mg=50, authored="2022-06-01"),
        b.progressed("avapritinib", mg=300, authored="2024-01-01"),
    ]
    cards = cds(
        b.patient_view(
            conditions=[b.condition("gist")],
            genomics=[b.kit_exon11(), b.negative("PDGFRA")],
            medications=history,
        )
    )
    card = rule_card(cards, "gist-fourth-line-ripretinib")
    assert "three or more kinase inhibitors including imatinib" in card["summary"]
