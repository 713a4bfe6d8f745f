"""A small SMART App Launch authorization server plus a token-protected FHIR endpoint.

Run inside the tests (werkzeug, loopback). It checks what a real SMART server checks: the
client id, the registered redirect URI, ``aud`` = the FHIR base, the scopes, the EHR ``launch``
value, PKCE S256 (the verifier must hash to the challenge), single-use codes, and a bearer
token on every FHIR read. It serves one demo patient's resources.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request

from cds_hooks.demo import load_bundle, resources_of


@dataclass
class SmartPeer:
    client_id: str
    redirect_uri: str
    patient_id: str
    scenario: str
    base: str = ""
    launch_value: str = "launch-ehr-123"
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    fhir_requests: list[str] = field(default_factory=list)

    @property
    def fhir_base(self) -> str:
        return f"{self.base}/fhir"

    def app(self) -> Flask:
        app = Flask("smart-peer")
        resources = resources_of(load_bundle(self.scenario))

        @app.get("/fhir/.well-known/smart-configuration")
        def configuration() -> Any:
            return jsonify(
                {
                    "authorization_endpoint": f"{self.base}/auth/authorize",
                    "token_endpoint": f"{self.base}/auth/token",
                    "code_challenge_methods_supported": ["S256"],
                    "capabilities": ["launch-ehr", "launch-standalone", "client-public"],
                    "scopes_supported": ["launch", "launch/patient", "patient/*.read"],
                }
            )

        @app.get("/auth/authorize")
        def authorize() -> Any:
            args = request.args.to_dict()
            self.authorize_requests.append(args)
            scopes = set(args.get("scope", "").split())
            problems = []
            if args.get("response_type") != "code":
                problems.append("response_type")
            if args.get("client_id") != self.client_id:
                problems.append("client_id")
            if args.get("redirect_uri") != self.redirect_uri:
                problems.append("redirect_uri")
            if args.get("aud") != self.fhir_base:
                problems.append("aud")
            if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
                problems.append("pkce")
            if not args.get("state"):
                problems.append("state")
            if "launch" in scopes and args.get("launch") != self.launch_value:
                problems.append("launch")
            if any(s.endswith((".write", ".*", ".cud")) for s in scopes):
                problems.append("write scope")
            if problems:
                return Response("invalid request: " + ",".join(problems), status=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "challenge": args["code_challenge"],
                "redirect_uri": args["redirect_uri"],
                "scope": args["scope"],
            }
            query = urlencode({"code": code, "state": args["state"]})
            return Response(status=302, headers={"Location": f"{args['redirect_uri']}?{query}"})

        @app.post("/auth/token")
        def token() -> Any:
            form = request.form.to_dict()
            self.token_requests.append(form)
            grant = self.codes.pop(form.get("code", ""), None)  # single use
            if grant is None or form.get("grant_type") != "authorization_code":
                return jsonify({"error": "invalid_grant"}), 400
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge != grant["challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
                return jsonify({"error": "invalid_grant"}), 400
            if form.get("client_id") != self.client_id:
                return jsonify({"error": "invalid_client"}), 401
            access = secrets.token_urlsafe(24)
            self.tokens.add(access)
            return jsonify(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": grant["scope"],
                    "patient": self.patient_id,
                }
            )

        def authorised() -> bool:
            header = request.headers.get("Authorization", "")
            return header.startswith("Bearer ") and header[7:] in self.tokens

        @app.get("/fhir/<kind>/<rid>")
        def read(kind: str, rid: str) -> Any:
            self.fhir_requests.append(request.full_path)
            if not authorised():
                return Response(status=401)
            for resource in resources:
                if resource["resourceType"] == kind and resource["id"] == rid:
                    return jsonify(resource)
            return Response(status=404)

        @app.get("/fhir/<kind>")
        def search(kind: str) -> Any:
            self.fhir_requests.append(request.full_path)
            if not authorised():
                return Response(status=401)
            if request.args.get("patient") != self.patient_id:
                return jsonify({"resourceType": "Bundle", "type": "searchset", "total": 0})
            wanted = {
                part.rpartition("|")[2] for part in request.args.get("code", "").split(",") if part
            }
            found = [
                r
                for r in resources
                if r["resourceType"] == kind
                and (
                    not wanted
                    or wanted & {c.get("code") for c in (r.get("code") or {}).get("coding", [])}
                )
            ]
            bundle: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(found),
            }
            if found:
                bundle["entry"] = [{"resource": r} for r in found]
            return jsonify(bundle)

        return app
