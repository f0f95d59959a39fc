# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Exact versions of every package, written by `make lock`; installs never resolve afresh.
LOCK := constraints.txt

.PHONY: demo test lint typecheck pytest golden bench lock clean docs

# Re-installs whenever pyproject.toml or the lock changes.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[test]'
	touch $(STAMP)

## demo: compose the sample bulletin, import the sample lists and send to them through the outbox
demo: $(STAMP)
	$(BIN)/python -m composer.demo

## test: ruff, mypy and the whole pytest suite
test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check composer tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

## golden: regenerate the golden files after a reviewed change to blocks or layouts
## docs: regenerate the block reference at the top of docs/BLOCKS.md from sections/*/block.yaml
docs: $(STAMP)
	$(BIN)/python -m composer.authoring.catalogue docs/BLOCKS.md sections

golden: $(STAMP)
	$(BIN)/python -m pytest -q tests/compose/test_golden.py --update-golden

bench: $(STAMP)
	$(BIN)/python bench/compose.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/send.py
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/import_docx.py

## lock: resolve the newest versions pyproject.toml allows, in a fresh venv, into constraints.txt
lock:
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$tmp/venv/bin/python" -m pip install --quiet -e '.[test]'; \
	{ echo "# Exact versions for pip install -c $(LOCK) -e '.[test]' (make, .ci/run)."; \
	  echo "# Written by \`make lock\` from pyproject.toml; do not edit by hand."; \
	  "$$tmp/venv/bin/python" -m pip freeze --exclude-editable | LC_ALL=C sort -f; \
	} > "$$tmp/$(LOCK)"; \
	mv "$$tmp/$(LOCK)" $(LOCK)

clean:
	rm -rf out outbox .bulletin .pytest_cache .mypy_cache .ruff_cache
