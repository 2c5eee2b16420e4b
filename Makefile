# Two entry points: `make demo` (the whole pipeline on the embedded digits data) and `make test`.
# Both create .venv with Python 3.11 on first use; later runs skip the install unless setup.cfg changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert (3, 8) <= sys.version_info[:2] <= (3, 11), \
	  "gluon-resnet needs Python 3.8-3.11 (MXNet 1.9.1); run: make PYTHON=/path/to/python3.11"'
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(PY) tools/demo.py

# The launcher tests run the real thing on this machine: an sshd on a loopback port, Open MPI, and a
# one-node Slurm cluster (with munge). Install what is missing (Debian packages; needs root).
CLUSTER_TOOLS := sshd:openssh-server mpirun:openmpi-bin slurmd:slurm-wlm munged:munge ssh:openssh-client
MISSING := $(foreach t,$(CLUSTER_TOOLS),$(if $(shell command -v $(word 1,$(subst :, ,$(t))) || ls /usr/sbin/$(word 1,$(subst :, ,$(t))) 2>/dev/null),,$(word 2,$(subst :, ,$(t)))))

test: $(STAMP)
	@test -z "$(strip $(MISSING))" || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	  --no-install-recommends $(MISSING)) || echo "could not install $(MISSING): the launcher tests will fail"
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) data/digits runs/digits-*
