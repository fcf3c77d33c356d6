# Two commands on a fresh machine: `make run` and `make test`.
PY := .venv/bin/python
STAMP := .venv/.installed

.PHONY: run test fuzz bench lint deps clean record-histories

$(STAMP): pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

deps: $(STAMP)

run: $(STAMP)
	$(PY) -m scripts.run

# Two pytest workers, one per core, each with its own servers; a module's tests stay together.
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q -ra -n 2 --dist loadfile

# The property-based money checks and schemathesis against the API, with many more generated
# journeys and requests than `make test` runs (freshly random each time, boundary cases added).
fuzz: $(STAMP)
	XUEJIA_HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -ra tests/workflows/test_money_properties.py \
		tests/api/test_schema_fuzz.py

# Figures against the engine's own, measured in one run on its own servers (bench/README.md);
# outside `make test`, with its own extra (the chart).
BENCH_STAMP := .venv/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf var .venv

# Re-record the journey histories that tests/workflows/test_replay.py replays.
record-histories: $(STAMP)
# Only current/ and codec/ (and complaint/ and payment_check/, overwritten file by file) are
# recorded anew: before_lifecycle_patch/ and before_footprint_patch/ keep what older code
# recorded. Every recording goes through the payload codec (core/codec.py), as the tests'
# clients do.
	rm -rf tests/data/histories/current tests/data/histories/codec
	XUEJIA_RECORD_HISTORIES=1 $(PY) -m pytest -q tests/workflows/test_journey_part1.py \
		tests/workflows/test_journey_part2.py tests/workflows/test_money_lifecycle.py \
		tests/workflows/test_double_clicks.py tests/workflows/test_footprint.py \
		tests/workflows/test_complaint.py tests/workflows/test_reviews.py \
		tests/workflows/test_payment_checks.py tests/workflows/test_codec_journeys.py
