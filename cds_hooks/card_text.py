"""The words on a card: a short markdown detail that a clinician can scan.

A detail holds at most :data:`MAX_LINES` lines and :data:`MAX_DETAIL` characters: the key
patient facts with their FHIR references, the recommendation, the options with their doses,
what not to use, the evidence level with the main source, the regulatory status where the site
is, the data-quality problems that matter, and the rule with its review state. The full
reasoning, every option and every citation are on the therapy-timeline page linked from the
card.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from rules import Recommendation
from rules import Source as KbSource
from rules.engine import UNKNOWN_EXTENT_FINDING, UNKNOWN_EXTENT_NOTE
from rules.results import Finding

MAX_DETAIL = 1500
MAX_LINES = 10
MAX_FACTS = 3
#: One sentence of a recommendation is always shown whole; more only while under this.
WHAT_CHARS = 480
FACT_CHARS = 170
ISSUES_SHOWN = 2

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def clip(text: str, limit: int) -> str:
    """Shorten ``text`` to ``limit`` characters at a word boundary, marking the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def sentences(text: str, limit: int) -> str:
    """Whole sentences of ``text`` up to ``limit`` characters (the first one always)."""
    parts = _SENTENCE_END.split(" ".join(text.split()))
    out = parts[0]
    for part in parts[1:]:
        if len(out) + 1 + len(part) > limit:
            break
        out = f"{out} {part}"
    return out


def end_sentence(text: str) -> str:
    """``text`` ending with exactly one full stop (no "et al..")."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def source_text(source: KbSource) -> str:
    """``*Title* (Publisher, year)``: the short form of a citation."""
    return _short_citation(source.title, source.publisher, source.year)


def _short_citation(title: str, publisher: str, year: int) -> str:
    return f"*{clip(title, 100)}* ({publisher}, {year})"


def citation_text(source: KbSource) -> str:
    """The long form of a citation, for documents: title, authors, publisher, year, DOI."""
    parts = [source.title]
    if source.authors:
        parts.append(source.authors)
    parts.append(f"{source.publisher}, {source.year}")
    if source.citation and source.citation not in (source.title, source.publisher):
        parts.append(source.citation)
    if source.doi:
        parts.append(f"doi:{source.doi}")
    return " ".join(end_sentence(p) for p in parts)


def _fact(finding: Finding) -> str:
    ref = f" (`{finding.source_ref}`)" if finding.source_ref else ""
    return f"{clip(finding.text, FACT_CHARS)}{ref}"


def _is_setting(finding: Finding) -> bool:
    text = finding.text
    return text == UNKNOWN_EXTENT_FINDING or text.startswith(("Setting:", "Extent:"))


def facts_line(
    findings: Sequence[Finding], label: str = "Why", limit: int = MAX_FACTS
) -> str | None:
    """The first fact (the diagnosis), then the disease setting, then the others."""
    unique = list(dict.fromkeys(findings))
    if not unique:
        return None
    unique = [*unique[:1], *sorted(unique[1:], key=lambda f: not _is_setting(f))]
    shown = "; ".join(_fact(f) for f in unique[:limit])
    more = len(unique) - limit
    if more > 0:
        shown += f"; and {more} more on the timeline"
    return f"- **{label}:** {shown}"


def acronym(regulator: str) -> str:
    """``European Medicines Agency (EMA)`` -> ``EMA``."""
    match = re.search(r"\(([A-Z]{2,})\)\s*$", regulator)
    return match.group(1) if match else regulator


def _regulatory_line(rec: Recommendation) -> str | None:
    here = [n for n in rec.regulatory if n.applies_here]
    if not here:
        return None
    parts = [
        f"{n.jurisdiction} (this site), {n.drug.display}: {end_sentence(n.text)}" for n in here
    ]
    elsewhere = [
        f"{n.status.replace('-', ' ')} in {n.jurisdiction} ({acronym(n.regulator)})"
        for n in rec.regulatory
        if not n.applies_here
    ]
    if elsewhere:
        parts.append(f"Elsewhere: {', '.join(elsewhere)}.")
    return "- **Regulatory status:** " + " ".join(parts)


def _issue_text(issue: object) -> str:
    reference = getattr(issue, "reference", None)
    problem = getattr(issue, "problem", None)
    if isinstance(reference, str) and isinstance(problem, str):
        return f"`{reference}`: {problem}"
    return str(issue)


def relevant_first(issues: Sequence[object], refs: Iterable[str | None]) -> list[object]:
    """The issues about the card's own facts (by FHIR reference) first, then the others."""
    wanted = {r for r in refs if r}
    about = [i for i in issues if getattr(i, "reference", None) in wanted]
    return [*about, *(i for i in issues if i not in about)]


