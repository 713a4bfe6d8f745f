"""``sarcoma-cds demo list`` and ``sarcoma-cds demo load --fhir-server URL``.

``load`` PUTs every resource of the chosen demo scenarios at its stable id (``Type/id``), so
running it twice leaves the server as it was. When the server refuses a resource the command
stops and names the resource type and id, the HTTP status and the server's first
OperationOutcome message. Exit status: 0 loaded, 1 refused, 2 unusable arguments or server.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import urlsplit

import requests

from cds_hooks.demo import load_bundle, resources_of, scenarios
from rules.wording import count

#: Referenced resources go first, so servers that check references accept the rest.
LOAD_ORDER = {"Patient": 0, "Condition": 1, "Observation": 2, "MedicationRequest": 3}


class LoadRefused(Exception):
    """The FHIR server refused one resource."""


def _outcome_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip().replace("\n", " ")[:200]
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        for issue in body.get("issue") or []:
            if isinstance(issue, dict):
                text = issue.get("diagnostics") or (issue.get("details") or {}).get("text")
                if text:
                    return str(text)[:200]
    return ""


def put_resource(
    session: requests.Session, base: str, resource: dict[str, Any], timeout: float
) -> int:
    kind, rid = resource["resourceType"], resource["id"]
    try:
        response = session.put(
            f"{base}/{kind}/{rid}",
            json=resource,
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise LoadRefused(f"{kind}/{rid}: no answer from {base} ({type(exc).__name__})") from None
    if response.status_code not in (200, 201):
        reason = _outcome_text(response)
        raise LoadRefused(
            f"the FHIR server refused {kind}/{rid} with HTTP {response.status_code}"
            + (f": {reason}" if reason else "")
        )
    return response.status_code


def load_scenarios(
    base: str, scenario_ids: list[str], *, session: requests.Session, timeout: float = 15.0
) -> list[tuple[str, str, int, int]]:
    """PUT the scenarios; returns (scenario id, patient id, created, updated) per scenario."""
    summary = []
    for sid in scenario_ids:
        scenario = next(s for s in scenarios() if s.id == sid)
        items = sorted(
            resources_of(load_bundle(sid)),
            key=lambda r: LOAD_ORDER.get(r["resourceType"], 9),
        )
        created = updated = 0
        for resource in items:
            if put_resource(session, base, resource, timeout) == 201:
                created += 1
            else:
                updated += 1
        summary.append((sid, scenario.patient_id, created, updated))
    return summary


def _list(args: argparse.Namespace) -> int:
    rows = scenarios()
    width = max(len(s.id) for s in rows)
    pwidth = max(len(s.patient_id) for s in rows)
    print(f"{'scenario':<{width}}  {'patient id':<{pwidth}}  {'hook':<12}  expectation")
    for s in rows:
        print(f"{s.id:<{width}}  {s.patient_id:<{pwidth}}  {s.hook:<12}  {s.title}")
        print(f"{'':<{width}}  {'':<{pwidth}}  {'':<12}  -> {s.expectation}")
    return 0


def _load(args: argparse.Namespace) -> int:
    base = args.fhir_server.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
        print(
            f"demo load: --fhir-server {args.fhir_server!r} is not a FHIR base URL", file=sys.stderr
        )
        return 2
    known = [s.id for s in scenarios()]
    chosen = args.scenario or known
    unknown = [sid for sid in chosen if sid not in known]
    if unknown:
        print(
            f"demo load: unknown {'scenario' if len(unknown) == 1 else 'scenarios'} "
            f"{', '.join(unknown)}; see `sarcoma-cds demo list`",
            file=sys.stderr,
        )
        return 2
    with requests.Session() as session:
        try:
            metadata = session.get(
                f"{base}/metadata",
                headers={"Accept": "application/fhir+json"},
                timeout=args.timeout,
            )
        except requests.RequestException as exc:
            print(f"demo load: {base} is unreachable ({type(exc).__name__})", file=sys.stderr)
            return 2
        if metadata.status_code != 200:
            print(
                f"demo load: {base}/metadata answered HTTP {metadata.status_code}; "
                "is this a FHIR R4 base URL?",
                file=sys.stderr,
            )
            return 2
        try:
            summary = load_scenarios(base, chosen, session=session, timeout=args.timeout)
        except LoadRefused as exc:
            print(f"demo load: {exc}", file=sys.stderr)
            return 1
    for sid, patient_id, created, updated in summary:
        print(f"{sid:<30} Patient/{patient_id:<24} {created} created, {updated} updated")
    print(f"loaded {count(len(summary), 'demo patient')} into {base}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("demo", help="synthetic demo patients for sandboxes")
    sub = parser.add_subparsers(dest="demo_command", required=True)
    listing = sub.add_parser("list", help="list the demo scenarios and what the cards should say")
    listing.set_defaults(func=_list)
    load = sub.add_parser(
        "load", help="PUT the demo patients into a FHIR R4 server (stable ids, idempotent)"
    )
    load.add_argument(
        "--fhir-server",
        required=True,
        metavar="URL",
        help="FHIR base, e.g. http://127.0.0.1:8090/fhir",
    )
    load.add_argument(
        "scenario", nargs="*", help="scenario ids to load (default: all; see `demo list`)"
    )
    load.add_argument("--timeout", type=float, default=15.0, help="seconds per request")
    load.set_defaults(func=_load)
