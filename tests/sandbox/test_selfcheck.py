"""``sarcoma-cds selfcheck`` against the real app served over HTTP (auth off and jwt mode)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask, Response

from cds_hooks.cli import main
from cds_hooks.selfcheck import (
    SelfCheck,
    SelfCheckError,
    TokenSigner,
    card_problems,
    empty_members,
)
from tests.peers import free_port
from tests.sandbox.conftest import serve

ISS = "https://ehr.selfcheck.test"


def _by_name(results: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in results}


def test_selfcheck_passes_against_the_app_with_auth_off(served: Callable[..., str]) -> None:
    base = served(auth_mode="off")
    results = SelfCheck(base).run()
    failed = [r.line() for r in results if r.status == "fail"]
    assert failed == []
    names = _by_name(results)
    for expected in (
        "discovery",
        "discovery-prefetch-templates",
        "discovery-no-empty-members",
        "cors-preflight",
        "error-unknown-service",
        "error-invalid-json",
        "error-missing-required-member",
        "error-wrong-hook",
        "error-wrong-method",
        "error-media-type",
        "prefetch-missing-412",
        "call-no-data:sarcoma-patient-view",
        "call-no-data:sarcoma-order-select",
        "call-no-data:sarcoma-order-sign",
        "call-with-data:sarcoma-patient-view",
        "feedback-round-trip",
    ):
        assert names[expected].status == "pass", names[expected].line()
    assert "never issued" in names["feedback-round-trip"].detail
    assert names["jwt-refuses-bad-token"].status == "skip"


SANDBOX = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox"


def _report(url: str, capsys: Any) -> dict[str, Any]:
    assert main(["feedback-report", "--json", "--database-url", url]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_a_sandbox_accept_counts_for_its_rule_and_a_selfcheck_run_for_none(
    served: Callable[..., str], tmp_path: Path, capsys: Any
) -> None:
    url = f"sqlite:///{tmp_path}/feedback.sqlite3"
    base = served(auth_mode="off", database_url=url)
    body = json.loads((SANDBOX / "pv-demo-gist-progressed--patient-view.json").read_text())
    body.pop("fhirServer")
    cards = requests.post(f"{base}/cds-services/sarcoma-patient-view", json=body, timeout=30)
    card = next(c for c in cards.json()["cards"] if "sunitinib 50 mg" in c["summary"])
    # the body the Sandbox sent when a suggestion was taken, for this call's card
    accept = json.loads((SANDBOX / "pv-demo-gist-progressed-suggestion--feedback.json").read_text())
    accept["feedback"][0]["card"] = card["uuid"]
    accept["feedback"][0]["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    posted = requests.post(
        f"{base}/cds-services/sarcoma-patient-view/feedback", json=accept, timeout=30
    )
    assert posted.status_code == 200
    before = _report(url, capsys)
    assert before["rules"] == [
        {
            "rule": "gist-second-line-sunitinib",
            "accepted": 1,
            "overridden": 0,
            "override_rate": 0.0,
            "override_reasons": {},
        }
    ]
    assert before["not_issued"] == {}

    results = SelfCheck(base).run()
    assert [r.line() for r in results if r.status == "fail"] == []
    after = _report(url, capsys)
    assert after["rules"] == before["rules"]
    assert after["not_issued"] == {"overridden": 1}  # recorded apart, counted for no rule


def test_cli_exit_status_and_report(served: Callable[..., str], capsys: Any) -> None:
    base = served(auth_mode="off")
    assert main(["selfcheck", base]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("PASSED:")
    assert "PASS  discovery " in out
    assert main(["selfcheck", base, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in report} <= {"pass", "skip"}
    # unreachable service: exit 2
    assert main(["selfcheck", f"http://127.0.0.1:{free_port()}"]) == 2
    assert main(["selfcheck", base, "--iss", ISS]) == 2  # --iss without --token-key


def test_selfcheck_fails_a_non_conformant_service(capsys: Any) -> None:
    """A service without CORS, 412 or error codes must fail (exit 1), not pass by accident."""
    bad = Flask("bad")

    @bad.get("/cds-services")
    def discovery() -> Any:
        return {
            "services": [
                {
                    "hook": "patient-view",
                    "id": "bad service",
                    "description": "",
                    "prefetch": {"p": "Patient/{{context.medication.id}}"},
                }
            ]
        }

    @bad.route("/cds-services/<path:rest>", methods=["GET", "POST", "OPTIONS"])
    def anything(rest: str) -> Response:
        return Response(json.dumps({"cards": [{"summary": "x" * 150, "indicator": "hard-stop"}]}))

    port = free_port()
    with serve(bad, port) as base:
        results = _by_name(SelfCheck(base).run())
        assert main(["selfcheck", base]) == 1
    capsys.readouterr()
    for name in (
        "discovery",
        "discovery-prefetch-templates",
        "discovery-no-empty-members",
        "cors-preflight",
        "error-unknown-service",
        "prefetch-missing-412",
    ):
        assert results[name].status == "fail", name


def _ec_key(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    key = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "client-es384.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return path, public


def test_selfcheck_in_jwt_mode_signs_es384_and_proves_bad_tokens_are_refused(
    served: Callable[..., str], tmp_path: Path, capsys: Any
) -> None:
    key_path, public = _ec_key(tmp_path)
    signer = TokenSigner.from_file(key_path, iss=ISS)
    public.update({"kid": signer.kid, "alg": "ES384", "use": "sig"})
    clients = tmp_path / "trusted-clients.json"
    clients.write_text(json.dumps([{"iss": ISS, "jwks": {"keys": [public]}}]))
    base = served(auth_mode="jwt", trusted_clients_file=clients)

    # without a key the service answers 401 and the check says what to do
    unauthenticated = _by_name(SelfCheck(base).run())
    assert unauthenticated["discovery"].status == "fail"
    assert "--token-key" in unauthenticated["discovery"].detail

    results = SelfCheck(base, signer=signer).run()
    assert [r.line() for r in results if r.status == "fail"] == []
    jwt_check = _by_name(results)["jwt-refuses-bad-token"]
    assert jwt_check.status == "pass"
    for label in ("alg none", "wrong aud", "expired", "other issuer", "replay"):
        assert label in jwt_check.detail
    assert main(["selfcheck", base, "--token-key", str(key_path), "--iss", ISS]) == 0
    capsys.readouterr()


def test_token_signer_reads_rsa_pem_and_private_jwk(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "rsa.pem"
    pem.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    signer = TokenSigner.from_file(pem, iss=ISS)
    token = signer.sign("https://cds.example.org/cds-services")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS384", "typ": "JWT", "kid": signer.kid}
    claims = jwt.decode(
        token,
        rsa_key.public_key(),
        algorithms=["RS384"],
        audience="https://cds.example.org/cds-services",
    )
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti"}

    ec_key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key))
    jwk["kid"] = "client-key-1"
    jwk_path = tmp_path / "key.jwk.json"
    jwk_path.write_text(json.dumps({"keys": [jwk]}))
    es = TokenSigner.from_file(jwk_path, iss=ISS, jku="https://ehr.selfcheck.test/jwks.json")
    header = jwt.get_unverified_header(es.sign("https://x.test/cds-services"))
    assert header["alg"] == "ES384" and header["kid"] == "client-key-1"
    assert header["jku"] == "https://ehr.selfcheck.test/jwks.json"

    p256 = tmp_path / "p256.pem"
    p256.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SelfCheckError, match="P-384"):
        TokenSigner.from_file(p256, iss=ISS)


def test_card_and_empty_member_rules() -> None:
    assert empty_members({"a": [], "b": {"c": None}, "d": [1, ""]}) == ["$.a", "$.b.c", "$.d[1]"]
    assert empty_members({"cards": []}, allow=frozenset({"$.cards"})) == []
    good = {
        "summary": "ok",
        "indicator": "info",
        "source": {"label": "x"},
        "links": [
            {"label": "App", "url": "https://a.test/app", "type": "smart", "appContext": "p"}
        ],
    }
    assert card_problems(good, "c") == []
    bad = dict(
        good, links=[{"label": "A", "url": "https://a", "type": "absolute", "appContext": "x"}]
    )
    assert card_problems(bad, "c") == ["c.links[0].appContext on a non-smart link"]
    assert card_problems(dict(good, suggestions=[{"label": "s"}]), "c") == [
        "c has suggestions but no valid selectionBehavior"
    ]
