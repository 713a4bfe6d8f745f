"""A protocol-test service (like HAPI's GreeterCdsService): it reports what prefetch it got.

It lets the protocol tests exercise every prefetch state, error and header without depending
on clinical content, while the clinical services are tested through the real registry.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from cds_hooks.models import Card, Source
from cds_hooks.protocol import CallContext
from cds_hooks.registry import PrefetchSpec, Registry, ServiceDefinition

SEEN: list[dict[str, Any]] = []


def _handler(ctx: CallContext) -> list[Card]:
    SEEN.append(dict(ctx.prefetch))
    summary = "keys: " + ",".join(
        f"{k}={'none' if v is None else v.get('resourceType')}"
        for k, v in sorted(ctx.prefetch.items())
    )
    card_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, ctx.request.hook_instance))
    ctx.notes["issued"] = [(card_uuid, "echo-rule", "info")]
    return [
        Card(uuid=card_uuid, summary=summary[:139], indicator="info", source=Source(label="echo"))
    ]


def echo_registry(required: bool = True) -> Registry:
    registry = Registry()
    registry.register(
        ServiceDefinition(
            id="echo",
            hook="patient-view",
            title="Echo",
            description="Reports the prefetch it received.",
            usage_requirements="",
            prefetch=(
                PrefetchSpec("patient", "Patient/{{context.patientId}}", required=required),
                PrefetchSpec("conditions", "Condition?patient={{context.patientId}}"),
            ),
            handler=_handler,
        )
    )
    registry.register(
        ServiceDefinition(
            id="echo-sign",
            hook="order-sign",
            title="Echo sign",
            description="Reports the prefetch it received on order-sign.",
            usage_requirements="",
            prefetch=(),
            handler=_handler,
        )
    )
    return registry


STAND_IN_KB = SimpleNamespace(version="test")
