# The two commands of the README. Both install what is missing first.
#   make run    the whole stack (Rasa engine + app) on the embedded SQLite store
#   make test   the whole test suite (what CI runs, through .ci/run)
.PHONY: run test install train lock

install:
	@scripts/setup.sh

run: install
	@.venv/app/bin/aduan run

test: install
	@.venv/app/bin/python -m pytest $(PYTEST_ARGS)

train: install
	@.venv/app/bin/aduan train

# Rewrite requirements/app.txt and requirements/engine.txt (see scripts/lock.sh; ARGS=--upgrade to move on)
lock: install
	@scripts/lock.sh $(ARGS)
