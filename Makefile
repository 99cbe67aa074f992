# Pipeline Secrets: every set-up step lives here, so a fresh machine needs only `make run`
# or `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint bench venv test-deps clean kube-build kube-up kube-down \
	dex-build sso-up sso-down helm-build scale-up scale-down bench-scale

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## The product on 127.0.0.1:$(PORT) with SQLite and a local OpenBao it starts itself;
## gunicorn's control socket is its own, DATA_DIR/gunicorn.ctl (GUNICORN_CONTROL_SOCKET;
## empty for none), never the per-user path every instance on the machine would share.
run: $(STAMP)
	$(PY) -m tools.devstack.run

# Selects SQLite whatever the environment says; the test database itself is a fresh file
# in pytest's temporary directory (tests/conftest.py), never this one.
SQLITE := DATABASE_URL=sqlite:///$(CURDIR)/var/tests.sqlite3
# No Kubernetes, no Chromium, nothing slow: what the edit-run loop needs.
FAST_TESTS := not kube and not browser and not slow
# The second run of make test, on SQLite: all but the slow tests (fuzzing, token periods).
SQLITE_TESTS := not slow

## Installs what the tests need and runs the whole suite against real services on
## PostgreSQL, then all but the slow tests again on SQLite.
test: $(STAMP) test-deps kube-build dex-build helm-build
	$(PY) -m tools.devstack.with_postgres -- $(PY) -m pytest $(PYTEST_ARGS)
	$(SQLITE) $(PY) -m pytest -m "$(SQLITE_TESTS)" $(PYTEST_ARGS)

## The quick subset on SQLite (real OpenBao; no Kubernetes, Chromium or slow tests).
test-fast: $(STAMP)
	$(SQLITE) $(PY) -m pytest -m "$(FAST_TESTS)" $(PYTEST_ARGS)

test-deps:
	bash tools/install-test-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	$(PY) -m tools.code_rules
	DJANGO_SECRET_KEY=lint $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

bench: $(STAMP) test-deps kube-build
	$(PY) -m tools.bench $(ROWS)

## Scale-out on this machine: a 3-node OpenBao raft cluster, PostgreSQL, $(REPLICAS) app
## replicas with the task worker beside them and HAProxy in front (http://127.0.0.1:$(SCALE_PORT)/); stopped by scale-down.
REPLICAS ?= 2
SCALE_PORT ?= 9190
SCALE_DIR ?= var/scale
scale-up: $(STAMP) test-deps
	$(PY) -m tools.devstack.scale_cli up --dir $(SCALE_DIR) --replicas $(REPLICAS) --port $(SCALE_PORT)

scale-down:
	test ! -x $(PY) || $(PY) -m tools.devstack.scale_cli down --dir $(SCALE_DIR)

## Throughput through the balancer with 1 and 2 replicas against raw OpenBao, and the
## failure drills (raft leader, replica, PostgreSQL); non-zero exit when an acknowledged
## write is lost.
bench-scale: $(STAMP) test-deps
	$(PY) -m tools.bench.scale

## Builds helm from its Go module once (cached in ~/.cache/pipeline-secrets/helm).
helm-build:
	bash tools/helm/build.sh

KUBE_DIR ?= var/kube

## Builds etcd, kube-apiserver and kubectl from Go modules once (cached in ~/.cache/pipeline-secrets/kube).
kube-build:
	bash tools/devstack/kube/build.sh

## A local Kubernetes API server for trying the product; prints the admin kubeconfig path.
kube-up: $(STAMP) kube-build
	$(PY) -m tools.devstack.kube up --dir $(KUBE_DIR) --detach

kube-down:
	test ! -x $(PY) || $(PY) -m tools.devstack.kube down --dir $(KUBE_DIR)

## Builds Dex (LDAP sign-in through OpenID Connect) from its Go module once (cached in
## ~/.cache/pipeline-secrets/dex).
dex-build:
	bash tools/devstack/dex/build.sh

SSO_DIR ?= var/sso

## A local slapd with a demo directory and Dex in front of it, in the background; prints
## the environment that turns on "Sign in with LDAP" in make run.
sso-up: $(STAMP) test-deps dex-build
	$(PY) -m tools.devstack.sso up --dir $(SSO_DIR)

sso-down:
	test ! -x $(PY) || $(PY) -m tools.devstack.sso down --dir $(SSO_DIR)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
