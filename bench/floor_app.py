"""The floor: a bare Flask endpoint that parses the same JSON body and returns a fixed card.

Served by gunicorn with the same settings as the service, so the ratio of the service's
throughput to this one shows what the service itself costs.
"""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)
CARD = {
    "cards": [
        {
            "uuid": "0f8f5c1e-0000-4000-8000-000000000000",
            "summary": "Fixed card",
            "indicator": "info",
            "source": {"label": "floor"},
        }
    ]
}


@app.post("/cds-services/<service_id>")
def floor(service_id: str):  # type: ignore[no-untyped-def]
    body = request.get_json()
    if not isinstance(body, dict) or "hook" not in body:
        return jsonify({"error": "bad request"}), 400
    return jsonify(CARD)
