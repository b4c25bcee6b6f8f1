# Two entry points for a fresh machine (see README.md):
#   make run    set everything up, then run the main campaign on the embedded defaults
#   make test   set everything up, then run the test suite
# Both create .venv and install what they need; nothing else has to be installed first.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
EXTRAS := sevenn,queue,dev

.PHONY: run test venv system-deps lint clean

venv: $(STAMP)

# pyproject.toml holds the ranges; constraints.txt pins the set this project is tested with.
# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

# Debian packages for GPAW (libxc, OpenBLAS) and the one-node SLURM cluster; skipped with a
# notice where there is no root or no apt-get (the tests that need them then skip with the reason).
system-deps:
	@sh scripts/install_system_deps.sh

run: $(STAMP)
	$(VENV)/bin/anodefree run

test: system-deps $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info
