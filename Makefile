# The two quick-start commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP ?= flask
PORT ?= 3000
NODE_DEPS := tests/interop/js/node_modules/.package-lock.json

.PHONY: test demo bench lint format typecheck install node-deps docs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The npm packages the interop tests seal and unseal with (iron-webcrypto).
$(NODE_DEPS): tests/interop/js/package-lock.json
	npm ci --prefix tests/interop/js --no-audit --no-fund --loglevel=error

node-deps: $(NODE_DEPS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

test: install node-deps lint typecheck
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python -m authkit_middleware.cli emulator --port 8787

clean:
	rm -rf $(VENV) tests/interop/js/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
