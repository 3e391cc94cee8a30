# One entry point for people and CI. `make demo` and `make test` set everything up on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo plan test bench clean sync-naming schema

# The install says what it is doing (pip lists each package) and how long it took.
$(STAMP): pyproject.toml requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dicomstream needs Python 3.11 or newer (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@echo "==> Creating $(VENV) and installing dicomstream with its dev extra (the CLI, the sandbox and the test tools) (about a minute on 2 cores)"
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[dev]' && \
	echo "==> Installed in $$(( $$(date +%s) - start )) s"
	@touch $(STAMP)

# The policy pack's own virtualenv (PulumiPolicy.yaml), from its requirements.txt only, as Pulumi
# builds it for a published pack: what a local `pulumi up --policy-pack policies` runs in.
PACK_STAMP := policies/venv/.installed-stamp
$(PACK_STAMP): policies/requirements.txt
	@echo "==> Creating policies/venv for the policy pack (policies/requirements.txt)"
	@start=$$(date +%s); \
	$(PYTHON) -m venv policies/venv && \
	policies/venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -r policies/requirements.txt && \
	echo "==> Policy pack environment ready in $$(( $$(date +%s) - start )) s"
	@touch $(PACK_STAMP)

setup: $(STAMP) $(PACK_STAMP)

# The pack is published alone, so it carries copies of dicomstream/core/naming.py and roles.py (a test checks them).
sync-naming: $(STAMP)
	$(BIN)/python -m dicomstream.pack_naming

# The component package's schema (package/schema.json), as the SDK infers it from the components.
schema: $(STAMP)
	$(BIN)/python -m dicomstream.package_schema

# The main job, offline, on the embedded default (the dev stack): plan it as `pulumi preview`
# would, then deploy it into the local sandbox and stream DICOM instances into BigQuery.
demo: plan
	$(BIN)/dicomstream demo

plan: $(STAMP)
	$(BIN)/dicomstream plan --stack dev

# Two workers for the machine's two cores, one test file each at a time (module fixtures built once);
# pytest prints progress per test and the slowest tests at the end.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=5

# Benchmarks: ratios against baselines run in the same process; writes bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .sandbox policies/venv
