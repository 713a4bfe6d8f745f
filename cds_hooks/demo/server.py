"""Run sekmet-fhir on loopback with the demo patients loaded: ``make fhir-demo``.

Development convenience for the sandbox walkthrough; it serves until interrupted. The port is
checked first (a second ``make fhir-demo`` says it is taken and touches nothing). The patients
are loaded through a private loopback port; only then does the server open the announced port,
so whoever reaches it finds every demo patient.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from cds_hooks.cli import main as cli_main
from cds_hooks.commands.ports import port_problem

START_TIMEOUT_S = 90


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(command: str, config: Path, port: int) -> subprocess.Popen[bytes] | None:
    """sekmet on ``port``, once its metadata answers; ``None`` (and stopped) if it never does."""
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [command, "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while process.poll() is None and time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/fhir/metadata"
                if requests.get(url, timeout=1).status_code == 200:
                    return process
            except requests.RequestException:
                pass
            time.sleep(0.3)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM) while waiting: the half-started server goes too
        _stop(process)
        raise
    _stop(process)
    return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (``kill``, a supervisor, a test harness) stops the FHIR server like Ctrl-C does,
    so that sekmet is never left running on the port after this wrapper is gone."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--data", type=Path, default=Path("data/sekmet"))
    args = parser.parse_args(argv)
    busy = port_problem("127.0.0.1", args.port)
    if busy:
        print(f"fhir-demo: {busy}; nothing was started or reloaded", file=sys.stderr)
        return 2
    executable = Path(sys.executable).with_name("sekmet")
    command = str(executable) if executable.exists() else shutil.which("sekmet")
    if not command:
        print("fhir-demo: sekmet-fhir is not installed (pip install sekmet-fhir)", file=sys.stderr)
        return 2
    base = f"http://127.0.0.1:{args.port}/fhir"
    args.data.mkdir(parents=True, exist_ok=True)
    config = args.data / "settings.yaml"
    config.write_text(
        f"base_url: {base}\nhost: 127.0.0.1\nport: {args.port}\n"
        f"data_dir: {args.data.resolve() / 'store'}\n"
        "simulator: {enabled: false}\nlog_inbound: false\n"
    )
    loading_port = _free_loopback_port()
    try:
        loader = _start(command, config, loading_port)
    except KeyboardInterrupt:
        return 0
    if loader is None:
        print("fhir-demo: the FHIR server did not start", file=sys.stderr)
        return 2
    try:
        status = cli_main(
            ["demo", "load", "--fhir-server", f"http://127.0.0.1:{loading_port}/fhir"]
        )
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(loader)
    if status != 0:
        return status
    try:
        server = _start(command, config, args.port)
    except KeyboardInterrupt:
        return 0
    if server is None:
        print(f"fhir-demo: the FHIR server did not start on port {args.port}", file=sys.stderr)
        return 2
    try:
        print(f"fhir-demo: FHIR server with the demo patients at {base} (Ctrl-C stops it)")
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(server)


if __name__ == "__main__":
    sys.exit(main())
