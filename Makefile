# Set-up and the two everyday commands. Each target creates .venv and installs gankit
# (with its pinned dependencies) on first use, so both work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: train test clean

# Train the embedded default (scikit-learn's digits, offline): a few minutes on 2 CPU cores.
train: $(VENV)/.installed
	$(BIN)/gankit train

# Run the test suite (offline; real data from ../shared/data or $$GANKIT_DATA_DIR).
test: $(VENV)/.installed
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) runs
