"""Fixtures of the sandbox-kit tests: the real app served over HTTP on a loopback port."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from cds_hooks.settings import Settings
from tests.peers import free_port

#: The "today" of every sandbox test: after the last event of every demo patient.
AS_OF = dt.date(2026, 1, 15)


@contextmanager
def serve(app: Flask, port: int) -> Iterator[str]:
    """Serve ``app`` with werkzeug in a thread; yield its base URL."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def served(
    make_settings: Callable[..., Settings], make_app: Callable[..., Flask]
) -> Iterator[Callable[..., Any]]:
    """``served(**settings)`` -> base URL of the app built with those settings."""
    stack: list[Any] = []

    def _start(*, clock: Any = None, **overrides: Any) -> str:
        port = overrides.setdefault("port", free_port())
        overrides.setdefault("base_url", f"http://127.0.0.1:{port}")
        app = make_app(make_settings(**overrides), clock=clock or (lambda: AS_OF))
        context = serve(app, port)
        stack.append(context)
        return context.__enter__()

    yield _start
    for context in reversed(stack):
        context.__exit__(None, None, None)
