# dangol: two commands.
#   make run   install, load the demo program into var/dangol.db, serve http://127.0.0.1:8000
#   make test  install, run the whole test suite (PostgreSQL tests too if DANGOL_TEST_POSTGRES_URL is set)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BENCH_INSTALLED := $(VENV)/.installed-bench
DATABASE_URL ?= sqlite:///var/dangol.db
HOST ?= 127.0.0.1
PORT ?= 8000
DANGOL := $(BIN)/dangol --database-url $(DATABASE_URL)

.PHONY: run test install clean

install: $(INSTALLED)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when the dependencies may have changed.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

# The benchmarks also need their peers (e.g. rule-engine): the bench extra.
$(BENCH_INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@touch $@ $(INSTALLED)

run: $(INSTALLED)
	$(DANGOL) init
	$(DANGOL) demo
	@token=$$($(DANGOL) keys create --program market --scope read --scope write --name "make run" --quiet) && \
	  echo && echo "A read/write key for program market. In another terminal:" && echo && \
	  echo "  export DANGOL_KEY=$$token" && \
	  echo "  curl -s -H \"Authorization: Bearer \$$DANGOL_KEY\" 'http://$(HOST):$(PORT)/v1/programs/market/members?external_ref=customer-00001'" && \
	  echo
	@echo "The member portal of a demo member (the link works once, for 10 minutes; make another with"
	@echo "'dangol members portal-link --ref customer-00001'):" && echo
	@echo "  $$($(DANGOL) members portal-link --program market --ref customer-00001 --base-url http://$(HOST):$(PORT) --quiet)"
	@echo
	$(DANGOL) serve --host $(HOST) --port $(PORT)

test: $(INSTALLED)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  echo "NOTE: Chromium is missing, so the browser tests (tests/web) will be skipped. Get it with:" \
	       "sudo apt-get install chromium chromium-driver (Debian/Ubuntu); .ci/run installs it."
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf var $(INSTALLED) $(BENCH_INSTALLED)

# ---- benchmarks (bench/, figures in BENCHMARKS.md). BENCH_ARGS=--quick for a smoke run in seconds.
# PostgreSQL targets use $(DANGOL_BENCH_POSTGRES_URL) or postgresql://postgres@127.0.0.1:5432/test.
.PHONY: bench bench-ingest bench-ingest-postgres bench-http bench-http-postgres bench-reads bench-reads-postgres \
	bench-transparency bench-rules bench-audit bench-log-proofs bench-events bench-events-postgres bench-portal bench-outbox

bench-ingest: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.ingest --db sqlite $(BENCH_ARGS)

bench-ingest-postgres: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.ingest --db postgres $(BENCH_ARGS)

bench-http: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.http --db sqlite $(BENCH_ARGS)

bench-http-postgres: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.http --db postgres $(BENCH_ARGS)

bench-reads: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.reads --db sqlite $(BENCH_ARGS)

bench-reads-postgres: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.reads --db postgres $(BENCH_ARGS)

# The transparency core's Merkle tree, in memory (no database): append rate against pymerkle, proof times.
bench-transparency: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.transparency $(BENCH_ARGS)

# The rules core (dangol.rules), in memory: evaluations/s, example and 200-rule rulesets, against rule-engine.
bench-rules: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.rules $(BENCH_ARGS)

# Purchase events through the example ruleset (EventService.record_many), against the plain ledger ingest.
bench-events: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.events $(BENCH_ARGS)

bench-events-postgres: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.events --postgres $(BENCH_ARGS)

# The outbox's cost on the write path: earns with the outbox on and off, same run (docs/notifications.md).
bench-outbox: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.outbox $(BENCH_ARGS)

# The full audit of a synthetic 1,000,000-entry log mirror (dangol verify audit), against read + SHA-256 + json.loads.
bench-audit: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.audit $(BENCH_ARGS)

# The member portal's pages, server time in process, at 1,000,000 members (bench/portal.py).
bench-portal: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.portal --db sqlite $(BENCH_ARGS)

# Proofs served from the database's stored nodes at 10,000,000 leaves, against one node lookup.
bench-log-proofs: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.log_proofs --db sqlite $(BENCH_ARGS)

bench: bench-ingest bench-ingest-postgres bench-http bench-http-postgres bench-reads bench-reads-postgres
