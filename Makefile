# geospace: two commands. `make demo` sets up .venv and runs the demo city; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out
UV_VERSION := 0.13.9
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup browser demo demo-small test lint bench lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q core eo indices alerts flows
	touch $@

demo: setup
	$(BIN)/geospace demo --out $(OUT)

demo-small: setup
	$(BIN)/geospace demo --small --out $(OUT)

lint: setup
	$(BIN)/ruff check core eo indices alerts flows tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser tests (dashboard and HTML maps) drive Debian's Chromium; install it when it is missing.
browser:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser tests"; \
	  apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }

test: setup lint browser
	$(BIN)/python -m pytest -p no:cacheprovider

bench: setup
	$(BIN)/geospace bench --out $(OUT)

# Re-resolve the pinned versions after changing dependencies in pyproject.toml.
lock: $(VENV)/.installed
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
