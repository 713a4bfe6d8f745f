"""Settings: CDS_* environment variables, and invalid settings stop start-up clearly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cds_hooks.settings import Settings, SettingsError, load_settings


def test_defaults_bind_loopback_with_sqlite_under_data(monkeypatch):
    monkeypatch.setenv("CDS_AUTH_MODE", "off")
    settings = load_settings()
    assert settings.host == "127.0.0.1" and settings.port == 8080
    assert settings.database_url == "sqlite:///data/sarcoma-cds.sqlite3"
    assert settings.external_base_url == "http://127.0.0.1:8080"


def test_environment_variables_are_read_with_the_cds_prefix(monkeypatch, tmp_path):
    clients = tmp_path / "clients.yaml"
    clients.write_text("[]\n")
    monkeypatch.setenv("CDS_BASE_URL", "https://cds.example.org/prefix/")
    monkeypatch.setenv("CDS_FHIR_ALLOWLIST", "https://a.example.org/fhir, https://b.example.org")
    monkeypatch.setenv("CDS_CORS_ORIGINS", "https://ehr.example.org")
    monkeypatch.setenv("CDS_FHIR_TIMEOUT_S", "1.5")
    monkeypatch.setenv("CDS_TRUSTED_CLIENTS_FILE", str(clients))
    settings = load_settings()
    assert settings.auth_mode == "jwt"
    assert settings.external_base_url == "https://cds.example.org/prefix"
    assert settings.fhir_allowlist == ["https://a.example.org/fhir", "https://b.example.org"]
    assert settings.cors_origins == ["https://ehr.example.org"]
    assert settings.fhir_timeout_s == 1.5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CDS_AUTH_MODE": "off", "CDS_HOST": "0.0.0.0"}, "CDS_AUTH_MODE=off is only allowed"),
        ({"CDS_AUTH_MODE": "jwt"}, "needs CDS_TRUSTED_CLIENTS_FILE"),
        ({"CDS_AUTH_MODE": "off", "CDS_PORT": "http"}, "CDS_PORT"),
        ({"CDS_AUTH_MODE": "off", "CDS_BASE_URL": "cds.example.org"}, "CDS_BASE_URL"),
        ({"CDS_AUTH_MODE": "off", "CDS_FHIR_ALLOWLIST": "fhir.example.org"}, "CDS_FHIR_ALLOWLIST"),
        ({"CDS_AUTH_MODE": "maybe"}, "CDS_AUTH_MODE"),
        ({"CDS_AUTH_MODE": "off", "CDS_FHIR_TIMEOUT_S": "0"}, "CDS_FHIR_TIMEOUT_S"),
        ({"CDS_AUTH_MODE": "off", "CDS_FHIR_ALOWLIST": "x"}, "did you mean CDS_FHIR_ALLOWLIST"),
    ],
)
def test_invalid_settings_raise_a_readable_error(monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert message in str(info.value)


def test_serve_refuses_to_start_with_invalid_settings():
    env = {"CDS_AUTH_MODE": "off", "CDS_HOST": "0.0.0.0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "cds_hooks.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "CDS_AUTH_MODE=off is only allowed when CDS_HOST is a loopback address" in result.stderr


def test_loopback_detection():
    assert Settings(auth_mode="off", host="::1").host == "::1"
    assert Settings(auth_mode="off", host="localhost").external_base_url == "http://localhost:8080"


def test_site_setting_hides_rules_without_clinical_signoff(monkeypatch):
    from cds_hooks.web import load_knowledge

    monkeypatch.setenv("CDS_AUTH_MODE", "off")
    assert load_knowledge(load_settings()).active_rules()
    monkeypatch.setenv("CDS_UNREVIEWED_RULES", "hide")
    kb = load_knowledge(load_settings())
    assert kb.meta.unreviewed_rules == "hide"
    assert all(c.rule.status == "active" for c in kb.active_rules())
