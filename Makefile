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

# Install, migrate, load the demo, then web + Celery worker + Celery beat on embedded defaults.
run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py collectstatic --no-input -v 0
	PORT=$(PORT) $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var build *.egg-info
