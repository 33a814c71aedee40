# Set-up and the two everyday commands. Each target creates .venv and installs gankit
# (with its pinned dependencies) on first use, so both work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: train test browser clean

# Train the embedded default (scikit-learn's digits, offline): a few minutes on 2 CPU cores.
train: $(VENV)/.installed
	$(BIN)/gankit train

# Run the test suite (offline; real data from ../shared/data or $$GANKIT_DATA_DIR).
test: $(VENV)/.installed browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

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

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) runs
