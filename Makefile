# Threadline: `make run` to start it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Create the virtualenv, install, migrate, and serve API + worker + sandbox on $THREADLINE_PORT (8000).
run: $(STAMP)
	$(BIN)/threadline serve

## Lint, type-check and run the whole suite (PostgreSQL half when THREADLINE_TEST_POSTGRES_URL is set).
test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	@if [ -z "$$THREADLINE_TEST_POSTGRES_URL" ]; then \
		echo "NOTE: THREADLINE_TEST_POSTGRES_URL is not set: the PostgreSQL half of the suite is SKIPPED."; \
	fi
	$(BIN)/pytest -q

## Benchmarks (not tests): prints one JSON object.
bench: $(STAMP)
	@$(BIN)/python -m bench

demo: $(STAMP)
	$(BIN)/threadline demo

clean:
	rm -rf $(VENV) .threadline .pytest_cache .mypy_cache .ruff_cache
