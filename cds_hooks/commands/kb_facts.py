"""``sarcoma-cds kb label-facts``: every label fact in the knowledge base with its source.

Generated from the KB data, never typed by hand: one line per rule whose evidence is a label
(``regulatory-label`` or ``label-secondary-copy``) and one per regulatory statement, each with
the drug(s), the fact (the card's summary, or the statement), the evidence level and the main
source (key and address). Pharmacists use it to check each fact against the label it cites.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from rules import KnowledgeBase, load_kb
from rules.loader import BoundCriterion, CompiledRule

#: Evidence levels that state a label fact.
LABEL_LEVELS = frozenset({"regulatory-label", "label-secondary-copy"})


@dataclass(frozen=True, slots=True)
class LabelFact:
    drugs: tuple[str, ...]
    fact: str
    level: str
    source_key: str
    source_url: str | None
    rule_id: str

    def line(self) -> str:
        where = self.source_url or "(no address)"
        drugs = ", ".join(self.drugs) or "(drug named in the rule)"
        return f"{drugs} | {self.fact} | {self.level} | {self.source_key} {where} | {self.rule_id}"


def _criterion_drugs(criterion: BoundCriterion) -> list[str]:
    found: list[str] = []
    for part in criterion.any_of:
        found += _criterion_drugs(part)
    drug = getattr(criterion.params, "drug", None) if criterion.params is not None else None
    if isinstance(drug, str):
        found.append(drug)
    return found


def _drugs(compiled: CompiledRule, kb: KnowledgeBase) -> tuple[str, ...]:
    """The drugs a rule is about: its options and orders, else the drugs its criteria name."""
    then = compiled.rule.then
    keys = [o.drug for o in then.options] + [a.drug for a in then.actions if a.drug]
    if not keys:
        for criterion in compiled.when:
            keys += _criterion_drugs(criterion)
    names = [kb.valuesets.get(k).display for k in dict.fromkeys(keys)]
    return tuple(dict.fromkeys(names))


def label_facts(kb: KnowledgeBase) -> list[LabelFact]:
    facts: list[LabelFact] = []
    for compiled in kb.rules:
        rule = compiled.rule
        if rule.status in ("draft", "retired"):
            continue
        if rule.evidence.level in LABEL_LEVELS and rule.citations:
            main = kb.sources[rule.citations[0]]
            facts.append(
                LabelFact(
                    _drugs(compiled, kb),
                    rule.then.summary,
                    rule.evidence.level,
                    main.key,
                    main.url,
                    rule.id,
                )
            )
        for note in rule.regulatory:
            main = kb.sources[note.citations[0]]
            facts.append(
                LabelFact(
                    (kb.valuesets.get(note.drug).display,),
                    f"{note.jurisdiction} {note.status}: {note.text}",
                    main.kind,
                    main.key,
                    main.url,
                    rule.id,
                )
            )
    return sorted(facts, key=lambda f: (f.drugs, f.rule_id, f.fact))


def run(args: argparse.Namespace) -> int:
    kb = load_kb(Path(args.kb)) if args.kb else load_kb()
    facts = label_facts(kb)
    sys.stdout.write("drug | fact | evidence | main source | rule\n")
    sys.stdout.write("".join(f.line() + "\n" for f in facts))
    print(f"kb: {len(facts)} label facts ({kb.version})", file=sys.stderr)
    return 0


def register(kb_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = kb_sub.add_parser(
        "label-facts", help="every label fact in the KB with its drug, evidence level and source"
    )
    parser.add_argument("--kb", help="knowledge-base directory (default: the packaged KB)")
    parser.set_defaults(func=run)
