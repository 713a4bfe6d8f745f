"""Run sekmet-fhir on loopback with the demo patients loaded: ``make fhir-demo``.

Development convenience for the sandbox walkthrough; it serves until interrupted.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from cds_hooks.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--data", type=Path, default=Path("data/sekmet"))
    args = parser.parse_args(argv)
    base = f"http://127.0.0.1:{args.port}/fhir"
    args.data.mkdir(parents=True, exist_ok=True)
    config = args.data / "settings.yaml"
    config.write_text(
        f"base_url: {base}\nhost: 127.0.0.1\nport: {args.port}\n"
        f"data_dir: {args.data.resolve() / 'store'}\n"
        "simulator: {enabled: false}\nlog_inbound: false\n"
    )
    executable = Path(sys.executable).with_name("sekmet")
    command = str(executable) if executable.exists() else shutil.which("sekmet")
    if not command:
        print("fhir-demo: sekmet-fhir is not installed (pip install sekmet-fhir)", file=sys.stderr)
        return 2
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [command, "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(args.port)]
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/metadata", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                print("fhir-demo: the FHIR server did not start", file=sys.stderr)
                return 2
            time.sleep(0.3)
        status = cli_main(["demo", "load", "--fhir-server", base])
        if status != 0:
            return status
        print(f"fhir-demo: FHIR server with the demo patients at {base} (Ctrl-C stops it)")
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
