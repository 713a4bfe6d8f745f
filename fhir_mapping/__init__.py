"""FHIR R4 -> the rules patient model (``rules.patient``).

Public API: :func:`map_prefetch`, :class:`MappingResult`, :class:`MappingIssue`, :func:`explain`.
Only :mod:`fhir_mapping.r4` imports fhir.resources; this package never imports ``cds_hooks``.
"""

from fhir_mapping.explain import explain
from fhir_mapping.issues import MappingIssue
from fhir_mapping.mapping import MappingResult, map_prefetch

__all__ = ["MappingIssue", "MappingResult", "explain", "map_prefetch"]
