"""``sarcoma-cds selfcheck BASE_URL``: service-side conformance checks for integrators.

Exit status: 0 when every check passed (skips allowed), 1 when one failed, 2 when the check
could not run (unreachable service, unusable key file or URL). Made for CI pipelines.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import requests

from cds_hooks.selfcheck import SelfCheck, SelfCheckError, TokenSigner, iter_lines


def _run(args: argparse.Namespace) -> int:
    if (args.token_key is None) != (args.iss is None):
        print("selfcheck: --token-key and --iss go together", file=sys.stderr)
        return 2
    try:
        signer = (
            TokenSigner.from_file(
                Path(args.token_key), iss=args.iss, kid=args.kid, jku=args.jku, tenant=args.tenant
            )
            if args.token_key
            else None
        )
        checker = SelfCheck(args.base_url, signer=signer, timeout_s=args.timeout)
    except SelfCheckError as exc:
        print(f"selfcheck: {exc}", file=sys.stderr)
        return 2
    try:
        checker.session.get(checker.url("/cds-services"), timeout=args.timeout)
    except requests.RequestException as exc:
        print(
            f"selfcheck: {checker.base_url} is unreachable ({type(exc).__name__})", file=sys.stderr
        )
        return 2
    with checker.session:
        results = checker.run()
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(f"CDS Hooks 2.0 self-check of {checker.base_url}")
        for line in iter_lines(results):
            print(line)
    return 1 if any(r.status == "fail" for r in results) else 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "selfcheck",
        help="run the service-side CDS Hooks 2.0 conformance checks against a deployed instance",
        description="Checks discovery, prefetch templates, error codes, 412, CORS (errors and "
        "preflight), empty members, cards, feedback round trip and JWT refusal. Exit status "
        "0 = passed, 1 = a check failed, 2 = could not run.",
    )
    parser.add_argument("base_url", metavar="BASE_URL", help="e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--token-key",
        metavar="KEY",
        help="private key (PEM, or JWK JSON) of a trusted client: EC P-384 signs ES384, RSA RS384",
    )
    parser.add_argument(
        "--iss", metavar="ISS", help="issuer of the signed JWTs (trusted by the service)"
    )
    parser.add_argument("--kid", help="JWT kid (default: the JWK's kid or its RFC 7638 thumbprint)")
    parser.add_argument("--jku", help="JWT jku header, when the service's trusted client has one")
    parser.add_argument("--tenant", help="JWT tenant claim, when the service requires one")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=_run)
