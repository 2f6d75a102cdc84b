# `make demo` and `make test` work from a clean clone: each creates what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The newest azure-functions 2.x needs Python 3.13; found through pyenv when not on PATH.
# (pyenv's shim answers `command -v` even when 3.13 is not selected, so each candidate is run.)
PY313 ?= $(shell for p in $$HOME/.pyenv/versions/3.13*/bin/python3.13 $$(command -v python3.13); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV313 := .venv313
PY312 ?= $(shell for p in $$HOME/.pyenv/versions/3.12*/bin/python3.12 $$(command -v python3.12); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV312 := .venv312
PYTEST_ARGS ?=
# Two workers: the suite is mostly I/O-bound (subprocess hosts, template renders).
XDIST ?= -n 2

.PHONY: venv demo test lint typecheck pytest test-sessions test-py313 test-py312 bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,reference]'
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/demo.py

lint: $(STAMP)
	$(BIN)/ruff check sdk tests template/hooks bench tools
	$(BIN)/ruff format --check sdk tests template/hooks bench tools
	$(BIN)/python tools/vendor_sdk.py --check

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# The SDK tests again on Python 3.13 with the newest azure-functions 2.x, and the host's
# shutdown (Python 3.12+ waits for open connections when a server closes) and HTTP edge. Then
# Microsoft's Python worker runtime (which needs 3.13): the generated app's end-to-end test with
# both engines, and our loader measured against the runtime (tests/host/test_worker_engines.py).
test-py313:
	@test -n "$(PY313)" || { echo "Python 3.13 not found (install it with pyenv)"; exit 1; }
	test -x $(VENV313)/bin/python || $(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install -q --upgrade pip
	$(VENV313)/bin/python -m pip install -q -e '.[worker,reference,openai]' 'azure-functions>=2' pytest \
		pytest-asyncio pytest-timeout pytest-xdist hypothesis pydantic 'cookiecutter>=2.6' azure-identity
	$(VENV313)/bin/python -c "import azure.functions as f; print('azure-functions', f.__version__)"
	$(VENV313)/bin/pytest tests/sdk tests/host/test_server_shutdown.py tests/host/test_server_connections.py \
		tests/host/test_server_store_lock.py -m "not reference" $(PYTEST_ARGS)
	$(VENV313)/bin/pytest $(XDIST) tests/host/test_worker_engines.py tests/host/test_sample_engines.py \
		tests/host/test_functions_indexing.py \
		tests/template/test_template_e2e.py tests/template/test_template_engines.py $(PYTEST_ARGS)

# The host's stop with an idle keep-alive client on Python 3.12 too (the template's default
# Python), where a closing server waits for every open connection.
test-py312:
	@test -n "$(PY312)" || { echo "Python 3.12 not found (install it with pyenv)"; exit 1; }
	test -x $(VENV312)/bin/python || $(PY312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install -q --upgrade pip
	$(VENV312)/bin/python -m pip install -q -e . pytest pytest-asyncio pytest-timeout
	$(VENV312)/bin/pytest tests/host/test_server_shutdown.py tests/host/test_server_connections.py $(PYTEST_ARGS)

# The host and harness suites again in the differential session mode: every episode that runs
# in a session is also computed by a full replay of the whole history, and must be identical.
test-sessions: $(STAMP)
	DURABLE_SESSION_CHECK=1 $(BIN)/pytest $(XDIST) tests/host tests/testing tests/client tests/differential/test_sessions.py -m "not slow" $(PYTEST_ARGS)

test: lint typecheck pytest test-sessions test-py313 test-py312

bench: $(STAMP)
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/imports.py

clean:
	rm -rf $(VENV) $(VENV313) .pytest_cache .mypy_cache .ruff_cache
