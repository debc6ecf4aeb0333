# The two set-up commands of the README: `make demo` and `make test`.
# Each builds its own virtual environment from pyproject.toml; nothing has to
# be installed by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DATASET ?= build/demo-dataset
# The demo keeps its token-fingerprint key beside its dataset, not in ~/.config.
DEMO_KEY ?= build/demo-fingerprint.key

.PHONY: demo test lint clean bytecode

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# An editable install leaves tokenaudit's bytecode to the first run, and where
# PYTHONDONTWRITEBYTECODE is set (CI, containers) every run compiles ~40 modules
# again: 0.1 s per command. compileall only rewrites what changed.
bytecode: $(BIN)/.installed
	$(BIN)/python -m compileall -q tokenaudit

demo: bytecode  ## ingest sample_logs/ and print the analysis
	rm -rf $(DEMO_DATASET)
	TOKENAUDIT_KEY_FILE=$(DEMO_KEY) $(BIN)/tokenaudit ingest sample_logs --dataset $(DEMO_DATASET) --timezone Europe/Berlin
	TOKENAUDIT_KEY_FILE=$(DEMO_KEY) $(BIN)/tokenaudit analyze --dataset $(DEMO_DATASET)

test: $(BIN)/.installed  ## run the whole test suite, one test file per core (pytest-xdist)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# Both must pass: ruff (the rules and line length in pyproject.toml), then mypy in strict
# mode on tokenaudit/, which reports no errors today (pandas and pyarrow are read untyped,
# see [tool.mypy] in pyproject.toml).
lint: $(BIN)/.installed  ## ruff and mypy --strict
	$(BIN)/python -m ruff check tokenaudit tests benchmarks evaluation
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
