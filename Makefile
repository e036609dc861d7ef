# hexpay: `make run` starts the service on SQLite + the sandbox gateway; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck importlint pytest bench bench-smoke load clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

run: install
	$(BIN)/hexpay dev --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy domain application adapters entrypoints bench hexpay_testing

importlint: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck importlint pytest

# Speed beside its limits (pgbench, a bare handler): not part of `make test`. BENCH_ARGS="--with-1m" adds the
# 1M-row point of the cost curve; see bench/README.md. bench-smoke is the same run, tiny (about a minute).
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-smoke: install
	$(BIN)/python -m bench --smoke

# The load campaign at full size (make test runs it small): payments paid at once over HTTP on Postgres, their
# webhooks duplicated and shuffled while confirms race them. LOAD_PAYMENTS=2000 make load for more.
LOAD_PAYMENTS ?= 400
load: install
	HEXPAY_LOAD_PAYMENTS=$(LOAD_PAYMENTS) HEXPAY_LOAD_SHOPPERS=40 HEXPAY_LOAD_CONCURRENCY=32 HEXPAY_LOAD_SECONDS=900 \
		$(BIN)/pytest tests/load -q -p no:cacheprovider

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
