"""Pure clinical domain: the patient model, the knowledge base and the rule engine.

Public API used by the protocol layer: :func:`load_kb`, :func:`evaluate`,
:class:`KnowledgeBase`, :class:`KnowledgeBaseError`, :class:`Recommendation`, :class:`Patient`.
"""

from rules.engine import evaluate
from rules.knowledge import Source
from rules.loader import KnowledgeBase, KnowledgeBaseError, load_kb
from rules.patient import Patient
from rules.results import (
    CodeRef,
    DoseSpec,
    DrugRef,
    Finding,
    Recommendation,
    RegulatoryStatement,
    SuggestedAction,
    TestRef,
    TherapyOption,
)

__all__ = [
    "CodeRef",
    "DoseSpec",
    "DrugRef",
    "Finding",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Patient",
    "Recommendation",
    "RegulatoryStatement",
    "Source",
    "SuggestedAction",
    "TestRef",
    "TherapyOption",
    "evaluate",
    "load_kb",
]
