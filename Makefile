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

# The ssh launcher's test starts a real sshd on a loopback port: install it where it is missing.
SSHD := $(shell command -v sshd || ls /usr/sbin/sshd 2>/dev/null)

test: $(STAMP)
	@test -n "$(SSHD)" || (apt-get update -q && apt-get install -y -q --no-install-recommends openssh-server openssh-client) \
	  || echo "could not install openssh-server: the ssh launcher's test will fail (apt-get install openssh-server)"
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) data/digits runs/digits-*
