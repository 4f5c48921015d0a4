# Two commands matter: `make run` and `make test`. Everything else is a step they share.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: run test check lint types bench bench-quick lock clean install playground practice

$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Start the bot with the settings in .env (see .env.example).
run: $(STAMP)
	$(BIN)/deploy-drill run

## The real bot on the built-in Slack stand-in, at http://127.0.0.1:3000/ (no Slack needed).
playground: $(STAMP)
	$(BIN)/deploy-drill playground

## Drill yourself in the terminal; progress is kept in DATABASE_URL.
practice: $(STAMP)
	$(BIN)/deploy-drill practice

## The whole suite (SQLite; PostgreSQL too when TEST_POSTGRES_URL is set), plus lint.
test: $(STAMP)
	$(BIN)/ruff check bot tests bench migrations
	$(BIN)/mypy bot
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4

check: test

types: $(STAMP)
	$(BIN)/mypy bot

## Every benchmark, figures as tables (results in BENCHMARKS.md); bench-quick takes 2-4 minutes.
bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

## Re-resolve the pinned dependencies (needs `uv`: pip install uv).
lock:
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
