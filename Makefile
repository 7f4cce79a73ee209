# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test lint typecheck tools docs bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# What the diagram checks need: Mermaid (npm, run by the venv's Node) and Graphviz;
# the evidence report's browser tests: Chromium (Debian's, driven through Playwright).
tools/mermaid-check/node_modules/.installed: tools/mermaid-check/package-lock.json $(BIN)/.installed
	$(BIN)/npm ci --prefix tools/mermaid-check --no-audit --no-fund --loglevel=error
	touch $@

tools: tools/mermaid-check/node_modules/.installed
	@command -v dot >/dev/null || scripts/install-graphviz
	@command -v chromium >/dev/null || scripts/install-chromium
	@scripts/install-postgresql  # a no-op where initdb is found (it looks where the tests do)

demo: $(BIN)/.installed
	$(BIN)/registration-fsm demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy --strict registration_fsm tests examples benchmarks docs/griffe_roles.py

# The documentation site (mkdocs.yml) into site/; --strict turns every warning
# (a broken link, a docstring griffe cannot read) into a failure. Not --quiet:
# it hides the warnings from --strict too, and the build then passes.
docs: $(BIN)/.installed
	$(BIN)/mkdocs build --strict --site-dir site

test: lint typecheck tools docs
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_core.py --write-docs

clean:
	rm -rf $(VENV) build site *.egg-info .mypy_cache .pytest_cache .ruff_cache tools/mermaid-check/node_modules
