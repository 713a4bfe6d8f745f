# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: fhir-demo run test lint typecheck imports pytest bench clean venv services sysdeps

# Idempotent bootstrap: (re)install only when pyproject.toml changed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	CDS_AUTH_MODE=$${CDS_AUTH_MODE:-off} CDS_FHIR_ALLOWLIST=$${CDS_FHIR_ALLOWLIST:-http://127.0.0.1:8090/fhir} $(BIN)/sarcoma-cds serve

# A local FHIR R4 server (sekmet-fhir) on 127.0.0.1:8090 with the demo patients loaded; run it
# beside `make run` (which allows exactly this server) for the sandbox walkthrough.
fhir-demo: $(STAMP)
	$(BIN)/python -m cds_hooks.demo.server --port 8090 --data data/sekmet

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# The real-database tests use the PostgreSQL of this machine kind (127.0.0.1:5432, db test);
# start it if it is installed but stopped.
services:
	@if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  if command -v pg_ctlcluster >/dev/null 2>&1; then \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
	  fi; \
	fi

# System packages the tests drive: headless Chromium + ChromeDriver (browser test of the
# timeline app). Installed from Debian when missing and we may (root); otherwise the browser
# test says what to install.
sysdeps:
	@if ! command -v chromedriver >/dev/null 2>&1 || ! test -x /usr/lib/chromium/chromium; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver from Debian"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	  else \
	    echo "sysdeps: install chromium and chromium-driver (Debian) for the browser test"; \
	  fi; \
	fi

pytest: $(STAMP) services sysdeps
	$(BIN)/python -m pytest

test: lint typecheck imports pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data build *.egg-info
