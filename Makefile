# The two commands: `make dev` runs the account center, `make test` tests it.
# Both start from a fresh clone: they create the virtualenv and install what is needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install dev dev-reset test lint typecheck unit contract integration e2e asyncapi contracts clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run everything: embedded broker, mail sink, the four services (Ctrl-C stops all).
dev: install
	$(BIN)/account-center-dev

## The whole suite: lint, types, then unit, contract, integration and end-to-end tests.
test: install lint typecheck
	$(BIN)/python -m devkit.infra
	$(BIN)/pytest -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy shared services devkit tests bench

unit contract integration e2e: install
	$(BIN)/python -m devkit.infra
	$(BIN)/pytest -p no:cacheprovider -m $@

## Regenerate committed artefacts after changing events or subscribers.
asyncapi: install
	$(BIN)/python -m devkit.asyncapi

contracts: install
	$(BIN)/python -m shared.contracts

## Drop the dev databases (account_*) and Redis keys (acct:*); the broker starts empty anyway.
dev-reset: install
	$(BIN)/python -m devkit.infra --reset

clean:
	rm -rf $(VENV) .dev .mypy_cache .ruff_cache
