"""Shared fixtures: settings and apps built through ``create_app(settings)``, JSON loaders."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_hooks.settings import Settings
from cds_hooks.web import create_app

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get(
    "SARCOMA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def load_json() -> Callable[[str], Any]:
    """Load ``tests/fixtures/<relative path>`` as JSON."""

    def _load(relative: str) -> Any:
        return json.loads((FIXTURES / relative).read_text())

    return _load


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for tests: auth off on loopback, a fresh SQLite file, an external base URL."""

    def _make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "auth_mode": "off",
            "database_url": f"sqlite:///{tmp_path}/cds.sqlite3",
            "base_url": "https://cds.example.org",
            "fhir_allowlist": [],
        }
        values.update(overrides)
        return Settings(**values)

    return _make


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Flask]]:
    """Build apps; their database pools are closed when the test ends."""
    apps: list[Flask] = []

    def _make(settings: Settings | None = None, **kwargs: Any) -> Flask:
        app = create_app(settings or make_settings(), **kwargs)
        app.testing = True
        apps.append(app)
        return app

    yield _make
    for built in apps:
        built.extensions["cds.engine"].dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as test_client:
        yield test_client
