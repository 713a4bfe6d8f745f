"""``sarcoma-cds feedback-report``: per rule, how often its cards were accepted or overridden,
and why: the signal clinicians use to tune alert fatigue."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from cds_hooks.settings import SettingsError, load_database_url
from cds_hooks.store import FeedbackStore, make_engine, migrate


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    per_rule: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"accepted": 0, "overridden": 0, "reasons": defaultdict(int)}
    )
    for row in rows:
        entry = per_rule[row["rule_id"]]
        entry[row["outcome"]] += row["n"]
        if row["outcome"] == "overridden":
            reason = row["override_display"] or row["override_code"] or "(no reason given)"
            entry["reasons"][reason] += row["n"]
    out = []
    for rule_id, entry in sorted(per_rule.items()):
        total = entry["accepted"] + entry["overridden"]
        out.append(
            {
                "rule": rule_id,
                "accepted": entry["accepted"],
                "overridden": entry["overridden"],
                "override_rate": round(entry["overridden"] / total, 3) if total else 0.0,
                "override_reasons": dict(
                    sorted(entry["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))
                ),
            }
        )
    return out


def _run(args: argparse.Namespace) -> int:
    url = args.database_url
    if not url:
        try:
            url = load_database_url()
        except SettingsError as exc:
            print(f"sarcoma-cds: {exc}", file=sys.stderr)
            return 2
    try:
        engine = make_engine(url)
        migrate(engine)
        store = FeedbackStore(engine)
        report, not_issued = summarise(store.report()), store.not_issued()
        engine.dispose()
    except (SQLAlchemyError, ValueError, OSError) as exc:
        print(f"sarcoma-cds: the database is unavailable ({type(exc).__name__})", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"rules": report, "not_issued": not_issued}, indent=2))
        return 0
    apart = sum(not_issued.values())
    note = (
        f"{apart} feedback item{'' if apart == 1 else 's'} named cards this service never "
        "issued (a client's test, or an unknown id): recorded, not counted above"
    )
    if not report:
        print("no feedback on issued cards yet")
        if apart:
            print(note)
        return 0
    print(f"{'rule':44} {'accepted':>8} {'overridden':>10} {'override %':>10}  reasons")
    for item in report:
        reasons = "; ".join(f"{k} x{v}" for k, v in item["override_reasons"].items())
        print(
            f"{item['rule']:44} {item['accepted']:8d} {item['overridden']:10d} "
            f"{item['override_rate'] * 100:9.1f}%  {reasons}".rstrip()
        )
    if apart:
        print(note)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "feedback-report",
        help="per rule: accepted / overridden counts and override reasons (reads only "
        "CDS_DATABASE_URL)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--database-url", help="override CDS_DATABASE_URL")
    parser.set_defaults(func=_run)
