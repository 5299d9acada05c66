# CPOR — every target works inside a virtual environment at .venv, created on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := cpor.settings

.PHONY: run test lint migrations-check install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet '.[test]'
	@rm -rf build *.egg-info
	touch $@

install: $(BIN)/.installed

# Every step of `run` sees one PORT and one SITE_URL (links in mail and in seed_demo's printout):
# SITE_URL if set, else the port served. Set here because honcho hands each Procfile entry a PORT
# of its own (worker PORT+100, beat PORT+200), which the worker must not build links from.
# DEBUG is off unless set: `run` is development (plain HTTP, no SECRET_KEY needed), so it turns it on.
RUN_ENV = DEBUG=true PORT=$(PORT) SITE_URL=$(or $(SITE_URL),http://127.0.0.1:$(PORT))

# Install, migrate, load the demo, then web + Celery worker + Celery beat on embedded defaults.
run: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --no-input -v 0
	$(RUN_ENV) $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# lint-imports holds the direction of imports between the apps (the contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

migrations-check: install
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var build *.egg-info
