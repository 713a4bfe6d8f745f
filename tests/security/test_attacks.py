"""The attack suite (issue 3, "Prove it"): every known JWT attack against the running app.

Each case sends one forged or broken token through the Flask test client to the app built by
``create_app`` in ``CDS_AUTH_MODE=jwt`` and asserts three things: a bare 401 (no body, no
reason), ``WWW-Authenticate: Bearer``, and that the logged reason code is the expected one, so
each attack is refused by the check meant for it and not by accident.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.security.conftest import FEEDBACK_BODY, Env, order_sign_body
from tests.security.kit import (
    DISCOVERY_AUD,
    DROP,
    EPIC_ISS,
    EPIC_KID,
    PS_ISS,
    PS_KID,
    SANDBOX_ISS,
    SANDBOX_KID,
    TENANT_ISS,
    TENANT_KID,
    b64decode,
    b64json,
    bearer,
    claims,
    counting_server,
    forge,
    forge_hmac,
    public_jwk,
    public_pem,
    sign,
)


def assert_rejected(env: Env, response, code: str | tuple[str, ...]) -> None:
    assert response.status_code == 401, response.data
    assert response.data == b""  # no reason in the body (spec item 55)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert env.auth_codes()[-1] in ((code,) if isinstance(code, str) else code)


def assert_accepted(response) -> None:
    assert response.status_code == 200, response.data


# -- algorithm attacks -------------------------------------------------------------------------


def test_alg_none_is_rejected(env: Env):
    payload = claims(SANDBOX_ISS, DISCOVERY_AUD)
    for alg in ("none", "None", "NONE", "nOnE"):
        token = forge({"alg": alg, "typ": "JWT", "kid": SANDBOX_KID, "jku": env.jku}, payload)
        assert_rejected(env, env.discovery(token), "alg-not-allowed")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signed_with_the_issuers_public_key_as_secret_is_rejected(env: Env, alg: str):
    # The classic key-confusion attack: the verifier would use the RSA/EC public key as HMAC secret.
    header = {"alg": alg, "typ": "JWT", "kid": EPIC_KID}
    token = forge_hmac(header, claims(EPIC_ISS, DISCOVERY_AUD), public_pem(env.keys.rsa))
    assert_rejected(env, env.discovery(token), "alg-not-allowed")
    jwk_secret = json.dumps(public_jwk(env.keys.rsa, EPIC_KID)).encode()
    token = forge_hmac(header, claims(EPIC_ISS, DISCOVERY_AUD), jwk_secret)
    assert_rejected(env, env.discovery(token), "alg-not-allowed")


@pytest.mark.parametrize("alg", ["ES512", "RS512", "PS256", "EdDSA", "ES256K", ""])
def test_algorithms_outside_the_pinned_list_are_rejected(env: Env, alg: str):
    token = forge({"alg": alg, "typ": "JWT", "kid": EPIC_KID}, claims(EPIC_ISS, DISCOVERY_AUD))
    assert_rejected(env, env.discovery(token), "alg-not-allowed")


def test_alg_that_does_not_fit_the_key_is_rejected(env: Env):
    # ES384 claimed for the issuer's RSA key (kid) → the token may not pick the algorithm.
    token = sign(env.keys.ec384, claims(EPIC_ISS, DISCOVERY_AUD), alg="ES384", kid=EPIC_KID)
    assert_rejected(env, env.discovery(token), "alg-key-mismatch")
    # RS256 is a valid RSA algorithm, but the Epic key is pinned to alg RS384 in its JWK.
    token = sign(env.keys.rsa, claims(EPIC_ISS, DISCOVERY_AUD), alg="RS256", kid=EPIC_KID)
    assert_rejected(env, env.discovery(token), "alg-key-mismatch")


def test_embedded_jwk_header_key_is_ignored(env: Env):
    # CVE-2018-0114 style: the attacker ships their own key in the header.
    token = sign(
        env.keys.attacker_rsa,
        claims(EPIC_ISS, DISCOVERY_AUD),
        alg="RS384",
        kid=EPIC_KID,
        extra_header={"jwk": public_jwk(env.keys.attacker_rsa, EPIC_KID)},
    )
    assert_rejected(env, env.discovery(token), "signature-invalid")


def test_token_signed_by_another_key_under_a_trusted_kid_is_rejected(env: Env):
    token = sign(
        env.keys.attacker_ec384,
        claims(SANDBOX_ISS, DISCOVERY_AUD),
        alg="ES384",
        kid=SANDBOX_KID,
        jku=env.jku,
    )
    assert_rejected(env, env.discovery(token), "signature-invalid")


def test_crit_header_is_rejected(env: Env):
    # PyJWT already refuses unknown critical extensions while decoding the header.
    forged = sign(
        env.keys.rsa,
        claims(EPIC_ISS, DISCOVERY_AUD),
        alg="RS384",
        kid=EPIC_KID,
        extra_header={"crit": ["x-unknown"], "x-unknown": True},
    )
    assert_rejected(env, env.discovery(forged), ("crit-unsupported", "malformed-token"))


# -- time attacks ------------------------------------------------------------------------------


def test_expired_token_is_rejected(env: Env):
    now = int(time.time())
    token = env.epic_token(DISCOVERY_AUD, iat=now - 900, exp=now - 61 - 5)
    assert_rejected(env, env.discovery(token), "token-expired")


def test_expired_token_within_leeway_is_accepted(env: Env):
    now = int(time.time())
    token = env.epic_token(DISCOVERY_AUD, iat=now - 300, exp=now - 30)
    assert_accepted(env.discovery(token))


def test_not_yet_valid_token_is_rejected(env: Env):
    now = int(time.time())
    token = env.epic_token(DISCOVERY_AUD, nbf=now + 600, exp=now + 900)
    assert_rejected(env, env.discovery(token), "token-not-yet-valid")


def test_iat_in_the_future_beyond_leeway_is_rejected(env: Env):
    now = int(time.time())
    token = env.epic_token(DISCOVERY_AUD, iat=now + 600, exp=now + 900)
    assert_rejected(env, env.discovery(token), "iat-in-future")


def test_iat_in_the_future_within_leeway_is_accepted(env: Env):
    now = int(time.time())
    token = env.epic_token(DISCOVERY_AUD, iat=now + 30, exp=now + 330)
    assert_accepted(env.discovery(token))


def test_lifetime_longer_than_allowed_is_rejected(env: Env):
    now = int(time.time())
    token = env.epic_token(DISCOVERY_AUD, iat=now, exp=now + 7200)
    assert_rejected(env, env.discovery(token), "lifetime-invalid")


@pytest.mark.parametrize("value", ["1999999999", True, None, [1], {"t": 1}, 1e400])
def test_non_numeric_time_claims_are_rejected(env: Env, value):
    payload = claims(EPIC_ISS, DISCOVERY_AUD)
    payload["exp"] = value
    token = sign(env.keys.rsa, payload, alg="RS384", kid=EPIC_KID)
    assert_rejected(env, env.discovery(token), "time-claim-invalid")


# -- audience attacks --------------------------------------------------------------------------


def test_wrong_aud_is_rejected(env: Env):
    for aud in (
        "https://evil.example.org/cds-services",
        "sand_man",
        DISCOVERY_AUD + "/",
        "http://cds.example.org/cds-services",
        "HTTPS://CDS.EXAMPLE.ORG/cds-services",
    ):
        assert_rejected(env, env.discovery(env.epic_token(aud)), "aud-mismatch")


def test_aud_of_another_endpoint_of_this_service_is_rejected(env: Env):
    service_aud = env.aud(env.service_path)
    feedback_aud = env.aud(env.feedback_path)
    # discovery token used on the service, service token used on feedback and discovery
    resp = env.client.post(
        env.service_path, json=order_sign_body(), headers=bearer(env.epic_token(DISCOVERY_AUD))
    )
    assert_rejected(env, resp, "aud-mismatch")
    resp = env.client.post(
        env.feedback_path, json=FEEDBACK_BODY, headers=bearer(env.epic_token(service_aud))
    )
    assert_rejected(env, resp, "aud-mismatch")
    assert_rejected(env, env.discovery(env.epic_token(feedback_aud)), "aud-mismatch")
    other = env.aud("/cds-services/another-service")
    resp = env.client.post(
        env.service_path, json=order_sign_body(), headers=bearer(env.epic_token(other))
    )
    assert_rejected(env, resp, "aud-mismatch")


def test_aud_array_without_this_endpoint_is_rejected(env: Env):
    token = env.epic_token([env.aud(env.service_path), env.aud(env.feedback_path)])
    assert_rejected(env, env.discovery(token), "aud-mismatch")


@pytest.mark.parametrize("aud", [[], [1], [None], {"u": DISCOVERY_AUD}, 42])
def test_malformed_aud_is_rejected(env: Env, aud):
    assert_rejected(env, env.discovery(env.epic_token(aud)), "aud-invalid")


def test_aud_as_one_element_array_is_accepted(env: Env):
    assert_accepted(env.discovery(env.epic_token([DISCOVERY_AUD])))


# -- issuer and key-location attacks -----------------------------------------------------------


def test_untrusted_iss_is_rejected(env: Env):
    for iss in ("https://evil.example.org", SANDBOX_ISS + "/", SANDBOX_ISS.upper()):
        token = sign(
            env.keys.ec384, claims(iss, DISCOVERY_AUD), alg="ES384", kid=SANDBOX_KID, jku=env.jku
        )
        assert_rejected(env, env.discovery(token), "iss-untrusted")


def test_trusted_iss_with_a_foreign_jku_is_rejected_and_never_fetched(env: Env):
    with counting_server() as attacker:
        attacker.json_route(
            "/jwks.json", {"keys": [public_jwk(env.keys.attacker_ec384, SANDBOX_KID, "ES384")]}
        )
        for jku in (
            f"{attacker.base}/jwks.json",
            env.jku + "?x=1",
            env.jku.replace("127.0.0.1", "localhost"),
            f"{env.jwks.base}/.well-known/jwks.json/../../jwks.json",
        ):
            token = sign(
                env.keys.attacker_ec384,
                claims(SANDBOX_ISS, DISCOVERY_AUD),
                alg="ES384",
                kid=SANDBOX_KID,
                jku=jku,
            )
            assert_rejected(env, env.discovery(token), "jku-not-allowed")
        assert attacker.hits == []
    assert env.jwks.hits == []  # not even the real JWKS was needed to refuse it


def test_jku_on_an_issuer_with_out_of_band_keys_is_rejected(env: Env):
    token = sign(
        env.keys.rsa, claims(EPIC_ISS, DISCOVERY_AUD), alg="RS384", kid=EPIC_KID, jku=env.jku
    )
    assert_rejected(env, env.discovery(token), "jku-not-allowed")
    assert env.jwks.hits == []


def test_unknown_kid_is_rejected_after_one_rate_limited_refetch(env: Env):
    assert_accepted(env.discovery(env.sandbox_token(DISCOVERY_AUD)))
    assert len(env.jwks.hits) == 1
    for kid in ("rotated-away", "../../etc/passwd", "' OR 1=1 --", SANDBOX_KID + " "):
        token = sign(
            env.keys.ec384, claims(SANDBOX_ISS, DISCOVERY_AUD), alg="ES384", kid=kid, jku=env.jku
        )
        assert_rejected(env, env.discovery(token), "kid-unknown")
    # the refetch on an unknown kid is rate-limited: a flood of unknown kids costs no fetches
    assert len(env.jwks.hits) == 1


def test_unknown_kid_of_an_out_of_band_issuer_is_rejected(env: Env):
    token = sign(env.keys.rsa, claims(EPIC_ISS, DISCOVERY_AUD), alg="RS384", kid="nope")
    assert_rejected(env, env.discovery(token), "kid-unknown")


def test_tampered_payload_is_rejected(env: Env):
    token = env.epic_token(DISCOVERY_AUD)
    header, payload, signature = token.split(".")
    values = json.loads(b64decode(payload))
    for change in (
        {"aud": env.aud(env.service_path)},
        {"exp": values["exp"] + 1},
        {"tenant": "hospital-b"},
        {"jti": str(uuid.uuid4())},
    ):
        tampered = f"{header}.{b64json({**values, **change})}.{signature}"
        assert_rejected(env, env.discovery(tampered), "signature-invalid")
    bad_signature = ("signature-invalid", "malformed-token")  # bytes that do not even decode
    truncated = f"{header}.{payload}.{signature[:-4]}"
    assert_rejected(env, env.discovery(truncated), bad_signature)
    assert_rejected(
        env, env.discovery(f"{header}.{payload}."), ("signature-invalid", "malformed-token")
    )


def test_tampered_header_is_rejected(env: Env):
    token = env.sandbox_token(DISCOVERY_AUD)
    _, payload, signature = token.split(".")
    header = {"alg": "ES384", "typ": "JWT", "kid": SANDBOX_KID, "jku": env.jku, "x": 1}
    assert_rejected(
        env, env.discovery(f"{b64json(header)}.{payload}.{signature}"), "signature-invalid"
    )


# -- required members --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "code"),
    [
        ("iss", "claim-missing-iss"),
        ("aud", "claim-missing-aud"),
        ("exp", "claim-missing-exp"),
        ("iat", "claim-missing-iat"),
        ("jti", "claim-missing-jti"),
    ],
)
def test_missing_required_claim_is_rejected(env: Env, claim: str, code: str):
    payload = claims(EPIC_ISS, DISCOVERY_AUD)
    del payload[claim]
    token = sign(env.keys.rsa, payload, alg="RS384", kid=EPIC_KID)
    assert_rejected(env, env.discovery(token), code)


@pytest.mark.parametrize("jti", ["", 42, None, ["a"], "x" * 513])
def test_invalid_jti_is_rejected(env: Env, jti):
    token = env.epic_token(DISCOVERY_AUD, jti=jti)
    assert_rejected(
        env, env.discovery(token), "jti-too-long" if jti == "x" * 513 else "claim-missing-jti"
    )


def test_missing_kid_header_is_rejected(env: Env):
    token = sign(env.keys.rsa, claims(EPIC_ISS, DISCOVERY_AUD), alg="RS384", kid=None)
    assert_rejected(env, env.discovery(token), "kid-missing")


@pytest.mark.parametrize("typ", [None, "JWS", "at+jwt", "dpop+jwt"])
def test_missing_or_wrong_typ_header_is_rejected(env: Env, typ):
    token = sign(env.keys.rsa, claims(EPIC_ISS, DISCOVERY_AUD), alg="RS384", kid=EPIC_KID, typ=typ)
    assert_rejected(env, env.discovery(token), "typ-not-jwt")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "token-missing"),
        ("", "token-missing"),
        ("Bearer", "not-bearer"),
        ("Bearer ", "not-bearer"),
        ("Basic dXNlcjpwYXNz", "not-bearer"),
        ("Token abc.def.ghi", "not-bearer"),
        ("Bearer not-a-jwt", "malformed-token"),
        ("Bearer a.b", "malformed-token"),
        ("Bearer a.b.c.d.e", "malformed-token"),
        ("Bearer %%%.%%%.%%%", "malformed-token"),
        ("Bearer e30.e30.", "alg-not-allowed"),
        ("Bearer " + "A" * 20000 + ".e30.", "token-too-long"),
    ],
)
def test_malformed_authorization_is_rejected(env: Env, authorization, code):
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_rejected(env, env.client.get("/cds-services", headers=headers), code)


def test_every_endpoint_requires_a_token(env: Env):
    assert_rejected(env, env.client.get("/cds-services"), "token-missing")
    assert_rejected(env, env.client.post(env.service_path, json=order_sign_body()), "token-missing")
    assert_rejected(env, env.client.post(env.feedback_path, json=FEEDBACK_BODY), "token-missing")
    assert_rejected(env, env.client.post("/cds-services/does-not-exist", json={}), "token-missing")


def test_token_is_checked_before_the_body_is_read(env: Env):
    huge = b"{" * (env.settings.max_body_bytes + 10)
    resp = env.client.post(env.service_path, data=huge, content_type="text/plain")
    assert_rejected(env, resp, "token-missing")


# -- replay ------------------------------------------------------------------------------------


def test_replayed_jti_is_rejected(env: Env):
    token = env.epic_token(DISCOVERY_AUD)
    assert_accepted(env.discovery(token))
    assert_rejected(env, env.discovery(token), "jti-replayed")
    # the same jti in a fresh, validly signed token is still a replay
    jti = json.loads(b64decode(token.split(".")[1]))["jti"]
    assert_rejected(env, env.discovery(env.epic_token(DISCOVERY_AUD, jti=jti)), "jti-replayed")


def test_same_jti_from_two_issuers_is_not_a_replay(env: Env):
    jti = str(uuid.uuid4())
    assert_accepted(env.discovery(env.epic_token(DISCOVERY_AUD, jti=jti)))
    assert_accepted(env.discovery(env.sandbox_token(DISCOVERY_AUD, jti=jti)))


# -- tenants -----------------------------------------------------------------------------------


def test_entitled_tenant_is_accepted(env: Env):
    assert_accepted(env.discovery(env.tenant_token(DISCOVERY_AUD, tenant="hospital-a")))


@pytest.mark.parametrize("tenant", ["hospital-b", DROP, "HOSPITAL-A", ""])
def test_tenant_not_entitled_is_forbidden(env: Env, tenant):
    resp = env.discovery(env.tenant_token(DISCOVERY_AUD, tenant=tenant))
    assert resp.status_code == 403
    outcome = resp.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "forbidden"


def test_tenant_of_a_wrong_type_is_rejected(env: Env):
    resp = env.discovery(env.tenant_token(DISCOVERY_AUD, tenant=["hospital-a"]))
    assert_rejected(env, resp, "tenant-invalid")


def test_forbidden_needs_a_valid_signature_first(env: Env):
    token = env.tenant_token(DISCOVERY_AUD, tenant="hospital-b")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert_rejected(env, env.discovery(forged), ("signature-invalid", "malformed-token"))
    attacker = ec.generate_private_key(ec.SECP256R1())
    other_key = sign(
        attacker, claims(TENANT_ISS, DISCOVERY_AUD, tenant="x"), alg="ES256", kid=TENANT_KID
    )
    assert_rejected(env, env.discovery(other_key), "signature-invalid")


# -- accepted shapes ---------------------------------------------------------------------------


def test_valid_es384_token_is_accepted(env: Env):
    assert_accepted(env.discovery(env.sandbox_token(DISCOVERY_AUD)))


def test_valid_rs384_token_is_accepted(env: Env):
    assert_accepted(env.discovery(env.epic_token(DISCOVERY_AUD)))


def test_valid_es256_and_ps384_tokens_are_accepted(env: Env):
    assert_accepted(env.discovery(env.tenant_token(DISCOVERY_AUD, tenant="hospital-a")))
    for alg in ("PS384", "RS256", "RS384"):
        token = sign(env.keys.rsa_ps, claims(PS_ISS, DISCOVERY_AUD), alg=alg, kid=PS_KID)
        assert_accepted(env.discovery(token))


def test_sandbox_token_shape_is_accepted_on_all_three_endpoints(env: Env):
    # ES384, jku, kid, typ JWT; iss/aud/exp(+300)/iat/jti; no tenant, no sub (spec item 58).
    token = env.sandbox_token(DISCOVERY_AUD)
    header = json.loads(b64decode(token.split(".")[0]))
    assert header == {"alg": "ES384", "typ": "JWT", "kid": SANDBOX_KID, "jku": env.jku}
    assert set(json.loads(b64decode(token.split(".")[1]))) == {"iss", "aud", "exp", "iat", "jti"}
    assert_accepted(env.discovery(token))
    resp = env.client.post(
        env.feedback_path,
        json=FEEDBACK_BODY,
        headers=bearer(env.sandbox_token(env.aud(env.feedback_path))),
    )
    assert_accepted(resp)
    if env.kind == "test":
        resp = env.client.post(
            env.service_path,
            json=order_sign_body(),
            headers=bearer(env.sandbox_token(env.aud(env.service_path))),
        )
        assert_accepted(resp)


def test_epic_token_shape_is_accepted(env: Env):
    # RS384, no jku, extra sub, nbf = iat - 5 min, exp - iat = 900 s (spec items 49, 54).
    now = int(time.time())
    token = env.epic_token(
        env.aud(env.feedback_path),
        sub="epic-user-8271",
        nbf=now - 300,
        iat=now,
        exp=now + 900,
        client_id="d45049c3-3441-40ef-ab4d-b9cd86a17225",
    )
    resp = env.client.post(env.feedback_path, json=FEEDBACK_BODY, headers=bearer(token))
    assert_accepted(resp)


def test_identity_carries_issuer_tenant_and_fhir_servers(build_env):
    env = build_env(fhir_servers=["https://fhir.hospital-a.example.org/r4"])
    auth = env.app.extensions["cds.auth"]
    identity = auth.authenticate(
        "Bearer " + env.tenant_token(DISCOVERY_AUD, tenant="hospital-a"), DISCOVERY_AUD
    )
    assert identity.iss == TENANT_ISS
    assert identity.tenant == "hospital-a"
    assert identity.fhir_servers == ("https://fhir.hospital-a.example.org/r4",)
    assert identity.authenticated


def test_authorization_scheme_is_case_insensitive(env: Env):
    token = env.epic_token(DISCOVERY_AUD)
    resp = env.client.get("/cds-services", headers={"Authorization": f"bearer {token}"})
    assert_accepted(resp)


def test_cors_preflight_needs_no_token_but_real_calls_do(env: Env):
    resp = env.client.options(env.service_path, headers={"Origin": "https://ehr.example.org"})
    assert resp.status_code == 204
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    resp = env.client.post(
        env.service_path, json=order_sign_body(), headers={"Origin": "https://ehr.example.org"}
    )
    assert resp.status_code == 401
    assert resp.headers["Access-Control-Allow-Origin"]  # CORS headers on errors too (item 61)


def test_openapi_document_is_public_and_holds_no_secret(env: Env):
    resp = env.client.get("/openapi.json")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert resp.get_json()["openapi"].startswith("3.1")
    for secret in (EPIC_ISS, SANDBOX_ISS, TENANT_ISS, "hospital-a", env.jku):
        assert secret not in text
