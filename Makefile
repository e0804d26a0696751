# The two front doors: `make demo` (the demo on embedded defaults) and `make test`.
# `make matrix` runs the other (Python, Django) pairs of noxfile.py (see docs/development.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# The migration test (tests/migration) publishes with the real stream-django 1.8, whose wheel
# pins Django<5: installed without its pins (its other requirements, stream-python and pytz,
# come with ours). Never a dependency of the package, so it stays out of pyproject.toml;
# noxfile.py reads this line for the matrix's sessions.
STREAM_DJANGO := stream-django==1.8.0
STAMP := $(VENV)/.installed-$(shell echo '$(STREAM_DJANGO)' | cat pyproject.toml - | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# pytest-xdist workers of `make test` (each on its own test database, test_<name>_gw0...): the
# tests mostly wait on PostgreSQL, subprocesses and the emulator, so more workers than cores
# pay. TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 3
BENCH_ARGS ?=
NOX_ARGS ?=
# pyenv's shims answer `python3.12` with an error unless that version is selected, so nox
# is given the interpreters themselves, where they exist.
PYENV_BINS := $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/*/bin)
empty :=
space := $(empty) $(empty)

.PHONY: demo test matrix lint docs bench soak install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps '$(STREAM_DJANGO)'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m sample_app.demo

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

matrix: $(STAMP)
	PATH="$(subst $(space),:,$(PYENV_BINS))$(if $(PYENV_BINS),:)$$PATH" $(BIN)/nox $(NOX_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

# The documentation site (docs/, Sphinx): warnings are errors, and -n makes every reference to
# feed-outbox's own objects resolve. Its packages come with the dev extra (the docs extra).
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -n -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m tests.benchmarks $(BENCH_ARGS)

soak: $(STAMP)
	$(BIN)/python -m tests.chaos.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .nox .demo .pytest_cache .mypy_cache bench-results docs/_build
