# MakrX: `make run` starts the embedded demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve install install-dev migrate demo test test-fast lint format messages schema worker beat bench bench-checkout clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

## Embedded default: SQLite, eager Celery, console email; demo data; http://127.0.0.1:8000
run: demo
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT)

## Run the whole suite (PostgreSQL + Redis when reachable; CI=true requires them), then
## the clock-sensitive tests again at three awkward pinned moments
test: install-dev
	PY=$(PY) bash scripts/test.sh
	PY=$(PY) bash scripts/test_clock.sh

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages: install-dev
	$(PY) manage.py makemessages -l uk --no-location --ignore=.venv --ignore=staticfiles --ignore=tests
	$(PY) manage.py compilemessages -l uk --ignore=.venv

schema: install
	$(PY) manage.py spectacular --validate --fail-on-warn --file schema.yml

## Load against a local gunicorn beside its floors (bench/README.md); not part of `make test`
bench: install-dev
	$(PY) bench/run.py
	$(PY) bench/checkout.py

## Checkout alone under load, with the payment provider answering after 200 ms
bench-checkout: install-dev
	$(PY) bench/checkout.py

worker: install
	$(VENV)/bin/celery -A makrx worker --loglevel=INFO --concurrency=2

beat: install
	$(VENV)/bin/celery -A makrx beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache
