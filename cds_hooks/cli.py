"""The ``sarcoma-cds`` command line: ``serve`` plus subcommands registered by other modules.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)`` and sets ``func`` on its
parser; a missing optional module is skipped so the CLI keeps working while features land.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from cds_hooks.observability import configure_logging
from cds_hooks.settings import AuthMode, Settings, SettingsError, load_settings

COMMAND_MODULES = (
    "cds_hooks.commands.map_cmd",
    "cds_hooks.commands.evaluate_cmd",
    "cds_hooks.commands.kb_cmd",
    "cds_hooks.commands.feedback_cmd",
    "cds_hooks.commands.demo_cmd",
    "cds_hooks.commands.selfcheck_cmd",
)

BANNER_LINES = (
    "AUTHENTICATION IS OFF (CDS_AUTH_MODE=off).",
    "Any local process can call this service. This is only allowed",
    "because it is bound to the loopback address {host}.",
    "Never expose it; production uses CDS_AUTH_MODE=jwt.",
)


def banner(host: str) -> str:
    lines = [line.format(host=host) for line in BANNER_LINES]
    width = max(len(line) for line in lines) + 4
    rule = "*" * (width + 2)
    body = "\n".join(f"*  {line:<{width - 2}}*" for line in lines)
    return f"\n{rule}\n{body}\n{rule}\n"


def _serve(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(f"sarcoma-cds: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if not args.dev and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # gunicorn workers are separate processes: metrics are aggregated through files.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sarcoma-cds-metrics-")
    if settings.auth_mode is AuthMode.OFF:
        print(banner(settings.host), file=sys.stderr)
    from cds_hooks.web import create_app

    try:
        app = create_app(settings)
    except Exception as exc:  # invalid knowledge or unreachable database stop start-up
        print(f"sarcoma-cds: start-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    print(
        f"sarcoma-cds: serving CDS Hooks discovery at "
        f"http://{settings.host}:{settings.port}/cds-services "
        f"(external base {settings.external_base_url}, database "
        f"{settings.database_url.split('://', 1)[0]})",
        file=sys.stderr,
    )
    gc.collect()
    gc.freeze()  # see cds_hooks/wsgi.py
    if args.dev:
        app.run(host=settings.host, port=settings.port, debug=False, use_reloader=False)
        return 0
    return _gunicorn(app, settings)


def _gunicorn(app: Any, settings: Settings) -> int:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            workers = settings.workers or (multiprocessing.cpu_count() + 1)  # see gunicorn.conf
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("keepalive", 5)
            self.cfg.set("accesslog", None)
            self.cfg.set("limit_request_line", 8190)
            self.cfg.set("child_exit", _child_exit)
            self.cfg.set("forwarded_allow_ips", settings.forwarded_allow_ips)
            self.cfg.set("preload_app", True)

        def load(self) -> Any:
            return app

    _App().run()
    return 0


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sarcoma-cds", description="CDS Hooks service for soft-tissue sarcoma therapy"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service (gunicorn; --dev for Flask's server)")
    serve.add_argument("--dev", action="store_true", help="Flask development server")
    serve.add_argument("--host", help="override CDS_HOST")
    serve.add_argument("--port", type=int, help="override CDS_PORT")
    serve.set_defaults(func=_serve)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