def issues_line(issues: Sequence[object], note: str | None = None) -> str | None:
    """The one data-quality line: ``note`` (data a check needed and did not get) first, then
    the inputs skipped or partly read."""
    parts = [end_sentence(note)] if note else []
    if issues:
        count = len(issues)
        noun = "input was" if count == 1 else "inputs were"
        shown = "; ".join(_issue_text(i) for i in issues[:ISSUES_SHOWN])
        more = count - ISSUES_SHOWN
        tail = f"; and {more} more" if more > 0 else ""
        parts.append(f"{count} {noun} skipped or partly read: {shown}{tail}.")
    if not parts:
        return None
    return "- **Data quality:** " + " ".join(parts)


def footer_line(rec: Recommendation | None, kb_version: str, *, timeline: bool) -> str:
    parts = []
    if rec is not None:
        parts.append(f"Rule `{rec.rule_id}@{rec.rule_version}`: {rec.review_line}.")
    parts.append(f"Knowledge base {kb_version}.")
    if timeline:
        parts.append("Full reasoning and all citations: Therapy timeline.")
    return "_" + " ".join(parts) + "_"


def _options_line(rec: Recommendation) -> str | None:
    if not rec.options:
        return None
    shown = "; ".join(
        f"{o.drug.display}: {clip(o.dose, 160)} ({o.preference})" for o in rec.options
    )
    return f"- **Options:** {shown}"


def _evidence_line(rec: Recommendation) -> str:
    main = rec.citations[0] if rec.citations else None
    return _evidence_text(
        rec.evidence_label,
        rec.evidence_note,
        (main.title, main.publisher, main.year) if main is not None else None,
    )


# The card texts below are read from the knowledge base alone (a rule's evidence and its
# recommendation), never from a patient record: each is worded once per text and reused.
@functools.lru_cache(maxsize=1024)
def _evidence_text(label: str, note: str | None, main: tuple[str, str, int] | None) -> str:
    line = f"- **Evidence:** {end_sentence(label)}"
    if note:
        line += f" {end_sentence(sentences(note, 160))}"
    if main is not None:
        line += f" Main source: {_short_citation(*main)}."
    return line


def _what(rec: Recommendation, limit: int) -> str:
    """Whole sentences of the recommendation up to ``limit`` characters, then the
    unknown-extent hedge in full: it is never cut."""
    return _what_text(rec.what, limit)


@functools.lru_cache(maxsize=1024)
def _what_text(what: str, limit: int) -> str:
    what = " ".join(what.split())
    hedge = UNKNOWN_EXTENT_NOTE if what.endswith(UNKNOWN_EXTENT_NOTE) else ""
    base = what.removesuffix(hedge).strip()
    text = sentences(base, limit)
    if len(text) > limit:
        text = clip(text, limit)
    return f"{text} {hedge}".strip()


def _fit(lines: list[str | None], flexible: int) -> str:
    """Join the present lines; if over budget, shorten the flexible line (the recommendation)."""
    present = [line for line in lines if line]
    text = "\n".join(present)
    if len(text) > MAX_DETAIL and lines[flexible]:
        excess = len(text) - MAX_DETAIL
        target = lines[flexible]
        assert target is not None
        lines[flexible] = clip(target, max(len(target) - excess, 120))
        text = "\n".join(line for line in lines if line)
    return text


