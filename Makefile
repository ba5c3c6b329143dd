# ContraVento: two commands on a fresh machine (Python 3.11+ and make): `make run`, `make test`.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python
SAMPLE ?= tests/data/samples/strava-ride-power-hr-cad.gpx

.PHONY: help uv install chromium kubectl run test lint typecheck unit integration worker flower bench screenshots clean

help:
	@echo "make run      install and start the service on http://127.0.0.1:8000"
	@echo "make test     install and run lint, types and the whole test suite"
	@echo "make worker   start a Celery worker alone"
	@echo "make flower   start Flower on :5555"
	@echo "make bench    run the benchmarks (prints tables)"
	@echo "make screenshots  refresh docs/img from the browser tests"

uv:
	@command -v $(UV) >/dev/null 2>&1 || { echo "uv not found: installing it with pip"; \
	  python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv; }

# Bytecode is compiled once here: with PYTHONDONTWRITEBYTECODE set (as on the CI machine) every
# process would otherwise compile each module it imports, about 2 s of CPU per API or worker
# start, and any lazy import inside a request.
install: uv
	@$(UV) sync --frozen --quiet --compile-bytecode
	@$(PY) -m compileall -q src

# Debian's chromium for the browser tests (tests/e2e); never a browser download by a test tool.
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "chromium not found: installing Debian's package"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null || \
	  echo "could not install chromium: browser tests skip (and fail under CI=true)"; }

# kubectl renders deploy/k8s offline (`kubectl kustomize`, built in) for tests/unit/test_k8s_manifests.py;
# no cluster is contacted. Missing and not installable: those tests skip (and fail under CI=true).
kubectl:
	@command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found: installing the kubectl package"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq kubectl >/dev/null || \
	  echo "could not install kubectl: the Kubernetes manifest tests skip (and fail under CI=true)"; }

run: install
	@$(PY) -m contravento.cli run

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck: install
	$(UV) run --frozen mypy

test: lint typecheck chromium kubectl
	$(UV) run --frozen pytest -q -p no:cacheprovider $(PYTEST_ARGS)

unit: install
	$(UV) run --frozen pytest -q tests/unit

worker: install
	$(UV) run --frozen contravento worker

flower: install
	$(UV) run --frozen python -m contravento.cli flower

bench: install
	$(UV) run --frozen python -m bench.domain
	$(UV) run --frozen python -m bench.e2e
	$(UV) run --frozen python -m bench.load
	$(UV) run --frozen python -m bench.auth
	$(UV) run --frozen python -m bench.job_events
	$(UV) run --frozen python -m bench.capacity
	$(UV) run --frozen python -m bench.gzip_bomb

screenshots: install chromium
	UPDATE_SCREENSHOTS=1 $(UV) run --frozen pytest -q -p no:cacheprovider tests/e2e -k "completed or several_files"

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache
