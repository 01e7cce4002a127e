# Everything goes through make. `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint fmt proto bench charts lock clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m gateway.devrun

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict dsl gateway controller link_assistant_router_admin
	$(BIN)/lint-imports
	.ci/buf lint

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/translate.py
	$(BIN)/python bench/dsl_parse.py
	$(BIN)/python bench/proxy.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/metrics_overhead.py
	$(BIN)/python bench/accounts.py
	$(BIN)/python bench/sidecar.py

# Regenerate akash/deploy.yaml from akash/router.lino, then lint and template both Helm charts.
charts: install
	$(BIN)/link-assistant-router config render akash/router.lino --target akash > akash/deploy.yaml.tmp
	mv akash/deploy.yaml.tmp akash/deploy.yaml
	HELM=$$($(BIN)/python -m tests.controller.tools helm) && \
	  $$HELM lint --strict charts/link-assistant-router charts/link-assistant-router-gateway && \
	  $$HELM template lar charts/link-assistant-router --include-crds >/dev/null && \
	  $$HELM template router charts/link-assistant-router-gateway >/dev/null

# Re-pin every runtime dependency (gateway + controller) after a change to pyproject.toml.
lock: install
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --extra controller --no-emit-index-url --no-emit-find-links \
	  --no-emit-trusted-host --output-file requirements.lock pyproject.toml

proto: install
	$(BIN)/python -m gateway.admin_grpc.codegen

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
