# One entry point for people and CI. `make demo` and `make test` set everything up on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo plan test bench clean

$(STAMP): pyproject.toml requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dicomstream needs Python 3.11 or newer (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,sandbox]'
	@touch $(STAMP)

setup: $(STAMP)

# The main job, offline, on the embedded default (the dev stack): plan it as `pulumi preview`
# would, then deploy it into the local sandbox and stream DICOM instances into BigQuery.
demo: plan
	$(BIN)/dicomstream demo

plan: $(STAMP)
	$(BIN)/dicomstream plan --stack dev

test: $(STAMP)
	$(BIN)/python -m pytest

# Benchmarks: ratios against baselines run in the same process; writes bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .sandbox
