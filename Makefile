# The two set-up commands of the README:  `make demo`  and  `make test`.
# Each creates the virtual environment .venv on first use (torch 2.14.1 + torchvision 0.29.1,
# taken from this machine kind's local wheel store by pip; ~2 min, 6.6 GB in `.venv`).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test test-fast setup clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/binge demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest tests $(ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m 'not slow' $(ARGS)

clean-venv:
	rm -rf $(VENV)
