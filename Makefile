# lc-runtime: `make demo` and `make test` work on a fresh machine with Python 3.12.
SHELL := /bin/bash
PYTHON_BIN := $(shell command -v python3.12 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NPM_STAMP := $(VENV)/workbench-js/.installed-stamp
DEMO_COURSE := course-v1:LcX+Demo+2026
CHOICES_COURSE := course-v1:LcX+Choices+2026
# Two workers fit these 2-core machines; each takes its own database. A test file stays on one worker,
# so a file's module-level state (the Celery worker in test_tasks.py) is never shared between two.
TEST_WORKERS ?= 2
PYTEST_ARGS ?= -n $(TEST_WORKERS) --dist loadfile --durations=15

.PHONY: install demo test test-mysql lint docs bench soak clean

$(PY):
	@$(PYTHON_BIN) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 12) else "lc-runtime needs Python 3.12 or newer, but $(PYTHON_BIN) is %d.%d" % v[:2])'
	$(PYTHON_BIN) -m venv $(VENV)

$(STAMP): $(PY) setup.cfg pyproject.toml tests/plugins/setup.cfg \
          examples/flashcard-xblock/pyproject.toml examples/adaptive-selector/pyproject.toml \
          examples/progression-processor/pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,blocks,docs]" -e tests/plugins -e examples/flashcard-xblock \
	  -e examples/adaptive-selector -e examples/progression-processor
	@touch $(STAMP)

# The workbench's page scripts from npm (underscore, jQuery UI, MathJax, ...), into the virtualenv. Without npm
# this says so and leaves no stamp, so that the next make installs them once npm is there.
$(NPM_STAMP): lc_runtime/workbench/package.json lc_runtime/workbench/package-lock.json | $(PY)
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(VENV)/workbench-js && cp lc_runtime/workbench/package.json lc_runtime/workbench/package-lock.json $(VENV)/workbench-js/ \
	  && npm ci --prefix $(VENV)/workbench-js --no-audit --no-fund --silent && touch $(NPM_STAMP); \
	else echo "npm is missing: the workbench's page scripts are not installed (capa, math and video do not run; their browser tests skip)"; fi

install: $(STAMP) $(NPM_STAMP)

demo: install
	@# The demo uses the command's own home (./.lc-runtime), so later lc-runtime calls find its course; its two
	@# learners start afresh on every run (their state is kept by user id: new users have none).
	@set -e; \
	  $(PY) -c 'import lc_runtime; lc_runtime.setup(); from django.contrib.auth import get_user_model; get_user_model().objects.filter(username__in=["ada", "grace"]).delete()'; \
	  $(VENV)/bin/lc-runtime import examples/demo-course; \
	  echo; $(VENV)/bin/lc-runtime tree $(DEMO_COURSE) --user ada; \
	  echo; echo "=== ada's outline: her dates, what is open to her ==="; \
	  $(VENV)/bin/lc-runtime outline $(DEMO_COURSE) --user ada; \
	  echo; echo "=== ada answers the question (687 days) through the problem's handler ==="; \
	  $(VENV)/bin/lc-runtime handle "block-v1:LcX+Demo+2026+type@problem+block@orbit-question" \
	    xmodule_handler problem_check --user ada --post input_orbit-question_2_1=choice_1 \
	    | $(PY) -c 'import json, sys; r = json.load(sys.stdin); print("success:", r["success"], "| score:", r["current_score"], "/", r["total_possible"])'; \
	  for learner in ada grace; do \
	    echo; echo "=== What $$learner sees ==="; \
	    echo "--- the problem 'Martian year', as text ---"; \
	    $(VENV)/bin/lc-runtime render "block-v1:LcX+Demo+2026+type@problem+block@orbit-question" --user $$learner --text \
	      | grep -E "Martian year|attempts|correct|unanswered" | head -4; \
	    echo "--- the unit 'Something new' (it holds a block type no package provides), as HTML ---"; \
	    $(VENV)/bin/lc-runtime render "block-v1:LcX+Demo+2026+type@vertical+block@something-new" --user $$learner --pretty; \
	  done; \
	  echo; echo "=== Per-learner content: examples/choices-course uses every built-in selector ==="; \
	  $(VENV)/bin/lc-runtime import examples/choices-course | sed -n 1p; \
	  for learner in ada grace; do \
	    echo; echo "--- what $$learner is given (split_test, randomize, itembank, library_content, conditional) ---"; \
	    $(VENV)/bin/lc-runtime tree $(CHOICES_COURSE) --user $$learner | sed -n '/Chosen for you/,$$p'; \
	  done; \
	  echo; echo "--- ada answers 'Martian year'; her conditional opens (grace's stays closed) ---"; \
	  $(VENV)/bin/lc-runtime handle "block-v1:LcX+Choices+2026+type@problem+block@orbit-question" \
	    xmodule_handler problem_check --user ada --post input_orbit-question_2_1=choice_1 > /dev/null; \
	  for learner in ada grace; do \
	    printf '%s: ' $$learner; $(VENV)/bin/lc-runtime render "block-v1:LcX+Choices+2026+type@vertical+block@once-answered" \
	      --user $$learner --text | grep -v "^[[:space:]]*$$" | sed -n 1p; \
	  done; \
	  echo; echo "=== The workbench: the course in a browser, its blocks' JavaScript running ==="; \
	  echo "  $(VENV)/bin/lc-runtime users create YOU --staff      # once: a user to sign in with (staff)"; \
	  echo "  $(VENV)/bin/lc-runtime serve                         # then open http://127.0.0.1:8000/"

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-mysql: install
	LC_RUNTIME_TEST_DB=mysql $(PY) -m pytest $(PYTEST_ARGS)

docs: install
	@# Offline (no intersphinx, no remote theme) and strict: a warning fails the build.
	$(PY) -m sphinx -W --keep-going -q -b html docs build/docs
	@echo "The docs are in build/docs/index.html"

lint: install
	$(VENV)/bin/ruff check lc_runtime tests benchmarks examples
	$(VENV)/bin/lint-imports

bench: install
	$(PY) -m benchmarks.run

SOAK_STAMP := $(VENV)/.soak-stamp
$(SOAK_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,soak]"
	@touch $(SOAK_STAMP)

# A bounded load run against a real server process (not part of `make test`): SOAK_SECONDS, SOAK_DB=mysql.
soak: $(SOAK_STAMP)
	$(PY) -m benchmarks.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .lc-runtime build *.egg-info
