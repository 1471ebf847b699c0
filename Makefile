# The two set-up commands of the README, plus their parts.
#   make demo   install into .venv, then run the site with a seeded demo on http://127.0.0.1:8000
#   make test   install into .venv (and Debian's chromium when missing), then run the whole suite

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-requirements
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install demo test chromium

install: $(INSTALLED)

$(INSTALLED): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	@touch $@

# Embedded default: SQLite and a filesystem broker under var/, one local worker beside the server.
# DEBUG=1 because it serves on localhost only; a SECRET_KEY is then not needed.
demo: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py rundemo --host $(DEMO_HOST) --port $(DEMO_PORT)

chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the end-to-end tests"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; \
	fi

test: install chromium
	$(BIN)/python -m pytest
