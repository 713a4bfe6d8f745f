"""A rule's criteria in clinical words for the knowledge-base document: "Diagnosis: GIST",
"Received imatinib, up to 400 mg/day, with progression", not ``histology(any=[gist])``."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from typing import Any

from rules import KnowledgeBase
from rules.loader import BoundCriterion
from rules.wording import histology_name

_OUTCOME = {
    "any": "",
    "progression": "with progression",
    "failure": "stopped for progression or toxicity",
    "ended": "course ended",
    "ongoing": "still ongoing",
}


def _value(value: Any, kb: KnowledgeBase, labels: dict[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return " or ".join(_value(v, kb, labels) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if text in labels:
        return labels[text]
    try:
        entry = kb.valuesets.get(text)
    except (KeyError, ValueError):
        return text.replace("-", " ").replace("_", " ")
    name = str(getattr(entry, "display", None) or getattr(entry, "title", text))
    name = re.sub(r"\s*\([^()]*\)$", "", name)  # "(all agents in the KB)": a curator's note
    return name[0].lower() + name[1:] if name[1:2].islower() else name


def _dose(args: dict[str, Any]) -> str:
    low, high = args.get("min_mg_per_day"), args.get("max_mg_per_day")
    if low is not None and high is not None:
        return f"{low:g} to {high:g} mg/day"
    if low is not None:
        return f"at least {low:g} mg/day"
    if high is not None:
        return f"up to {high:g} mg/day"
    return ""


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def criterion_words(criterion: BoundCriterion, kb: KnowledgeBase) -> str:
    """One criterion as a clinician would say it."""
    labels = {h.id: h.label for h in kb.meta.histologies}
    if criterion.name == "any_of":
        return "Any of: " + "; or ".join(criterion_words(c, kb) for c in criterion.any_of)
    args = criterion.params.model_dump(exclude_defaults=True) if criterion.params else {}

    def v(key: str) -> str:
        return _value(args.get(key), kb, labels)

    special: dict[str, Callable[[], str]] = {
        "histology": lambda: (
            "Diagnosis: "
            + " or ".join(histology_name(str(_raw(h)), labels) for h in args.get("any", []))
            + (f" ({v('subtype')})" if args.get("subtype") else "")
        ),
        "exposure": lambda: _join(
            f"Received {v('drug')}", _dose(args), _OUTCOME.get(str(args.get("outcome", "any")), "")
        ),
        "draft_order": lambda: _join(f"Draft order of {v('drug')}", _dose(args)),
        "on_therapy": lambda: f"Currently on {v('drug')}",
        "prior_agent_count": lambda: _count("Prior agents from " + v("drug"), args),
        "line_count": lambda: _count("Lines of systemic therapy", args),
        "biomarker": lambda: _join(
            f"{args.get('gene')} {v('kinds') or 'result'}".strip(),
            f"exon {v('exons')}" if args.get("exons") else "",
            v("hotspots") if args.get("hotspots") else "",
            "not detected" if args.get("result") == "absent" else "detected",
        ),
        "fusion": lambda: f"Fusion involving {v('genes')}",
        "comedication": lambda: f"Co-medication that is a {v('roles')} of CYP3A4",
        "variant_class": lambda: _join(
            "Genotype: " + _genes(v("classes")),
            f"but not {_genes(v('without'))}" if args.get("without") else "",
        ),
        "kit_pdgfra_wild_type": lambda: (
            "KIT/PDGFRA wild-type (every required region tested negative)"
        ),
        "wild_type": lambda: f"Wild-type for {v('genes')}",
        "extent": lambda: f"Extent of disease: {v('any')}",
        "intolerance": lambda: _join(
            f"Record shows {v('drug')} not tolerated",
            f"at {args['rules_out_mg_per_day']:g} mg/day or less, or at an unstated dose"
            if args.get("rules_out_mg_per_day") is not None
            else "",
        ),
        "limited_progression_on_current_line": lambda: (
            "Progression on the current line recorded as limited (focal)"
        ),
    }
    if criterion.name in special:
        return special[criterion.name]()
    name = criterion.name.replace("_", " ").capitalize()
    if not args:
        return name
    details = "; ".join(f"{k.replace('_', ' ')}: {v(k)}" for k in sorted(args))
    return f"{name} ({details})"


def _genes(text: str) -> str:
    """``pdgfra d842v`` -> ``PDGFRA D842V``: gene symbols and hotspots in capitals."""
    words = text.split()
    return " ".join(
        w.upper()
        if w in {"kit", "pdgfra", "ntrk", "alk", "sdh", "nf1", "braf"} or _hotspot(w)
        else w
        for w in words
    )


def _hotspot(word: str) -> bool:
    return len(word) >= 3 and word[0].isalpha() and word[1:-1].isdigit() and word[-1].isalpha()


def _raw(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _count(what: str, args: dict[str, Any]) -> str:
    low, high = args.get("min", 0), args.get("max")
    if high is None:
        return f"{what}: at least {low}"
    if low == high:
        return f"{what}: exactly {low}"
    return f"{what}: {low} to {high}"
