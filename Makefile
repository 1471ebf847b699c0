# The two set-up commands of the README, plus their parts.
#   make demo   install into .venv, then run the site with a seeded demo on http://127.0.0.1:8000
#   make test   install into .venv (and Debian's chromium when missing), lint, then run the whole suite
#   make researcher NAME=alice   a researcher's login for /studies/ (asks for the password)

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-requirements
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install demo test chromium lint researcher

# Files in ruff's format (pyproject.toml); the rest of the tree keeps its older hand layout until rewritten.
FORMATTED := \
	webapp/core/errors.py webapp/core/exception_handler.py webapp/core/imaging.py \
	webapp/participants/pages.py webapp/participants/throttles.py \
	studies/design.py studies/rendering.py studies/voting.py \
	webapp/retraining/dataset.py webapp/retraining/evaluation.py webapp/retraining/runner.py \
	webapp/core/migrations/0005_job_kinds.py \
	tests/webapp/test_model_registry.py tests/webapp/test_photos.py tests/webapp/test_enhancements.py \
	studies/management/commands/create_researcher.py studies/migrations/0002_attention_check_text.py \
	webapp/demo/migrations/0003_showcase_rank.py webapp/demo/migrations/0004_upload_previews.py \
	tests/studies/test_checks.py tests/studies/test_vote_layout_e2e.py

install: $(INSTALLED)

$(INSTALLED): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	@touch $@

# Embedded default: SQLite and a filesystem broker under var/, one local worker beside the server.
# manage.py itself defaults to DEBUG=1 (local work) when no SECRET_KEY is set, as for every README command.
demo: install
	$(BIN)/python manage.py rundemo --host $(DEMO_HOST) --port $(DEMO_PORT)

researcher: install
	@test -n "$(NAME)" || { echo "Usage: make researcher NAME=username"; exit 2; }
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py create_researcher "$(NAME)"

chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the end-to-end tests"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; \
	fi

# ruff lint over the whole tree (one config in pyproject.toml), and the format of the files already in it.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(FORMATTED)

test: install chromium lint
	$(BIN)/python -m pytest
