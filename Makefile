# CSO Impact — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DB     ?= data/cso.duckdb
PORT   ?= 8501
# Listen on this machine only; `HOST=0.0.0.0 make run` serves the network (then set
# CSO_TIER=public or command unless every visitor may see everything: docs/privacy.md).
HOST   ?= 127.0.0.1

.PHONY: run test test-slow test-all lint demo bench shots clean

# Each step says what it is doing: the first install takes a few minutes and used to be
# silent. pip shows one line per package (no --quiet) and its own progress bars.
$(STAMP): requirements.txt
	@echo "==> [1/3] Installing the Python packages into $(VENV) (first run: a few minutes)…"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar on --upgrade pip
	$(PY) -m pip install --progress-bar on -r requirements.txt
	touch $(STAMP)
	@echo "==> Packages installed."

$(DB): | $(STAMP)
	@echo "==> [2/3] No database at $(DB): building the synthetic demo city (about a minute)…"
	$(PY) -m analytics demo --db $(DB)

## run: install, build the demo city if there is no database, start the app (ui/serve.py:
## `streamlit run dashboard.py` with the default view computed before the first visitor)
run: $(STAMP) $(DB)
	@echo "==> [3/3] Starting the app on $(DB). Open http://localhost:$(PORT) in your browser"
	@echo "    (Ctrl+C stops it)."
	CSO_DB=$(DB) $(PY) -m ui.serve --server.address $(HOST) \
		--server.port $(PORT) --browser.gatherUsageStats false

## test: ruff + the test suite (slow tests excluded; `make test-slow` runs those)
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

test-all: test test-slow

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check . || true

demo: $(STAMP)
	$(PY) -m analytics demo --db $(DB)

## bench: import speed vs its baselines, then every page in chromium on $(DB) (and AppTest)
bench: $(STAMP) $(DB)
	$(PY) -m analytics bench all
	$(PY) -m analytics bench pages --db $(DB)
	$(PY) -m ui.bench_pages --db $(DB)

shots: $(STAMP) $(DB)
	CSO_DB=$(DB) $(PY) ../shared/tools/shoot_pages.py --out tests/artifacts/pages

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/artifacts
