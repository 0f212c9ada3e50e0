# The newcomer's commands: `make run` and `make test`. Everything else is for maintainers.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev

.PHONY: help install run key test reliability lint format openapi lock clean bench bench-sizes

help:
	@echo "make run      serve the API with demo data on http://127.0.0.1:8000"
	@echo "make test     run the whole suite against a real PostgreSQL"
	@echo "make reliability  fault tests: schemathesis, restarts, killed workers, hostile input"
	@echo "make key NAME=me ROLE=editor   issue an API key (same database as make run)"
	@echo "make bench    service vs a bare Flask app and a FastAPI peer (bench/README.md)"
	@echo "make bench-sizes  read latency at three data sizes (bench/sizes.py)"
	@echo "make lint     ruff check and format check"
	@echo "make openapi  regenerate openapi.yaml from the code"
	@echo "make lock     re-pin requirements*.lock from pyproject.toml"

$(STAMP): requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m service.ops.devserver run

key: install
	@test -n "$(NAME)" -a -n "$(ROLE)" || { echo "usage: make key NAME=<name> ROLE=<role>"; exit 2; }
	$(PY) -m service.ops.devserver key --name "$(NAME)" --role "$(ROLE)"

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# Fault tests against a real gunicorn and an embedded PostgreSQL they stop and restart
# (reliability/README.md); a few minutes, bounded by a watchdog.
reliability: install
	$(PY) -m pytest reliability -q $(PYTEST_ARGS)

bench: install
	$(PY) -m bench.run $(BENCH_ARGS)

# Read latency at 10,000, 1,000,000 and 10,000,000 sightings (bench/sizes.py; the largest seed
# takes the better part of an hour the first time, and is kept).
bench-sizes: install
	$(PY) -m bench.sizes $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

openapi: install
	$(PY) -m service openapi

# Resolve pyproject.toml's pins in a scratch venv and freeze them, runtime and dev separately.
lock:
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet --upgrade pip
	$(VENV)-lock/bin/pip install --quiet $$($(PYTHON) -c 'import tomllib; print(" ".join(repr(d) for d in tomllib.load(open("pyproject.toml","rb"))["project"]["dependencies"]))')
	{ echo "# Runtime dependencies, pinned: regenerate with 'make lock' after changing pyproject.toml."; \
	  $(VENV)-lock/bin/pip freeze --exclude pip --exclude setuptools; } > requirements.lock
	$(VENV)-lock/bin/pip install --quiet $$($(PYTHON) -c 'import tomllib; print(" ".join(repr(d) for d in tomllib.load(open("pyproject.toml","rb"))["project"]["optional-dependencies"]["dev"]))')
	{ echo "# Runtime and development dependencies, pinned: regenerate with 'make lock'."; \
	  $(VENV)-lock/bin/pip freeze --exclude pip --exclude setuptools; } > requirements-dev.lock
	rm -rf $(VENV)-lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