def recommendation_detail(
    rec: Recommendation,
    *,
    issues: Sequence[object],
    kb_version: str,
    timeline: bool,
    note: str | None = None,
) -> str:
    """The detail of one recommendation's card (see the module docstring); ``note`` leads
    the data-quality line."""
    ordered = relevant_first(issues, (f.source_ref for f in rec.findings))
    attempts = ((MAX_FACTS, WHAT_CHARS), (2, WHAT_CHARS), (1, WHAT_CHARS), (1, 360))
    for facts, what_limit in attempts:
        lines = _recommendation_lines(rec, ordered, kb_version, timeline, facts, what_limit, note)
        text = "\n".join(line for line in lines if line)
        if len(text) <= MAX_DETAIL:
            return text
    return _fit(lines, flexible=1)


def _recommendation_lines(
    rec: Recommendation,
    issues: Sequence[object],
    kb_version: str,
    timeline: bool,
    facts: int,
    what_limit: int,
    note: str | None = None,
) -> list[str | None]:
    return [
        facts_line(rec.findings, limit=facts),
        f"- **Recommendation:** {_what(rec, what_limit)}",
        _options_line(rec),
        (
            "- **Do not use (resistance or contraindication):** "
            + ", ".join(d.display for d in rec.contraindicated)
            if rec.contraindicated
            else None
        ),
        (
            "- **Monitor:** " + clip("; ".join(rec.monitoring), 480)
            if rec.monitoring and not rec.options
            else None
        ),
        _evidence_line(rec),
        _regulatory_line(rec),
        issues_line(issues, note),
        footer_line(rec, kb_version, timeline=timeline),
    ]


def summary_detail(
    summary: Recommendation | None,
    *,
    issues: Sequence[object],
    kb_version: str,
    timeline: bool,
) -> str:
    """The detail of the patient-view card shown when no rule recommends anything."""
    lines: list[str | None] = [
        facts_line(summary.findings, "Patient") if summary else None,
        "- **Recommendation:** none from this knowledge base for these facts; treatment should "
        "be coordinated by a centre with sarcoma expertise.",
        issues_line(list(issues)),
        footer_line(summary, kb_version, timeline=timeline),
    ]
    return _fit(lines, flexible=0)


def unchecked_detail(order: object, *, issues: Sequence[object], kb_version: str) -> str:
    """The detail of the card for a draft order the mapping could not read."""
    reference = str(getattr(order, "reference", ""))
    label = getattr(order, "label", None)
    named = f"{label} (`{reference}`)" if label else f"`{reference}`"
    if getattr(order, "kind", None) == "dose":
        what = (
            "Confirm the intended dose, its unit, the tablet count and the frequency before "
            "signing. The dose rules of this service did not use this dose."
        )
    else:
        what = (
            "This order was not checked against the sarcoma knowledge base (histology, "
            "genotype, prior lines, CYP3A4 interactions). Review it yourself, or re-enter it "
            "with a coded medication (RxNorm) so that it can be checked."
        )
    lines: list[str | None] = [
        f"- **Why:** Draft order {named}: {end_sentence(str(getattr(order, 'reason', '')))}",
        f"- **Recommendation:** {what}",
        issues_line(relevant_first(issues, [reference])),
        footer_line(None, kb_version, timeline=False),
    ]
    return _fit(lines, flexible=1)


def population_gap_detail(gap: object, *, kb_version: str) -> str:
    """The detail of the card for a drafted drug whose label population checks were not made
    and that no other card is about."""
    reference = str(getattr(gap, "reference", ""))
    drug = str(getattr(gap, "drug", "the drug"))
    text = getattr(gap, "text", None)
    lines: list[str | None] = [
        f"- **Why:** Draft order of {drug} (`{reference}`).",
        f"- **Recommendation:** Before signing, check pregnancy status and recent liver and "
        f"kidney results against the {drug} label yourself; this service could not.",
        issues_line((), text() if callable(text) else None),
        footer_line(None, kb_version, timeline=False),
    ]
    return _fit(lines, flexible=1)


__all__ = [
    "MAX_DETAIL",
    "MAX_LINES",
    "citation_text",
    "clip",
    "issues_line",
    "population_gap_detail",
    "recommendation_detail",
    "relevant_first",
    "source_text",
    "summary_detail",
    "unchecked_detail",
]
