# Two commands: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= donorcrm.db
export DONORCRM_DATABASE_URL ?= sqlite:///$(DB)

.PHONY: run test venv install lint bench clean demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

# Pinned versions from requirements.lock, then the project itself without re-resolving.
$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/donorcrm db upgrade
	$(BIN)/donorcrm demo --if-empty
	$(BIN)/donorcrm serve

test: install
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy donorcrm

bench: install
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
