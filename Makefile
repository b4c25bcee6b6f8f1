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

MACE_VENV  := .venv-mace
MACE_STAMP := $(MACE_VENV)/.installed

.PHONY: run test venv venv-mace system-deps lint clean slurm-up slurm-down

venv: $(STAMP)

# pyproject.toml holds the ranges; constraints.txt pins the set this project is tested with.
# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	# GPAW compiles against libxc and OpenBLAS (scripts/install_system_deps.sh) as C++;
	# without them everything else still installs and the GPAW tests skip with the reason.
	CC=g++ $(PIP) install --quiet -c constraints.txt "gpaw==26.7.0" "gpaw-data==1.2.1" \
		|| echo "GPAW not installed: the GPAW tests will skip"
	touch $(STAMP)

# MACE model files need e3nn==0.4.4 (mace-torch's pin) while sevenn needs e3nn>=0.5, so MACE
# gets its own environment; both environments can share one on-disk store.
venv-mace: $(MACE_STAMP)

$(MACE_STAMP): pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(MACE_VENV)
	$(MACE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MACE_VENV)/bin/python -m pip install --quiet torch==2.13.0
	grep -vE '^(e3nn|sevenn)==' constraints.txt > $(MACE_VENV)/constraints.txt
	$(MACE_VENV)/bin/python -m pip install --quiet -c $(MACE_VENV)/constraints.txt -e ".[mace,dev]"
	touch $(MACE_STAMP)

# Debian packages for GPAW (libxc, OpenBLAS) and the one-node SLURM cluster; skipped with a
# notice where there is no root or no apt-get (the tests that need them then skip with the reason).
system-deps:
	@sh scripts/install_system_deps.sh

run: $(STAMP)
	$(VENV)/bin/anodefree run

test: system-deps $(STAMP) $(MACE_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest
	$(MACE_VENV)/bin/pytest -p no:cacheprovider tests/test_engines_ml.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

slurm-up:
	sh scripts/slurm/start.sh

slurm-down:
	sh scripts/slurm/stop.sh

clean:
	rm -rf $(VENV) build *.egg-info
