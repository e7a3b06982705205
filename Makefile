# The two quick-start commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP ?= flask
PORT ?= 3000
NODE_DEPS := tests/interop/js/node_modules/.package-lock.json

.PHONY: test demo bench bench-storm fuzz lint format typecheck install node-deps docs clean

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

# An example app on http://localhost:$(PORT); without WORKOS_API_KEY the embedded
# emulator signs you in (it prints the demo users). APP=flask (default), fastapi,
# starlette, django, django-wsgi, plain-asgi or plain-wsgi.
demo: install
	@case "$(APP)" in \
	  flask|fastapi|starlette) script="examples/$(APP)/app.py" ;; \
	  django) script="examples/django/app.py" ;; \
	  django-wsgi) script="examples/django/app.py --wsgi" ;; \
	  plain-asgi) script="examples/plain_asgi/app.py" ;; \
	  plain-wsgi) script="examples/plain_wsgi/app.py" ;; \
	  *) echo "make demo: unknown APP=$(APP); use flask, fastapi, starlette, django," \
	       "django-wsgi, plain-asgi or plain-wsgi" >&2; exit 2 ;; \
	esac; \
	echo "Starting the $(APP) example on http://localhost:$(PORT) (Ctrl-C to stop)"; \
	PORT=$(PORT) exec $(BIN)/python $$script

# In-process table, real servers under wrk (Debian package `wrk`), and the memory bound.
# Each prints its targets with ✓/✗ and exits 1 on a miss; `-` lets all three report.
bench: install
	-$(BIN)/python benchmarks/inprocess.py
	-$(BIN)/python benchmarks/servers.py
	-$(BIN)/python benchmarks/memory.py
	-$(BIN)/python benchmarks/first_request_floor.py

docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench-storm: install
	$(BIN)/python benchmarks/refresh_storm.py

fuzz: install
	$(BIN)/python tests/security/fuzz_targets.py -max_total_time=600 -rss_limit_mb=2048

clean:
	rm -rf $(VENV) tests/interop/js/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
