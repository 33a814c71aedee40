# Set-up and the two everyday commands. Each target creates .venv and installs gankit
# (with the exact dependency versions of requirements.lock) on first use, so both work on a
# fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock

.PHONY: train test test-fast soak browser lock classifiers clean

# Train the embedded default (scikit-learn's digits, offline): a few minutes on 2 CPU cores.
train: $(VENV)/.installed
	$(BIN)/gankit train

# Run the test suite (offline; real data from ../shared/data or $$GANKIT_DATA_DIR).
test: $(VENV)/.installed browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

# The exhaustive variants the suite keeps one representative of (marked `soak`): every kill point,
# every study at a tiny scale, every machine failure. About half an hour more on 2 cores.
soak: $(VENV)/.installed browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --soak -m soak

# The tests that train nothing (no `slow` marker): a few minutes, for the edit-test loop.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not slow"

# The report's browser tests drive Debian's headless Chromium (/usr/bin/chromium) with Playwright.
# Installed here when missing, where apt-get is available and we are root; otherwise those tests skip.
browser:
	@if [ -x /usr/bin/chromium ]; then \
	  echo "browser tests: /usr/bin/chromium is installed"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "browser tests: installing Debian's chromium"; \
	  (apt-get update && apt-get install -y chromium) || \
	    echo "browser tests: chromium could not be installed; they will skip"; \
	else \
	  echo "browser tests: /usr/bin/chromium is missing and cannot be installed here (needs apt-get and root); they will skip"; \
	fi

# pyproject.toml gives compatible ranges; the lock, as constraints, makes every version exact.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(LOCK) -e '.[test]'
	touch $@

# Rewrite the lock from what .venv holds now: after a deliberate upgrade there, with the tests passing.
lock:
	{ echo "# The exact versions gankit[test] is tested with: make installs them as constraints"; \
	  echo "# (pip install -c $(LOCK) -e '.[test]'). Regenerate with: make lock"; \
	  $(BIN)/python -m pip freeze --disable-pip-version-check --exclude-editable; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)

# Retrain the domain classifier gankit ships (MNIST at 28x28, one thread: about 5 minutes) after a
# change to the network or its training; the tests fail until the shipped copy matches the recipe.
DATA ?= ../shared/data
classifiers: $(VENV)/.installed
	$(BIN)/python -c "from gankit.metrics.classifier import ship; print(ship('mnist', 28, '$(DATA)'))"

clean:
	rm -rf $(VENV) runs
