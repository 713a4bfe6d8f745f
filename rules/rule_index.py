"""Which rules a call runs: the active rules of its hook, looked up by the histologies they
name. Indexed once per loaded knowledge base (:func:`rules_of_hook`); a rule whose
histology criterion no active diagnosis can satisfy is not tried, since its ``when`` would
fail there (the engine's ``evaluate(..., rule_index=False)`` tries every rule of the hook,
the reference ``tests/rules/test_rule_index.py`` compares against).
"""

from __future__ import annotations

from rules.knowledge import Rule
from rules.loader import CompiledRule, KnowledgeBase
from rules.patient import Histology
from rules.predicates import HistologyParams

ORDER_HOOKS = frozenset({"order-select", "order-sign"})
HOOKS = frozenset({"patient-view", *ORDER_HOOKS})


def _not_approved_here(rule: Rule, kb: KnowledgeBase) -> bool:
    return any(
        note.jurisdiction == kb.meta.jurisdiction and note.status == "not-approved"
        for note in rule.regulatory
    )


def runs_on(compiled: CompiledRule, kb: KnowledgeBase, hook: str) -> bool:
    """An active rule runs on ``hook`` unless the KB suppresses its unapproved drug."""
    rule = compiled.rule
    if hook not in rule.hooks:
        return False
    return not (
        kb.meta.unapproved_drug_presentation == "suppress"
        and rule.then.kind == "recommendation"
        and _not_approved_here(rule, kb)
    )


def _histology_gate(compiled: CompiledRule) -> frozenset[Histology] | None:
    """The histologies one of which an active diagnosis must have for the rule to fire (its
    first ``histology`` criterion), or None when the rule names none."""
    for criterion in compiled.when:
        if criterion.name == "histology" and isinstance(criterion.params, HistologyParams):
            return frozenset(criterion.params.any)
    return None


#: (id of the rule tuple, id of the meta) -> (both, kept alive; the rules that run per hook
#: with their histology gate). Built once per loaded KB.
_INDEX: dict[
    tuple[int, int],
    tuple[object, object, dict[str, tuple[tuple[CompiledRule, frozenset[Histology] | None], ...]]],
] = {}


def rules_of_hook(
    kb: KnowledgeBase, hook: str
) -> tuple[tuple[CompiledRule, frozenset[Histology] | None], ...]:
    """The rules that run on ``hook``, in KB order, each with its histology gate: indexed
    once per KB, so a call only looks at the rules its hook and histologies can fire."""
    key = (id(kb.rules), id(kb.meta))
    entry = _INDEX.get(key)
    if entry is None or entry[0] is not kb.rules or entry[1] is not kb.meta:
        active = kb.active_rules()
        by_hook = {
            name: tuple((c, _histology_gate(c)) for c in active if runs_on(c, kb, name))
            for name in HOOKS
        }
        if len(_INDEX) >= 16:
            _INDEX.clear()  # knowledge bases loaded one after the other (tests)
        entry = _INDEX[key] = (kb.rules, kb.meta, by_hook)
    return entry[2][hook]
