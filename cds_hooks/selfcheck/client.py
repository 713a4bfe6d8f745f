"""The self-check's HTTP client: the base URL, how a request is sent (Origin, bearer token,
content type), the hook bodies an integrator's client would post, and how results are recorded.

The checks themselves are in :mod:`cds_hooks.selfcheck.runner`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from cds_hooks.selfcheck.results import CheckResult, SelfCheckError, Status
from cds_hooks.selfcheck.tokens import TokenSigner

ORIGIN = "https://selfcheck.sarcoma-cds.invalid"
#: A draft order used for the order hooks: imatinib, RxNorm IN 282388 (clinical-coding.md §3).
DRAFT_ORDER = {
    "resourceType": "MedicationRequest",
    "id": "selfcheck-draft-1",
    "status": "draft",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "282388",
                "display": "imatinib",
            }
        ]
    },
    "subject": {"reference": "Patient/selfcheck-patient"},
}


@dataclass
class SelfCheckClient:
    """Sends requests to one deployment and collects the check results."""

    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    signer: TokenSigner | None = None
    timeout_s: float = 15.0
    results: list[CheckResult] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SelfCheckError(f"{self.base_url!r} is not an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise SelfCheckError("BASE_URL must not carry a query or fragment")

    # plumbing ------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _auth(self, url: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.signer.sign(url)}"} if self.signer else {}

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        authorize: bool = True,
    ) -> requests.Response:
        url = self.url(path)
        sent = {"Accept": "application/json", "Origin": ORIGIN}
        if authorize:
            sent.update(self._auth(url))
        if body is not None or raw is not None:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return self.session.request(
            method, url, data=data, headers=sent, timeout=self.timeout_s, allow_redirects=False
        )

    def record(self, name: str, status: Status, detail: str, items: str = "") -> None:
        self.results.append(CheckResult(name, status, detail, items))

    def check(self, name: str, items: str, problems: list[str], ok: str) -> bool:
        if problems:
            self.record(name, "fail", "; ".join(problems[:5]), items)
            return False
        self.record(name, "pass", ok, items)
        return True

    def cors_problems(self, response: requests.Response) -> list[str]:
        allowed = response.headers.get("Access-Control-Allow-Origin")
        if allowed not in ("*", ORIGIN):
            return [f"no Access-Control-Allow-Origin on {response.status_code}"]
        return []

    def _hook_body(
        self, service: dict[str, Any], patient_id: str = "selfcheck-patient", **extra: Any
    ) -> dict[str, Any]:
        context: dict[str, Any] = {
            "userId": "Practitioner/selfcheck-practitioner",
            "patientId": patient_id,
        }
        if service["hook"] in {"order-select", "order-sign"}:
            context["draftOrders"] = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": DRAFT_ORDER}],
            }
        if service["hook"] == "order-select":
            context["selections"] = ["MedicationRequest/selfcheck-draft-1"]
        body: dict[str, Any] = {
            "hookInstance": str(uuid.uuid4()),
            "hook": service["hook"],
            "context": context,
        }
        body.update(extra)
        return body
