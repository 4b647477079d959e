# Two commands matter: `make run` (all three services on embedded SQLite) and
# `make test` (the whole suite). Both set everything up from a fresh clone.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
INSTALLED := $(VENV)/.installed
GENERATED := gen/.generated
PROTOS := $(shell find protos -name '*.proto')

.PHONY: setup run test lint bench e2e fuzz chaos clean tokens

setup: $(INSTALLED) $(GENERATED)

# The editable install maps package `interviews` to gen/interviews, so that
# folder must exist before pip runs; the generator fills it right after.
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	mkdir -p gen/interviews && touch gen/interviews/__init__.py
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(GENERATED)
	touch $@

$(GENERATED): $(PROTOS) scripts/gen_protos.py $(INSTALLED)
	$(BIN)/python scripts/gen_protos.py
	touch $@

run: setup
	$(BIN)/interviews-run

test: setup
	bash scripts/run_tests.sh $(PYTEST_ARGS)

# buf comes from the npm registry (package.json); it runs offline.
lint: node_modules/.bin/buf
	node_modules/.bin/buf lint

node_modules/.bin/buf: package.json
	npm install --no-audit --no-fund --silent
	touch $@

bench: setup
	$(BIN)/python -m bench

e2e: setup
	bash scripts/run_tests.sh -m e2e tests/e2e

fuzz: setup
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-10000} bash scripts/run_tests.sh tests/fuzz -p no:randomly

chaos: setup
	CHAOS_OPERATIONS=$${CHAOS_OPERATIONS:-1000} bash scripts/run_tests.sh -m chaos tests/chaos

# Development bearer tokens for the CLI, e.g. `make tokens ROLE=recruiter`.
tokens: setup
	$(BIN)/interviews token issue --role $${ROLE:-admin} --subject $${SUBJECT:-dev@localhost}

clean:
	rm -rf $(VENV) gen node_modules .pytest_cache
