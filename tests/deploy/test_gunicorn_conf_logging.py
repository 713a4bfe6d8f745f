"""``gunicorn -c deploy/gunicorn.conf.py`` (how ``make bench`` and a plain gunicorn deployment
start the service) writes the same JSON access line per request as ``sarcoma-cds serve``.

Before, the config never set up logging: a hook call wrote no line at all, so the benchmark
never paid for the access line production writes, and such a deployment had no access log.
"""

from __future__ import annotations

import json
from pathlib import Path

import requests

from bench.run import gunicorn
from bench.workloads import order_sign_body
from tests.peers import free_port


def test_the_gunicorn_config_logs_one_json_access_line_per_hook_call(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "CDS_AUTH_MODE": "off",
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/conf.sqlite3",
        "CDS_LOG_LEVEL": "INFO",
        "CDS_WORKERS": "1",
    }
    with gunicorn("cds_hooks.wsgi:app", port, env, tmp_path) as base:
        answer = requests.post(
            f"{base}/cds-services/sarcoma-order-sign", json=order_sign_body(20), timeout=30
        )
        assert answer.status_code == 200
    lines = (tmp_path / f"gunicorn-{port}.log").read_text().splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # gunicorn's own start/stop lines
    hook_lines = [
        r for r in records if r.get("msg") == "request" and r.get("service") == "sarcoma-order-sign"
    ]
    assert len(hook_lines) == 1, lines
    assert hook_lines[0]["status"] == 200
    assert hook_lines[0]["level"] == "INFO"
