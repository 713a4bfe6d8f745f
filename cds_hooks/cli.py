"""The ``sarcoma-cds`` command line: ``serve`` plus subcommands registered by other modules.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)`` and sets ``func`` on its
parser; a missing optional module is skipped so the CLI keeps working while features land.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from cds_hooks.commands.ports import port_problem
from cds_hooks.logs import configure_logging
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
    busy = port_problem(settings.host, settings.port)
    if busy:
        print(f"sarcoma-cds: {busy} (--port or CDS_PORT)", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if not args.dev:
        from cds_hooks.observability import multiprocess_mode

        if not multiprocess_mode():  # the folder was chosen too late (see main)
            print("sarcoma-cds: metrics are not in multiprocess mode", file=sys.stderr)
            return 3
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

    from cds_hooks.server import cleanup_metrics_dir, gunicorn_options

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in gunicorn_options(settings).items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return app

    try:
        _App().run()
    finally:
        cleanup_metrics_dir()
    return 0


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
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["serve"] and "--dev" not in words:
        # gunicorn workers are separate processes: their metrics are shared through files, and
        # prometheus_client picks that mode when it is first imported, which building the
        # parser (the subcommand modules) would do. So the folder is chosen first.
        from cds_hooks.server import prepare_metrics_dir

        prepare_metrics_dir()
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
