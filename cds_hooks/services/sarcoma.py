"""The three sarcoma therapy-sequencing services: declarations and orchestration.

Declared once here; discovery, prefetch checking and dispatch all derive from these
declarations. ``handle`` is Flask-free: map FHIR to the patient model, evaluate the
knowledge base, render cards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_hooks.cards import card_rules, render
from cds_hooks.models import Card
from cds_hooks.prefetch import newest_first_or_complete, search_failed
from cds_hooks.protocol import CallContext
from cds_hooks.registry import PrefetchSpec, ServiceDefinition
from fhir_mapping import map_prefetch
from fhir_mapping.budget import checkpoint
from fhir_mapping.drafts import UncheckedOrder
from fhir_mapping.gist_risk import SEARCHABLE_LOINC as GIST_RISK_LOINC
from fhir_mapping.mapping import MappingResult
from fhir_mapping.populations import LAB_CODES, LNC_PREGNANCY_STATUS
from rules import KnowledgeBase, Recommendation, evaluate
from rules.lab_lookback import lab_lookback_days
from rules.population_gaps import PopulationGap, population_gaps

TIMELINE_LAUNCH_PATH = "/app/timeline/launch"
LOINC = "http://loinc.org"
# Genomic results the rules read (clinical-coding.md §1.2, §1.6): the GRIG/mCODE variant
# assessment, and the single-gene tests for KIT, PDGFRA, NTRK, ALK and the sarcoma fusions.
GENOMIC_LOINC = (
    "69548-6",  # Genetic variant assessment (GRIG / mCODE variant and fusion shape)
    "53041-0",  # DNA region of interest panel (GRIG RegionStudied: the regions a panel covers)
    "55201-8",  # KIT gene targeted mutation analysis
    "77171-7",  # KIT exon 11
    "77172-5",  # KIT exon 9
    "87732-4",  # KIT exon 13
    "87731-6",  # KIT exon 17
    "87733-2",  # KIT exon 8
    "88519-4",  # KIT c.2447A>T (D816V)
    "71357-8",  # PDGFRA exon 18
    "77170-9",  # PDGFRA p.Asp842Val
    "93813-4",  # NTRK1/2/3 rearrangements
    "78205-2",  # ALK rearrangements (FISH)
    "79206-9",  # EML4-ALK fusion transcript
    "88744-8",  # EML4-ALK fusion transcript
    "21804-0",  # EWSR1-WT1 (DSRCT)
    "21807-3",  # EWSR1-ATF1 (clear cell sarcoma)
    "21824-8",  # EWSR1-NR4A3 (extraskeletal myxoid chondrosarcoma)
    "93806-8",  # EWSR1 rearrangements
    "93808-4",  # MDM2 amplification
)
STAGING_LOINC = (
    "21907-1", "21901-4", "21913-9",  # TNM M category: clinical, pathologic, other
    "21908-9", "21902-2", "21914-7",  # TNM stage group: clinical, pathologic, other
)  # fmt: skip
#: mCODE STU3+ staging Observation codes (SNOMED CT observables: M category, cM, pM; TNM,
#: clinical and pathologic stage grouping).
STAGING_SNOMED = (
    "277208005", "399387003", "371497001", "399390009", "399537006", "399588009",
    "17964000",  # residual tumour stage (R0/R1/R2)
)  # fmt: skip
SNOMED = "http://snomed.info/sct"
TBD_CODES = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
STATUS_LOINC = (
    "97509-4",  # mCODE CancerDiseaseStatus
    "88040-1",  # Response to cancer treatment
    "31206-6",  # mCODE HistologicBehaviorAndType (histology as an Observation)
)
#: GIST risk factors with a code (fhir_mapping.gist_risk's own table: mCODE TumorSize 21889-1).
#: Mitotic count, rupture and a recorded risk category have no verified code: the mapping
#: recognises them by wording, so no code search finds them (the adjuvant card then says
#: which factors were not available).


#: The special-population Observations the mapping reads (fhir_mapping.populations): pregnancy
#: status and the organ-function laboratory results. Derived from the mapping's own code
#: tables, so a code read there is always searched for here.
POPULATION_LOINC = (LNC_PREGNANCY_STATUS, *LAB_CODES)
POPULATIONS_KEY = "populations"
#: How far back the service looks when it runs the population search itself: the longest
#: window a population rule reads (a pregnancy record counts for up to 366 days; laboratory
#: results for 30 to 180).
POPULATION_LOOKBACK_DAYS = 366


def _codes(system: str, codes: tuple[str, ...]) -> str:
    return ",".join(f"{system}|{code}" for code in codes)


PREFETCH = (
    # Optional and never fetched back: no rule reads the Patient resource; when the client
    # prefetches it, its birth date is kept in the model.
    PrefetchSpec(
        "patient",
        "Patient/{{context.patientId}}",
        required=False,
        searchset=False,
        fetch_if_missing=False,
    ),
    PrefetchSpec("conditions", "Condition?patient={{context.patientId}}&_count=100"),
    # One Observation search for both the genomic results and the disease-status events: one
    # round trip to the FHIR server instead of two when the service has to fetch it.
    PrefetchSpec(
        "observations",
        "Observation?patient={{context.patientId}}&code="
        + _codes(LOINC, GENOMIC_LOINC + STATUS_LOINC + STAGING_LOINC + GIST_RISK_LOINC)
        + ","
        + _codes(SNOMED, STAGING_SNOMED)
        + f",{TBD_CODES}|therapeutic-implication,{TBD_CODES}|molecular-consequence&_count=200",
    ),
    # Optional, its own search: pregnancy status and organ-function labs, newest first. Kept out
    # of the `observations` search: a patient on a kinase inhibitor has liver tests every few
    # weeks for years, and in one search they would page the genomic results out of the first
    # page (the only one a client that does not follow `next` sends), and labs need their own
    # order (newest first) and date bound. A 2.0 template cannot
    # say "the last year" (no `today()` before 3.0), so the client's copy is the newest 100;
    # when the service runs the search itself it adds `date=ge<as_of - 366 days>` and follows
    # `next` pages (bounded). A failed fetch only costs the population facts, and the cards
    # then say the results were not sent or found rather than absent.
    PrefetchSpec(
        POPULATIONS_KEY,
        "Observation?patient={{context.patientId}}&code="
        + _codes(LOINC, POPULATION_LOINC)
        + "&_sort=-date&_count=100",
        required=False,
        fetch_since_days=POPULATION_LOOKBACK_DAYS,
    ),
    PrefetchSpec("medications", "MedicationRequest?patient={{context.patientId}}&_count=200"),
    # Optional: surgical resections (and their residual tumour) establish "resected, no evidence
    # of disease". Fetched from fhirServer like the others when the client did not prefetch it;
    # a server that cannot answer only costs the resection facts, never the call.
    PrefetchSpec(
        "procedures", "Procedure?patient={{context.patientId}}&_count=100", required=False
    ),
    # Optional, read only when the client prefetches them (never fetched back): genomics
    # reports (the regions a negative panel covers, in result/conclusion) and specimens (tissue
    # versus plasma/ctDNA, for secondary mutations).
    PrefetchSpec(
        "reports",
        "DiagnosticReport?patient={{context.patientId}}&_count=50",
        required=False,
        fetch_if_missing=False,
    ),
    PrefetchSpec(
        "specimens",
        "Specimen?patient={{context.patientId}}&_count=50",
        required=False,
        fetch_if_missing=False,
    ),
    # Optional: recorded drug intolerances and allergies, so that no card pushes a drug back
    # to a dose the record shows was not tolerated.
    PrefetchSpec(
        "allergies",
        "AllergyIntolerance?patient={{context.patientId}}&_count=100",
        required=False,
    ),
)

USAGE = (
    "Needs the patient's Conditions (ICD-O-3, SNOMED CT or ICD-10-CM coded histology), "
    "genomic Observations (KIT, PDGFRA, NTRK, ALK; Genomics Reporting IG, mCODE or single-gene "
    "LOINC tests), CancerDiseaseStatus and TNM staging Observations and MedicationRequests "
    "with status, statusReason and treatment intent; optionally surgical Procedures, "
    "AllergyIntolerances, and pregnancy status and liver and renal function results "
    "(bilirubin, ALT, AST, creatinine clearance). Missing "
    "prefetch keys are fetched from fhirServer; without either the service answers 412. "
    "Advice is decision support for sarcoma specialists, not orders."
)


@dataclass(frozen=True, slots=True)
class Answer:
    """Everything one evaluation produced: the cards and what they were made from."""

    cards: list[Card]
    recommendations: list[Recommendation]
    mapping: MappingResult
    unchecked: list[UncheckedOrder]
    population_gaps: tuple[PopulationGap, ...] = ()


def draft_orders_of(context: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``context.draftOrders`` by ``Type/id``."""
    drafts: dict[str, dict[str, Any]] = {}
    bundle = context.get("draftOrders")
    if isinstance(bundle, dict):
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("id"):
                drafts[f"{resource.get('resourceType')}/{resource['id']}"] = resource
    return drafts


