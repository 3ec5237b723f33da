# The two commands that matter: `make demo` and `make test`. Both set up .venv from scratch when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-all bench lint reproduce docs dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e ".[tensorflow-cpu,test,dev,docs]"
	# larq-zoo's architectures are what the tests export and monitor; its pins predate the
	# stack, so it installs without them, plus what its modules import.
	$(BIN)/python -m pip install -c constraints.txt click typeguard tensorflow-datasets
	$(BIN)/python -m pip install -c constraints.txt --no-deps larq-zoo zookeeper
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bnn-init demo

# The unit tier (about 10 minutes on 2 cores); `test-slow` is the end-to-end tier (README
# commands, the rest of the larq-zoo sweep, quick reproductions); CI runs both.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

reproduce: $(STAMP)
	$(BIN)/python scripts/reproduce_readme.py

docs: $(STAMP)
	TF_USE_LEGACY_KERAS=1 $(BIN)/mkdocs build --strict
	@echo "API reference: build/site/index.html"

# sdist and wheel in dist/, checked by twine (the package is not on the index yet).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist
	$(BIN)/twine check --strict dist/*

lint: $(STAMP)
	$(BIN)/ruff check bnn_init tests benchmarks examples scripts
	$(BIN)/ruff format --check bnn_init tests benchmarks examples scripts

clean:
	rm -rf $(VENV) build dist *.egg-info runs
