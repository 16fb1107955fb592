# Zhongcao developer commands. `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The services mode used by `make test-services` (and `make worker` / `make beat` when unset).
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/zhongcao
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/0
SERVICES_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# `make bench`: world size (XS, S, M, L), seconds per wrk run; BENCH_ARGS passes more (python -m bench --help).
SCALE ?= M
DURATION ?= 10
BENCH_ARGS ?=

.PHONY: run install install-dev migrate seed test test-services lint format worker beat bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo ""
	@echo "  Zhongcao is starting on http://$(HOST):$(PORT)/"
	@echo "  API docs (Swagger UI): http://$(HOST):$(PORT)/api/docs/"
	@echo "  OpenAPI schema:        http://$(HOST):$(PORT)/api/schema/"
	@echo "  Admin:                 http://$(HOST):$(PORT)/admin/"
	@echo "  Demo logins:           see README.md (password for all: zhongcao-demo)"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite against PostgreSQL and Redis (start them first; .ci/run does).
test-services: install-dev
	DATABASE_URL=$(SERVICES_DATABASE_URL) REDIS_URL=$(SERVICES_TEST_REDIS_URL) \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install
	DATABASE_URL=$${DATABASE_URL:-$(SERVICES_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(SERVICES_REDIS_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(SERVICES_REDIS_URL)} \
		$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2

beat: install
	DATABASE_URL=$${DATABASE_URL:-$(SERVICES_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(SERVICES_REDIS_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(SERVICES_REDIS_URL)} \
		$(BIN)/celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule

# The benchmark of BENCH.md against PostgreSQL + Redis (started if down): seeds or reuses the world in
# its own database, serves the app with granian and a Celery worker, prints the table (README, Performance).
bench: install
	$(BIN)/python -m bench --scale $(SCALE) --duration $(DURATION) $(BENCH_ARGS)

clean:
	rm -rf var/db.sqlite3* var/media
