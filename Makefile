# The two set-up commands are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SERVICES_ENV := source .services/env
RUN_ENV := set -a && source var/local.env && set +a

.PHONY: run test fuzz venv kernels services services-stop lint lint-deploy format migrate demo serve clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Fill Numba's on-disk cache once (about a minute on 2 cores), so that no command, test
# or worker compiles a kernel; a no-op while the kernel sources are unchanged.
kernels: venv
	$(PY) -m optimizers.compile_ahead

services:
	@bash scripts/services.sh start

services-stop:
	@bash scripts/services.sh stop

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# deploy/: promtool check rules / check config, nginx -t (installs both when missing)
lint-deploy:
	bash scripts/lint-deploy.sh

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# fuzz before pytest, so that pytest's summary is the run's last line.
test: services venv lint lint-deploy kernels fuzz
	$(SERVICES_ENV) && $(VENV)/bin/pytest -n 2 --dist loadgroup -q

# schemathesis against the live API (gunicorn on a throw-away database), fixed seed, bounded.
FUZZ_EXAMPLES ?= 100
fuzz: services venv
	$(SERVICES_ENV) && $(PY) scripts/fuzz.py --max-examples $(FUZZ_EXAMPLES)

migrate: services venv
	bash scripts/local-env.sh
	$(RUN_ENV) && $(PY) manage.py migrate --noinput

demo: migrate kernels
	$(RUN_ENV) && bash scripts/demo.sh

run: demo
	$(RUN_ENV) && bash scripts/serve.sh $(HOST) $(PORT)

clean: services-stop
	rm -rf var .pytest_cache .ruff_cache
