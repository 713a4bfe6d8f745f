"""The self-check runner: each check sends what an integrator's client would send and judges
only what comes back over HTTP (the item numbers are those of ``cds-hooks-spec.md``).

How requests are sent and results recorded is in :mod:`cds_hooks.selfcheck.client`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from cds_hooks.registry import TemplateError, check_template
from cds_hooks.selfcheck.client import SelfCheckClient
from cds_hooks.selfcheck.results import CheckResult
from cds_hooks.selfcheck.tokens import unsigned_token
from cds_hooks.selfcheck.wire import card_problems, empty_members, header_tokens
from rules.wording import count as words

SERVICE_ID_RE = re.compile(r"^[A-Za-z0-9._~\-]+$")
#: The demo patient whose prefetch the data call sends (cds_hooks/demo).
DEMO_SCENARIO = "gist-kit-exon11-first-line"


class SelfCheck(SelfCheckClient):
    """The service-side checks, run in order by :meth:`run`."""

    def run(self) -> list[CheckResult]:
        steps: list[Callable[[], None]] = [
            self.check_transport,
            self.check_discovery,
            self.check_preflight,
            self.check_errors,
            self.check_412,
            self.check_calls,
            self.check_feedback,
            self.check_jwt,
        ]
        for step in steps:
            try:
                step()
            except requests.RequestException as exc:
                self.record(step.__name__.removeprefix("check_"), "fail", f"{type(exc).__name__}")
            if step == self.check_discovery and not self.services:
                self.record("remaining checks", "skip", "discovery failed; nothing to call")
                break
        return self.results

    def check_transport(self) -> None:
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.scheme == "https":
            self.record("transport", "pass", "https", "1")
        elif host in {"localhost", "::1"} or host.startswith("127."):
            self.record("transport", "pass", "http on loopback (development only)", "1")
        else:
            self.record("transport", "fail", "production data needs https", "1")

    def check_discovery(self) -> None:
        response = self.request("GET", "/cds-services")
        if response.status_code == 401:
            hint = "pass --token-key and --iss" if self.signer is None else "token refused"
            self.record("discovery", "fail", f"401 Unauthorized ({hint})", "5,12")
            return
        try:
            document = response.json()
        except ValueError:
            document = None
        problems: list[str] = []
        if response.status_code != 200:
            problems.append(f"status {response.status_code}")
        if not isinstance(document, dict) or not isinstance(document.get("services"), list):
            problems.append("body is not {services: [...]}")
            self.check("discovery", "5,6", problems, "")
            return
        problems.extend(self.cors_problems(response))
        services = [s for s in document["services"] if isinstance(s, dict)]
        if len(services) != len(document["services"]):
            problems.append("a services entry is not an object")
        for index, service in enumerate(services):
            for member in ("hook", "id", "description"):
                if not isinstance(service.get(member), str) or not service.get(member):
                    problems.append(f"services[{index}].{member} missing (REQUIRED)")
            if "title" in service and not isinstance(service["title"], str):
                problems.append(f"services[{index}].title is not a string")
            if not SERVICE_ID_RE.match(str(service.get("id", ""))):
                problems.append(f"services[{index}].id is not URL-safe")
        self.services = [s for s in services if isinstance(s.get("id"), str) and s.get("hook")]
        ids = ", ".join(s["id"] for s in self.services) or "no services"
        self.check("discovery", "5,6,8", problems, f"200, {ids}")
        token_problems: list[str] = []
        for service in self.services:
            prefetch = service.get("prefetch", {})
            if not isinstance(prefetch, dict):
                token_problems.append(f"{service['id']}: prefetch is not an object")
                continue
            for key, template in prefetch.items():
                if not isinstance(template, str):
                    token_problems.append(f"{service['id']}.{key}: template is not a string")
                    continue
                try:
                    check_template(template, service["hook"])
                except TemplateError as exc:
                    token_problems.append(f"{service['id']}.{key}: {exc}")
        self.check("discovery-prefetch-templates", "25-29", token_problems, "tokens and queries ok")
        empty = empty_members(document, allow=frozenset({"$.services"}))
        self.check("discovery-no-empty-members", "2", empty, "no null, '', [] or {}")

    def check_preflight(self) -> None:
        service_id = self.services[0]["id"]
        problems: list[str] = []
        for path, method in (
            ("/cds-services", "GET"),
            (f"/cds-services/{service_id}", "POST"),
            (f"/cds-services/{service_id}/feedback", "POST"),
        ):
            response = self.request(
                "OPTIONS",
                path,
                headers={
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
                authorize=False,
            )
            if not 200 <= response.status_code < 300:
                problems.append(f"OPTIONS {path}: {response.status_code}")
                continue
            problems.extend(f"OPTIONS {path}: {p}" for p in self.cors_problems(response))
            allowed_headers = header_tokens(response.headers.get("Access-Control-Allow-Headers"))
            if not {"authorization", "content-type"} <= allowed_headers and "*" not in (
                allowed_headers
            ):
                problems.append(f"OPTIONS {path}: Allow-Headers lacks Authorization/Content-Type")
            methods = header_tokens(response.headers.get("Access-Control-Allow-Methods"))
            if method.lower() not in methods:
                problems.append(f"OPTIONS {path}: Allow-Methods lacks {method}")
        self.check("cors-preflight", "59-61", problems, "discovery, service and feedback")

    def check_errors(self) -> None:
        service = self.services[0]
        path = f"/cds-services/{service['id']}"
        cases: list[tuple[str, Callable[[], requests.Response], int, str]] = [
            (
                "error-unknown-service",
                lambda: self.request(
                    "POST", "/cds-services/selfcheck-no-such-service", body=self._hook_body(service)
                ),
                404,
                "13",
            ),
            (
                "error-invalid-json",
                lambda: self.request("POST", path, raw=b'{"hook": "patient-view",'),
                400,
                "14",
            ),
            (
                "error-missing-required-member",
                lambda: self.request(
                    "POST",
                    path,
                    body={k: v for k, v in self._hook_body(service).items() if k != "hookInstance"},
                ),
                400,
                "14",
            ),
            (
                "error-wrong-hook",
                lambda: self.request(
                    "POST",
                    path,
                    body=self._hook_body(service, hook="selfcheck-unknown-hook"),
                ),
                400,
                "14",
            ),
            ("error-wrong-method", lambda: self.request("GET", path), 405, "13"),
            (
                "error-media-type",
                lambda: self.request(
                    "POST", path, raw=b"hook=patient-view", content_type="text/plain"
                ),
                415,
                "62",
            ),
        ]
        for name, send, expected, items in cases:
            response = send()
            problems = []
            if response.status_code != expected:
                problems.append(f"expected {expected}, got {response.status_code}")
            problems.extend(self.cors_problems(response))
            self.check(name, items, problems, f"{expected} with CORS")

    def check_412(self) -> None:
        service = next((s for s in self.services if s.get("prefetch")), None)
        if service is None:
            self.record("prefetch-missing-412", "skip", "no service declares prefetch", "36")
            return
        response = self.request(
            "POST", f"/cds-services/{service['id']}", body=self._hook_body(service)
        )
        problems = []
        if response.status_code != 412:
            problems.append(
                f"no prefetch and no fhirServer: expected 412, got {response.status_code}"
            )
        problems.extend(self.cors_problems(response))
        self.check("prefetch-missing-412", "36,61", problems, f"412 from {service['id']}")

    def _call_ok(
        self,
        name: str,
        service: dict[str, Any],
        prefetch: dict[str, Any],
        patient_id: str = "selfcheck-patient",
    ) -> Any:
        body = self._hook_body(service, patient_id, prefetch=prefetch)
        response = self.request("POST", f"/cds-services/{service['id']}", body=body)
        problems: list[str] = []
        try:
            document = response.json()
        except ValueError:
            document = None
        if response.status_code != 200:
            problems.append(f"status {response.status_code}")
        if not isinstance(document, dict) or not isinstance(document.get("cards"), list):
            problems.append("body is not {cards: [...]}")
            self.check(name, "63", problems, "")
            return None
        problems.extend(self.cors_problems(response))
        problems.extend(empty_members(document, allow=frozenset({"$.cards"})))
        for index, card in enumerate(document["cards"]):
            problems.extend(card_problems(card, f"cards[{index}]"))
        count = len(document["cards"])
        self.check(name, "2,63-71", problems, f"200, {words(count, 'valid card')}")
        return document

    def check_calls(self) -> None:
        for service in self.services:
            prefetch = dict.fromkeys(service.get("prefetch") or {})
            self._call_ok(f"call-no-data:{service['id']}", service, prefetch)
        patient_view = next((s for s in self.services if s["hook"] == "patient-view"), None)
        if patient_view is None:
            return
        from cds_hooks.demo import load_bundle, prefetch_for, scenario

        demo_patient = scenario(DEMO_SCENARIO)
        demo = prefetch_for(load_bundle(DEMO_SCENARIO))
        declared = patient_view.get("prefetch") or {}
        prefetch = {key: demo.get(key) for key in declared}
        self._call_ok(
            f"call-with-data:{patient_view['id']}", patient_view, prefetch, demo_patient.patient_id
        )

    def check_feedback(self) -> None:
        """Feedback round trip on a card id the deployment never issued: the endpoint must
        accept it (item 78), and no rule's accepted/overridden figures change."""
        service = next((s for s in self.services if s["hook"] == "patient-view"), self.services[0])
        card = str(uuid.uuid4())
        body = {
            "feedback": [
                {
                    "card": card,
                    "outcome": "overridden",
                    "outcomeTimestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                }
            ]
        }
        problems: list[str] = []
        path = f"/cds-services/{service['id']}/feedback"
        for attempt in ("first", "repeated"):
            response = self.request("POST", path, body=body)
            if not 200 <= response.status_code < 300:
                problems.append(f"{attempt} post: status {response.status_code}")
            problems.extend(self.cors_problems(response))
        self.check(
            "feedback-round-trip",
            "74-81",
            problems,
            "2xx twice (a card id never issued: the deployment's report is untouched)",
        )

    def check_jwt(self) -> None:
        bad_tokens: list[tuple[str, Callable[[str], str]]] = [
            ("garbage", lambda aud: "not-a-jwt"),
        ]
        if self.signer is not None:
            signer = self.signer
            bad_tokens += [
                ("alg none", lambda aud: unsigned_token(aud, signer.iss, signer.kid)),
                ("wrong aud", lambda aud: signer.sign(aud + "/other")),
                ("expired", lambda aud: signer.sign(aud, exp=int(time.time()) - 3600)),
                ("other issuer", lambda aud: signer.sign(aud, iss="https://untrusted.invalid")),
            ]
        url = self.url("/cds-services")
        outcomes: dict[str, int] = {}
        problems: list[str] = []
        for label, make in bad_tokens:
            response = self.request(
                "GET", "/cds-services", headers={"Authorization": f"Bearer {make(url)}"}
            )
            outcomes[label] = response.status_code
            if response.status_code == 401:
                problems.extend(f"{label}: {p}" for p in self.cors_problems(response))
        if self.signer is None:
            if outcomes["garbage"] == 200:
                self.record(
                    "jwt-refuses-bad-token",
                    "skip",
                    "authentication is off on this deployment (a garbage token got 200)",
                    "46,53,55",
                )
                return
            problems.extend(
                f"{label}: expected 401, got {status}"
                for label, status in outcomes.items()
                if status != 401
            )
            self.check("jwt-refuses-bad-token", "46,55", problems, "garbage token -> 401")
            return
        problems.extend(
            f"{label}: expected 401, got {status}"
            for label, status in outcomes.items()
            if status != 401
        )
        token = signer.sign(url)
        first = self.request("GET", "/cds-services", headers={"Authorization": f"Bearer {token}"})
        again = self.request("GET", "/cds-services", headers={"Authorization": f"Bearer {token}"})
        if first.status_code != 200:
            problems.append(f"good token: expected 200, got {first.status_code}")
        if again.status_code != 401:
            problems.append(f"replayed jti: expected 401, got {again.status_code}")
        labels = ", ".join([*outcomes, "replay"])
        self.check("jwt-refuses-bad-token", "50,53-55", problems, f"401 for {labels}")
