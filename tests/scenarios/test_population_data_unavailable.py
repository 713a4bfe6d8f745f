"""Order hooks when the pregnancy and organ-function search could not be had.

The `populations` key neither sent nor fetchable (no fhirServer here), sent as an
OperationOutcome, or sent as a Bundle whose search failed (an error OperationOutcome entry):
the labelled pregnancy and organ-impairment checks could not be made from results, and the
cards about a drafted drug with label rows say so. An empty search (the record holds no such
result) is not "unavailable": no card, no line."""

from __future__ import annotations

from typing import Any

from tests.scenarios import builders as b
from tests.scenarios.conftest import card_with, no_card_with

GIST = [b.condition("gist")]
EXON11 = [b.kit_exon11(), b.negative("PDGFRA")]
LMS = [b.condition("leiomyosarcoma")]
LINE = "label checks for pregnancy"


def imatinib_first_line() -> dict[str, Any]:
    """Imatinib 400 mg for KIT exon 11 GIST: an order no rule objects to."""
    return b.order_sign([b.draft("imatinib", mg=400)], conditions=GIST, genomics=EXON11)


def outcome(severity: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "id": f"search-{severity}",
        "issue": [{"severity": severity, "code": "processing", "diagnostics": "search failed"}],
    }


def test_unavailable_population_data_gives_a_card_when_no_other_card_is_about_the_draft(cds):
    body = imatinib_first_line()
    del body["prefetch"]["populations"]
    card = card_with(cds(body), "pregnancy", "not made", "imatinib", indicator="info")
    assert "results not available" in card["detail"]
    assert "`MedicationRequest/" in card["detail"]
    assert "label checks for pregnancy, hepatic and renal impairment" in card["detail"]


def test_an_empty_population_search_is_no_data_and_gives_no_card(cds):
    assert cds(imatinib_first_line()) == []
    body = imatinib_first_line()
    body["prefetch"]["populations"] = None
    assert cds(body) == []


def test_population_key_as_an_operation_outcome_is_unavailable_not_a_500(cds):
    body = imatinib_first_line()
    body["prefetch"]["populations"] = outcome("error")
    card_with(cds(body), "pregnancy", "not made", "imatinib", indicator="info")


def test_a_failed_population_search_inside_a_bundle_is_unavailable(cds):
    body = imatinib_first_line()
    body["prefetch"]["populations"] = b.searchset([outcome("error")])
    card = card_with(cds(body), "pregnancy", "not made", indicator="info")
    assert "results not available" in card["detail"]


def test_a_warning_outcome_in_an_empty_search_is_still_no_data(cds):
    """Servers (Epic among them) answer an empty search with a warning entry: that is a search
    that ran and found nothing, not an unavailable one."""
    body = imatinib_first_line()
    body["prefetch"]["populations"] = b.searchset([outcome("warning")])
    no_card_with(cds(body), "not made")


def test_the_card_about_the_draft_carries_the_line_instead_of_a_second_card(cds):
    body = b.order_sign([b.draft("pazopanib", mg=800)], conditions=LMS)
    del body["prefetch"]["populations"]
    cards = cds(body)
    no_card_with(cards, "not made")
    card = card_with(cards, "boxed warning", "liver tests", indicator="warning")
    data_quality = [line for line in card["detail"].splitlines() if "Data quality" in line]
    assert len(data_quality) == 1 and LINE in data_quality[0]
    assert "pazopanib" in data_quality[0].lower()


def test_a_drug_without_label_population_rows_gets_no_line(cds):
    """Patient view is not an order: no population line, whatever is missing."""
    body = b.patient_view(conditions=GIST, genomics=EXON11)
    del body["prefetch"]["populations"]
    assert all(LINE not in card["detail"] for card in cds(body))


def first_page(*days: int) -> dict[str, Any]:
    """The first page of the population search, with a next page the service cannot fetch."""
    labs = [b.lab_result("1742-6", 30, "U/L", high=40, days_ago=d, id=f"alt-{d}") for d in days]
    page = b.searchset(labs)
    page["link"] = [{"relation": "next", "url": "https://ehr.example/fhir/Observation?page=2"}]
    return page


def test_a_first_page_in_no_date_order_is_not_the_newest_results(cds):
    """A server that ignored `_sort=-date` sends any 100 results first: the newest may be on
    the page the service could not fetch."""
    body = imatinib_first_line()
    body["prefetch"]["populations"] = first_page(5, 100, 200)
    body["prefetch"]["populations"]["entry"].reverse()  # oldest first
    card_with(cds(body), "pregnancy", "not made", "imatinib", indicator="info")


def test_a_first_page_newest_first_is_read_as_the_newest_results(cds):
    body = imatinib_first_line()
    body["prefetch"]["populations"] = first_page(5, 100, 200)
    no_card_with(cds(body), "not made")
