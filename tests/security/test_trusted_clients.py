"""The trusted-clients file: formats accepted, and every bad file stopping start-up clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cds_hooks.auth import TrustedClientsError, load_trusted_clients, parse_jwks
from cds_hooks.settings import SettingsError
from tests.security.kit import Keys, public_jwk

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "trusted-clients.example.yaml"


def write(tmp_path: Path, entries, name: str = "clients.yaml") -> Path:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(entries))
    else:
        path.write_text(yaml.safe_dump(entries))
    return path


def test_documented_example_file_loads():
    clients = load_trusted_clients(EXAMPLE)
    by_iss = {c.iss: c for c in clients}
    sandbox = by_iss["https://sandbox.cds-hooks.org"]
    assert sandbox.jku == "https://sandbox.cds-hooks.org/.well-known/jwks.json"
    assert sandbox.tenants is None
    assert len(clients) == 2


def test_yaml_json_and_clients_mapping_are_accepted(tmp_path: Path, keys: Keys):
    entry = {"iss": "https://a.example.org", "jwks": {"keys": [public_jwk(keys.ec384, "k1")]}}
    assert load_trusted_clients(write(tmp_path, [entry]))[0].iss == entry["iss"]
    assert load_trusted_clients(write(tmp_path, [entry], "c.json"))[0].iss == entry["iss"]
    assert load_trusted_clients(write(tmp_path, {"clients": [entry]}))[0].iss == entry["iss"]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"iss": "https://a.example.org"}], "give one of jku, jwks_file or jwks"),
        ([{"iss": "https://a.example.org", "jku": "http://a.example.org/jwks"}], "https"),
        ([{"iss": "https://a.example.org", "jku": "ftp://a.example.org/jwks"}], "https"),
        ([{"iss": "https://a.example.org", "jku": "https://u:p@a.example.org/j"}], "credentials"),
        ([{"iss": "", "jku": "https://a.example.org/j"}], "entry 0.iss"),
        (
            [{"iss": "https://a.example.org", "jku": "https://a.example.org/j", "aud": "x"}],
            "Extra inputs",
        ),
        (
            [{"iss": "https://a.example.org", "jku": "https://a.example.org/j", "tenants": []}],
            "tenant",
        ),
        (
            [
                {
                    "iss": "https://a.example.org",
                    "jku": "https://a.example.org/j",
                    "fhir_servers": ["fhir.example.org"],
                }
            ],
            "absolute",
        ),
        (
            [
                {"iss": "https://a.example.org", "jku": "https://a.example.org/j"},
                {"iss": "https://a.example.org", "jku": "https://a.example.org/k"},
            ],
            "listed twice",
        ),
        ([], "non-empty list"),
        ({"issuers": []}, "non-empty list"),
        ("just a string", "non-empty list"),
    ],
)
def test_invalid_file_stops_start_up_with_a_clear_message(tmp_path: Path, entries, message):
    with pytest.raises(TrustedClientsError, match=message) as info:
        load_trusted_clients(write(tmp_path, entries))
    assert isinstance(info.value, SettingsError)  # the CLI prints it and exits
    assert "CDS_TRUSTED_CLIENTS_FILE" in str(info.value)


def test_unparseable_and_missing_files_are_refused(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- iss: [unclosed\n")
    with pytest.raises(TrustedClientsError, match="not valid YAML/JSON"):
        load_trusted_clients(bad)
    with pytest.raises(TrustedClientsError, match="cannot be read"):
        load_trusted_clients(tmp_path / "missing.yaml")


def test_jwks_with_private_material_duplicate_kids_or_no_usable_key_is_refused(keys: Keys):
    private = json.loads(__import__("jwt").algorithms.ECAlgorithm.to_jwk(keys.ec384)) | {"kid": "p"}
    with pytest.raises(ValueError, match="secret key material"):
        parse_jwks({"keys": [private]}, where="t")
    with pytest.raises(ValueError, match="secret key material"):
        parse_jwks({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}, where="t")
    jwk = public_jwk(keys.ec384, "dup")
    with pytest.raises(ValueError, match="not unique"):
        parse_jwks({"keys": [jwk, jwk]}, where="t")
    with pytest.raises(ValueError, match="no kid"):
        parse_jwks({"keys": [{k: v for k, v in jwk.items() if k != "kid"}]}, where="t")
    with pytest.raises(ValueError, match="'keys' list"):
        parse_jwks({"keys": {}}, where="t")


def test_weak_or_unsupported_keys_are_skipped(keys: Keys):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p521 = ec.generate_private_key(ec.SECP521R1())
    parsed = parse_jwks(
        {
            "keys": [
                public_jwk(weak, "weak-rsa"),
                public_jwk(p521, "p521"),
                public_jwk(keys.ec384, "enc", None) | {"use": "enc"},
                public_jwk(keys.ec384, "hs-alg", "HS256"),
                public_jwk(keys.ec384, "good"),
            ]
        },
        where="t",
    )
    assert set(parsed) == {"good"}
    assert parsed["good"].algorithms == {"ES384"}


def test_inline_jwks_without_any_usable_key_stops_start_up(make_settings, make_app, tmp_path):
    path = write(
        tmp_path,
        [{"iss": "https://a.example.org", "jwks": {"keys": [{"kty": "EC", "kid": "x"}]}}],
    )
    settings = make_settings(auth_mode="jwt", trusted_clients_file=path)
    with pytest.raises(TrustedClientsError, match="no usable"):
        make_app(
            settings, registry=__import__("cds_hooks.registry").registry.Registry(), kb=object()
        )


def test_relative_jwks_file_is_resolved_next_to_the_clients_file(
    make_settings, make_app, tmp_path, keys
):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "a.json").write_text(json.dumps({"keys": [public_jwk(keys.ec256, "a")]}))
    path = write(tmp_path, [{"iss": "https://a.example.org", "jwks_file": "keys/a.json"}])
    settings = make_settings(auth_mode="jwt", trusted_clients_file=path)
    from cds_hooks.registry import Registry

    app = make_app(settings, registry=Registry(), kb=object())
    assert app.extensions["cds.auth"].issuers["https://a.example.org"].keys.get("a")
    (tmp_path / "keys" / "a.json").unlink()
    with pytest.raises(TrustedClientsError, match="unreadable"):
        make_app(settings, registry=Registry(), kb=object())
