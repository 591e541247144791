# Two commands on a fresh machine:  `make demo`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The product's pins, and the product's plus the test tools' (a superset).
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)
TEST_STAMP := $(VENV)/.installed-test-$(shell sha1sum requirements-test.lock | cut -c1-12)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install install-test demo test lint lock messages services bench-protocol

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.lock
	rm -f $(VENV)/.installed-[0-9a-f]*
	touch $(STAMP)

$(TEST_STAMP): requirements-test.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-test.lock
	rm -f $(VENV)/.installed-*
	touch $(TEST_STAMP) $(STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

# The demo: SQLite, eager tasks, in-memory channel layer, the WeChat sandbox on loopback.
# DEBUG defaults to off (production); the demo turns it on, with its development keys.
demo: export DEBUG ?= 1
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py run_demo --host 127.0.0.1 --port 8000

# The tests: PostgreSQL and Redis over real connections, Chromium for the browser tests.
# Two phases (scripts/test.sh): the bulk on 2 pytest-xdist workers, then the tests marked
# `serial` alone; PYTEST_ARGS goes to both, and both must pass.
test: install-test
	bash scripts/ensure_services.sh
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	PY=$(PY) bash scripts/test.sh $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

# --no-emit-find-links: the lock must not name a folder of the machine it was made on.
lock:
	$(VENV)/bin/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile -q --extra test --strip-extras --no-emit-index-url \
		--no-emit-find-links -c requirements.lock -o requirements-test.lock pyproject.toml

messages: install-test
	bash scripts/messages.sh

bench-protocol: install
	$(PY) bench/protocol.py
