# The two commands a newcomer needs are `make demo` and `make test`; both build .venv first.
# The demo needs the runtime only; the tests need the development extras too (Playwright,
# mypy, Radicale, schemathesis...), installed on first `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUNTIME_STAMP := $(VENV)/.runtime-stamp

.PHONY: demo test lint typecheck pytest bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The package and its runtime dependencies, nothing else.
$(RUNTIME_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

# Everything `make test` runs (a superset of the runtime).
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUNTIME_STAMP)

# The whole service on a generated clinic; the offline audit stays
# `clinic-sync audit examples/clinic-export/*.ics`.
demo: $(RUNTIME_STAMP)
	$(BIN)/clinic-sync demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict rules sync

# One test process per core (pytest-xdist); each file runs whole on one process, so a
# module's fixtures (a browser, a served app) start once. Tests marked `alone` follow on
# their own. A single file: `$(BIN)/pytest FILE`.
pytest: $(STAMP)
	$(BIN)/pytest -n auto --dist loadfile -m "not alone"; parallel=$$?; \
	$(BIN)/pytest -m alone && exit $$parallel

test: lint typecheck pytest

# Every bench/*.py at its small size, one table of figures against floors (bench/run.py);
# `make bench FULL=1` runs them at full size.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(if $(FULL),--full)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