def answer(
    prefetch: dict[str, Any],
    context: dict[str, Any],
    *,
    hook: str,
    hook_instance: str,
    kb: KnowledgeBase,
    as_of: date,
    timeline_url: str | None = None,
) -> Answer:
    """Map, evaluate and render: the whole service, without HTTP (the CLI uses it too).

    The population facts count as searched only when the ``populations`` key is there (a
    Bundle, or ``null`` for "no data"), its search did not report an error, and a first page
    whose next pages could not be read is newest first: otherwise a card must not say a result
    is absent."""
    population = prefetch.get(POPULATIONS_KEY)
    searched = (
        POPULATIONS_KEY in prefetch
        and not search_failed(population)
        and newest_first_or_complete(population)
    )
    # Only the laboratory results a rule can read (the KB's look-back) are validated.
    result = map_prefetch(
        prefetch,
        context,
        labs_searched=searched,
        as_of=as_of,
        lab_lookback_days=lab_lookback_days(kb),
    )
    checkpoint(now=True)
    recommendations = evaluate(result.patient, kb, as_of, hook)
    # Drafted drugs with label population rows whose results-based checks could not be made
    # (the population search was neither sent nor obtainable): said on the cards about them.
    gaps = population_gaps(result.patient, kb, as_of, hook)
    checkpoint(now=True)
    # order-select: the selected drafts only (all of them when the client flags none)
    flagged = hook == "order-select" and bool(context.get("selections"))
    unchecked = [o for o in result.unchecked if o.selected or not flagged]
    user_id = context.get("userId")
    cards = render(
        recommendations,
        hook=hook,
        hook_instance=hook_instance,
        patient_id=str(context.get("patientId")),
        draft_orders=draft_orders_of(context),
        kb_version=kb.version,
        issues=result.issues,
        timeline_url=timeline_url,
        unchecked=unchecked,
        population_gaps=gaps,
        authored_on=as_of.isoformat(),
        user_id=user_id if isinstance(user_id, str) else None,
    )
    return Answer(cards, list(recommendations), result, unchecked, gaps)


