# The two commands: `make run` runs the bot, `make test` runs the whole suite. Both create the environment
# first when it is missing (uv, from uv.lock). Everything else here is a helper.
PYTHON ?= python3.11
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: run test lint typecheck eval bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/opsmedic serve

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check agent tools tests benchmarks
	$(VENV)/bin/mypy

eval: $(STAMP)
	$(VENV)/bin/opsmedic eval --scenarios evals/scenarios

clean:
	rm -rf $(VENV) .tools .opsmedic
