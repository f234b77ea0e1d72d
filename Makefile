# Two commands for a newcomer: `make demo` and `make test`. Both build .venv themselves from
# the lock file (uv for speed), register a Jupyter kernel inside the venv for papermill, and are
# no-ops on the environment when nothing changed (a stamp file tracks the lock and pyproject).
# Installed packages are compiled to bytecode once: where PYTHONDONTWRITEBYTECODE is set, every
# process (CLI, report kernel, test) would otherwise compile pandas & co. again (1.3 s -> 0.4 s).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.installed
KERNEL := partnerschap-eval
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: demo test test-slow test-all bench lint lock clean browser portal catalogues bytecode

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -r requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (partnerschap-eval)" >/dev/null
	@touch $(STAMP)

# Our own package is installed editable (the checkout is its source), so the install does not
# compile it; where PYTHONDONTWRITEBYTECODE is set, every command would compile the modules it
# imports again (0.1-0.15 s of each start). `bytecode` compiles what changed (a no-op otherwise).
bytecode: $(STAMP)
	@$(PY) -m compileall -q src/partnerschap_eval >/dev/null

demo: $(STAMP) bytecode
	$(VENV)/bin/partnerschap-eval demo --out reports/demo

# `make test` is the quick suite (under 5 minutes warm on two cores): everything but the tests
# marked slow (whole reports, kill -9 and concurrency races, CLI round trips of several seconds).
# `make test-slow` runs just those; CI (.ci/run) runs both, so nothing goes untested.
test: $(STAMP) bytecode browser
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/python -m pytest -q -m "not slow"

test-slow: $(STAMP) bytecode browser
	$(VENV)/bin/python -m pytest -q -m slow

test-all: $(STAMP) bytecode browser
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/python -m pytest -q

# The demo study in the schools' portal on localhost (Ctrl+C stops it); prints a school link
# and the researcher link. Synthetic data and the public demo key only.
portal: $(STAMP) bytecode
	$(VENV)/bin/partnerschap-eval portal demo reports/portal-demo --raw data/raw/demo

bench: $(STAMP) bytecode
	$(VENV)/bin/python -m benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

# Compile the message catalogues after editing a .po file: each .po gets a .json beside it
# that the commands read at start (Babel parses the .po only when the .json is stale); a test
# fails while one is missing or stale.
catalogues: $(STAMP)
	$(PY) -c "from partnerschap_eval import i18n; print(*i18n.compile_catalogues(), sep='\n')"

# Regenerate the lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(UV) pip compile pyproject.toml --extra test --extra portal --extra pdf --python-version 3.11 \
	    --python-platform x86_64-unknown-linux-gnu -o requirements.lock

# The report browser test drives Debian's chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser test"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: the browser test will be skipped"; fi; }

clean:
	rm -rf $(VENV) reports/demo .pytest_cache
