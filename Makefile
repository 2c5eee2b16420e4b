# Two entry points: `make demo` (the whole pipeline on the embedded digits data) and `make test`.
# Both create .venv on first use with the newest supported Python found here; later runs skip the
# install unless setup.cfg, pyproject.toml or constraints.txt changed. `make PYTHON=/path/to/python` wins.
SUPPORTED := 3.14 3.13 3.12 3.11 3.10
# A python3.X that runs and can make a venv (a pyenv shim for a version not selected does neither).
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach v,$(SUPPORTED),$(shell python$(v) -c 'import venv, ensurepip' >/dev/null 2>&1 && echo python$(v))) python3)
endif
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PIP    := $(PY) -m pip install -q -c constraints.txt
CHECK_PYTHON := import sys; v = sys.version_info[:2]; sys.exit(None if (3, 10) <= v <= (3, 14) else \
  "gluon-resnet runs on Python 3.10 to 3.14 (MXNet 1.9.1 with the numpy, onnx and OpenVINO wheels those have), " \
  "not %d.%d: run make PYTHON=/path/to/python3.14 (or 3.13, 3.12, 3.11, 3.10)" % v)

.PHONY: demo test clean

# libmxnet.so loads libgomp and (through the libgfortran it bundles) libquadmath from the system; minimal
# Debian and Ubuntu images lack them. Installed where missing (Debian packages; needs root).
SYSTEM_LIBS := gomp:libgomp1 quadmath:libquadmath0
MISSING_LIBS = $(foreach l,$(SYSTEM_LIBS),$(if $(shell $(PYTHON) -c 'import ctypes.util, sys; \
  sys.exit(ctypes.util.find_library("$(word 1,$(subst :, ,$(l)))") is None)' && echo found),,$(word 2,$(subst :, ,$(l)))))

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@$(PYTHON) -c '$(CHECK_PYTHON)'
	@test -z "$(strip $(MISSING_LIBS))" || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	  --no-install-recommends $(MISSING_LIBS)) || echo "could not install $(MISSING_LIBS), which MXNet needs"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c '$(CHECK_PYTHON)'
	$(PY) -m pip install -q --upgrade pip
	@# The mxnet wheel declares numpy<2.0, which has no wheel for Python 3.13 and later (pip would try to build
	@# numpy 1.26 from source and fail): there it is installed alone, and setup.cfg lists what it really needs.
	if $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 13))'; then $(PIP) --no-deps mxnet==1.9.1; fi
	$(PIP) -e '.[test]'
	@$(PY) -c 'import sys; sys.version_info >= (3, 13) and print("(pip says mxnet requires numpy<2.0: expected, see setup.cfg)")'
	@# gluoncv pulls in opencv-python, the GUI build, whose cv2 replaces the headless one and fails to load
	@# on a server without X libraries (mxnet.recordio then silently runs without OpenCV).
	$(PY) -m pip uninstall -q -y opencv-python
	$(PIP) --force-reinstall --no-deps opencv-python-headless
	@touch $@

demo: $(STAMP)
	$(PY) tools/demo.py

# The launcher tests run the real thing on this machine: an sshd on a loopback port, Open MPI, a
# one-node Slurm cluster (with munge), and test hosts of their own (network namespaces: iproute2).
# Install what is missing (Debian packages; needs root). The suite runs in one pytest-xdist worker per core
# (tests/conftest.py keeps the tests of the one Slurm cluster and the test hosts together in one of them).
CLUSTER_TOOLS := sshd:openssh-server mpirun:openmpi-bin slurmd:slurm-wlm munged:munge ssh:openssh-client ip:iproute2
MISSING := $(foreach t,$(CLUSTER_TOOLS),$(if $(shell command -v $(word 1,$(subst :, ,$(t))) || ls /usr/sbin/$(word 1,$(subst :, ,$(t))) 2>/dev/null),,$(word 2,$(subst :, ,$(t)))))

test: $(STAMP)
	@test -z "$(strip $(MISSING))" || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	  --no-install-recommends $(MISSING)) || echo "could not install $(MISSING): the launcher tests will fail"
	$(PY) -m pytest -q -n auto --durations=25 tests

clean:
	rm -rf $(VENV) data/digits runs/digits-*
