# trafficgov — `make help` lists the commands.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SEED ?= 1
SIZE ?= small
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help demo serve test test-fast lint system-deps bench clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The Spark backend of entity resolution (trafficgov[spark], ~500 MB, runs on the machine's Java 17):
# the suite tests it, the demo does not need it.
$(BIN)/.installed-spark: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[test,spark]'
	touch $@

demo: $(BIN)/.installed ## set up, build the demo city (SQLite under ./var) and serve at http://127.0.0.1:8000
	$(BIN)/trafficgov demo build --seed $(SEED) --size $(SIZE) --if-missing
	$(BIN)/trafficgov serve --host $(HOST) --port $(PORT)

serve: $(BIN)/.installed ## serve the platform on the current store
	$(BIN)/trafficgov serve --host $(HOST) --port $(PORT)

system-deps: ## install Debian's chromium and CJK fonts (browser tests), start PostgreSQL if it is down
	bash scripts/system-deps.sh

test: $(BIN)/.installed-spark system-deps ## set up and run the whole suite (SQLite and PostgreSQL, browser and Spark tests included)
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -n 2 --dist loadgroup tests

test-fast: $(BIN)/.installed ## the suite without the browser tests
	$(BIN)/pytest -n 2 --dist loadgroup -m 'not browser' tests

lint: $(BIN)/.installed ## ruff and the import contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

bench: $(BIN)/.installed ## run the benchmarks (long; results go to docs/benchmarks.md by hand)
	$(BIN)/python bench/import_registry.py
	$(BIN)/python bench/api_lookup.py
	$(BIN)/python bench/decide.py
	$(BIN)/python bench/ingest_captures.py

clean: ## remove the virtual environment and the embedded store
	rm -rf $(VENV) var