def handle(ctx: CallContext) -> list[Card]:
    done = answer(
        ctx.prefetch,
        ctx.context,
        hook=ctx.service.hook,
        hook_instance=ctx.request.hook_instance,
        kb=ctx.kb,
        as_of=ctx.as_of,
        timeline_url=ctx.settings.external_base_url + TIMELINE_LAUNCH_PATH,
    )
    issues = done.mapping.issues
    ctx.notes["rules"] = ",".join(sorted({r.rule_id for r in done.recommendations})) or "-"
    ctx.notes["mapping_issues"] = len(issues)
    ctx.notes["issue_kinds"] = Counter(issue.kind for issue in issues)
    ctx.notes["issued"] = card_rules(
        done.cards,
        done.recommendations,
        ctx.request.hook_instance,
        done.unchecked,
        done.population_gaps,
    )
    return done.cards


SERVICES = (
    ServiceDefinition(
        id="sarcoma-patient-view",
        hook="patient-view",
        title="Sarcoma therapy sequencing",
        description=(
            "Summarises histology, driver biomarkers and lines of therapy for a patient with "
            "soft-tissue sarcoma or GIST, recommends the next step with its evidence, and "
            "points out missing molecular tests."
        ),
        usage_requirements=USAGE,
        prefetch=PREFETCH,
        handler=handle,
    ),
    ServiceDefinition(
        id="sarcoma-order-select",
        hook="order-select",
        title="Sarcoma order check (selection)",
        description=(
            "Checks the selected systemic-therapy orders against histology, genotype, prior "
            "lines, progression and CYP3A4 interactions, and suggests the right alternative."
        ),
        usage_requirements=USAGE,
        prefetch=PREFETCH,
        handler=handle,
    ),
    ServiceDefinition(
        id="sarcoma-order-sign",
        hook="order-sign",
        title="Sarcoma order check (signing)",
        description=(
            "Before signing, warns on sarcoma therapy pitfalls in the draft orders (resistant "
            "genotype, wrong dose, skipped sequence, drug interactions) with a fix to apply."
        ),
        usage_requirements=USAGE,
        prefetch=PREFETCH,
        handler=handle,
    ),
)
