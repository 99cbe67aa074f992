# Pipeline Secrets: every set-up step lives here, so a fresh machine needs only `make run`
# or `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench venv test-deps clean kube-up kube-down

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## The product on 127.0.0.1:$(PORT) with SQLite and a local OpenBao it starts itself.
run: $(STAMP)
	$(PY) tools/run.py

## Installs what the tests need and runs the whole suite against real services.
test: $(STAMP) test-deps
	$(PY) tools/with_postgres.py -- $(PY) -m pytest $(PYTEST_ARGS)

test-deps:
	bash tools/install-test-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	DJANGO_SECRET_KEY=lint $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

bench: $(STAMP) test-deps
	$(PY) tools/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
