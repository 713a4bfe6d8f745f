"""The CDS services this deployment offers, registered by id."""

from __future__ import annotations

from cds_hooks.registry import Registry
from cds_hooks.services.sarcoma import SERVICES


def build_registry() -> Registry:
    registry = Registry()
    for definition in SERVICES:
        registry.register(definition)
    return registry
