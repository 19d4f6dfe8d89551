# Haven: the two commands of the README, and the pieces they are made of.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= var
DATASETS ?= ../shared/data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install install-test lint types pytest docs report-example benchmark screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[forecast,routing]'
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## make demo: install, build the database, load the demo data, serve on http://127.0.0.1:8000
demo: install
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven init
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven demo --datasets $(DATASETS)
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven import awsd $(DATASETS)/awsd_security_incidents_1997_2025.csv
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven import shcc $(DATASETS)/shcc_attacks_on_health_care_2016_2023.xlsx
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven import kika $(DATASETS)/insecurity_insight_aid_worker_kika_2020_2024.json
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven import who_ssa $(DATASETS)/who_ssa_attacks_2017_2024.csv
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven hotspots --country SDN --since 2023-01 --out $(DATA_DIR)/hotspots-SDN.geojson
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven forecast units --unit country --limit 10
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven forecast facilities --exercise --as-of 2025-03-31 --limit 5
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven demo-release --country SDN
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven report --country SDN --period 2023-Q2 --out $(DATA_DIR)/reports
	HAVEN_DATA_DIR=$(DATA_DIR) $(BIN)/haven serve --host $(HOST) --port $(PORT)

## make test: install what the tests need, then lint, type-check and run the whole suite
test: install-test lint types pytest

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

types: install-test
	$(BIN)/mypy

pytest: install-test
	$(BIN)/python -m pytest

## make docs: regenerate docs/cli.md, docs/settings.md and docs/errors.md from the code
docs: install
	$(BIN)/python -m haven.docgen docs

## make report-example: the example risk assessment in docs/reports/ (WHO SSA and SHCC, Sudan, 2023-Q2)
REPORT_DIR ?= /tmp/haven-report-example
report-example: install
	rm -rf $(REPORT_DIR)
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven init
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven import who_ssa $(DATASETS)/who_ssa_attacks_2017_2024.csv
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven import shcc $(DATASETS)/shcc_attacks_on_health_care_2016_2023.xlsx
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven user add example-analyst --role analyst --org "Haven example"
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven user add example-coordinator --role coordinator --org "Haven example"
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven release create --title "Attacks on health care in Sudan (WHO SSA and SHCC)" --as example-analyst --policy docs/reports/policy-SDN.toml
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven release approve 1 --as example-coordinator
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven release publish 1 --as example-analyst
	HAVEN_DATA_DIR=$(REPORT_DIR) $(BIN)/haven report --country SDN --period 2023-Q2 --release 1 --out docs/reports

## make benchmark: measure report ingestion and write docs/benchmarks.md
benchmark: install-test
	$(BIN)/python benchmarks/ingest.py

## make screenshots: photograph the web app (exercise data) into docs/screenshots/ (needs chromium)
screenshots: install-test
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
