# The two commands: `make run` runs the bot, `make test` runs the whole suite. Both create the environment
# first when it is missing (uv, from uv.lock). Everything else here is a helper.
PYTHON ?= python3.11
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
STAMP := $(VENV)/.synced

# Where this checkout sits beside ../shared (this team's machines have no internet), the embedding model comes
# from the offline copy there; elsewhere Chroma downloads it on first use. An explicit setting wins.
ifneq ($(wildcard ../shared/models/all-MiniLM-L6-v2/onnx),)
export OPSMEDIC_EMBEDDING_MODEL_DIR ?= $(abspath ../shared/models/all-MiniLM-L6-v2)
endif

.PHONY: run test lint eval clean

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
	$(VENV)/bin/ruff check agent tools tests benchmarks evals
	$(VENV)/bin/mypy

eval: $(STAMP)
	$(VENV)/bin/opsmedic eval --scenarios evals/scenarios

clean:
	rm -rf $(VENV) .tools .opsmedic
