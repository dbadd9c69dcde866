# Everything starts from python3 and make: the first target that needs the
# virtualenv creates it and installs the project with its dev tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install lint test test-interpreter demo bench cel-conformance chaos fuzz histories format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP)
	$(BIN)/pytest

test-interpreter: $(STAMP)
	$(BIN)/pytest tests/interpreter

# Every scenario of bench/ (embedded dev server, PostgreSQL when reachable), written to
# bench/results/latest.{json,md,png}. `make bench QUICK=1` is a small smoke run;
# BENCH_ARGS passes more options (e.g. BENCH_ARGS=--only=overhead,memory).
# Byte-compiled first, as an installed wheel is: where PYTHONDONTWRITEBYTECODE is set
# (this machine sets it), every `dee` process the bench starts would compile DEE's
# sources anew (60 ms of each `dee start`).
bench: $(STAMP)
	$(BIN)/python -m compileall -q activities adapters bench dee interpreter workflows
	$(BIN)/python -m bench.run_all $(if $(QUICK),--quick,) $(BENCH_ARGS)

# Google's CEL conformance tests against DEE's conditions (docs/performance.md): the
# data is cel-spec's tests/simple/testdata, not shipped; CEL_TESTDATA names it.
cel-conformance: $(STAMP)
	@test -n "$(CEL_TESTDATA)" || { echo "set CEL_TESTDATA=<cel-spec>/tests/simple/testdata (docs/performance.md)" >&2; exit 2; }
	$(BIN)/python -m bench.cel_conformance --testdata "$(CEL_TESTDATA)" $(CEL_ARGS)

# Durability under faults: 300 runs while `dee worker` processes (10) and the dev server
# (2) are SIGKILLed mid-send; exits 1 if any run died, any event was lost or any message
# went out twice (docs/performance.md). CHAOS_ARGS passes options (e.g. --database URL).
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

# Hostile input at every door (plans, CEL, templates, contacts, events, suppressed
# addresses, CLI calls, webhook requests), thousands per target, each under a 5 s cap;
# the table of outcomes goes to bench/results/fuzz.json (docs/performance.md).
# FUZZ_ARGS passes options (e.g. FUZZ_ARGS="--quick" or "--only plan,cli").
fuzz: $(STAMP)
	$(BIN)/python -m bench.fuzz $(FUZZ_ARGS)

# Regenerate the Replayer corpus in tests/histories from real runs (fake activities).
histories: $(STAMP)
	$(BIN)/python -m scripts.make_histories

# The whole engine on embedded defaults: Temporal dev server (+ Web UI), SQLite,
# a local mail sink, a worker and three runs. `make demo SERVE=1` keeps it up.
demo: $(STAMP)
	$(BIN)/dee demo $(if $(SERVE),--serve,)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
