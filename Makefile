# The README's two commands are `make demo` and `make test`; each sets itself up
# (virtualenv, Kafka jars, broker) and can be run again safely.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)

# Tests use their own broker (own ports and data) so they never touch a demo broker;
# it and the brokers the tests start themselves use the JVM's quick compiler only (half
# the CPU to start, no more at a test's load: streams/tools/platform/localkafka.py).
# The tests' workers wait 500 ms at the broker for new records, not 100 ms: an idle
# worker then costs the broker and itself half the CPU (make test: the broker 203 -> 182
# CPU-s, the workers 116 -> 90), a hop up to 0.4 s more; latency is make bench's to
# measure, at the deployment's 100 ms.
TEST_KAFKA := FRONTDOOR_KAFKA_PORT=19092 FRONTDOOR_KAFKA_CONTROLLER_PORT=19093 \
              FRONTDOOR_KAFKA_HOME=.local/kafka-test FRONTDOOR_KAFKA_JIT=quick \
              FRONTDOOR_FETCH_MAX_WAIT_MS=500
# ... and their own identity provider (Keycloak), with its own port and data.
TEST_IDP := FRONTDOOR_IDP_PORT=18543 FRONTDOOR_IDP_HOME=.local/keycloak-test
# GOV.UK Frontend for the console, from the lockfile (again only when it changes).
ASSETS := deploy/console/node_modules/.installed-$(shell sha256sum deploy/console/package-lock.json | cut -c1-12)

.PHONY: demo test lint unit integration faults venv tools kafka-start kafka-stop contracts compose-check \
        clean bench bench-matching assets

# promtool and amtool (Debian's prometheus and prometheus-alertmanager) for the rule and
# routing tests, and Debian's chromium for the console's browser tests (Playwright drives
# it; nothing downloads a browser); installed once, as root or through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
tools:
	@command -v promtool >/dev/null && command -v amtool >/dev/null \
	  && command -v chromium >/dev/null || { \
	  echo "installing prometheus, prometheus-alertmanager and chromium (Debian packages) ..."; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    prometheus prometheus-alertmanager chromium >/dev/null; }

venv: $(STAMP) $(ASSETS)

assets: $(ASSETS)

$(ASSETS): deploy/console/package-lock.json
	npm ci --prefix deploy/console --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# uv installs the pinned packages into the virtualenv (from PyPI, as pip would) in a sixth
# of pip's time: 6 s against 37 s on a fresh clone here. It compiles their bytecode as pip
# does (uv alone does not): where PYTHONDONTWRITEBYTECODE is set, as on this machine and
# in CI, every process would otherwise compile every library it imports, each time it
# starts (6.0 s against 2.7 s of CPU for a test process's imports; make test starts some
# hundred processes).
UV_VERSION := 0.13.9
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

# KEEP=1 keeps the whole stack running after the summary, to click through; Ctrl-C stops it.
demo: venv tools
	$(BIN)/frontdoor demo $(if $(KEEP),--keep-running)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv tools
	$(BIN)/pytest -q -n 2 --durations=20 tests/unit tests/deploy

# Keycloak takes some 40 s to start the first time (unpack, build, database, realm): it is
# launched in the background (by make test before the lint; here if it is not running yet)
# and the browser tests wait for it.
# Integration tests and the fault suite's short version, on the real local broker: first
# $(PARALLEL) at a time (each has its own namespace, app id, ports and tmp_path, removed
# at teardown, and mostly waits on the broker and its workers; the longest start first),
# then, alone, those marked serial (they pause the shared broker).
# The three-node cluster (marked full) is make faults' only.
PARALLEL ?= 3
integration: venv tools
	rm -f .local/faults/results.jsonl .local/security/acl-matrix.txt \
	  .local/compliance/planted.txt .local/security/edge-*.txt .local/console/*.txt
	$(TEST_KAFKA) $(BIN)/frontdoor kafka start
	$(TEST_KAFKA) $(TEST_IDP) $(BIN)/frontdoor idp launch
	$(TEST_KAFKA) $(TEST_IDP) $(BIN)/pytest -q -n $(PARALLEL) --dist loadgroup --durations=20 \
	    -m "not serial and not full" tests/integration tests/faults tests/browser $(ALSO) && \
	  $(TEST_KAFKA) $(TEST_IDP) $(BIN)/pytest -q --durations=20 -m "serial and not full" \
	    tests/integration tests/faults; rc=$$?; \
	  $(TEST_KAFKA) $(BIN)/frontdoor kafka stop; $(TEST_KAFKA) $(TEST_IDP) $(BIN)/frontdoor idp stop; \
	  exit $$rc

# The fault suite at full size (about 15 minutes), one test at a time: 120,000 fuzzed
# inputs, ten kill -9s over 10,000 incidents, broker outages, rebalances, a three-node
# cluster losing a leader; prints the faults table (also in .local/faults/results.jsonl).
# Then the integration tests marked full (the compliance run with two workers).
faults: venv
	rm -f .local/faults/results.jsonl
	$(TEST_KAFKA) $(BIN)/frontdoor kafka start
	FRONTDOOR_FAULTS=full $(TEST_KAFKA) $(BIN)/pytest -q --durations=20 tests/faults && \
	  $(TEST_KAFKA) $(BIN)/pytest -q -m full tests/integration; rc=$$?; \
	  $(TEST_KAFKA) $(BIN)/frontdoor kafka stop; exit $$rc

# docker-compose.yml brought up for real and proved, then taken down (a few minutes, as
# root; separate from make test): podman and Debian's docker-compose, stand-in images from
# a debootstrapped bookworm, the project's image from deploy/docker/Dockerfile.
compose-check: venv
	$(SUDO) deploy/compose-check/compose-check.sh

# Keycloak and the broker start in the background (resolving their jars, then booting:
# some 40 s of CPU for Keycloak's first build) while the lint runs, Keycloak first (it
# makes the local CA the broker's certificates come from, and its first build then fills
# the time the lint leaves, not the tests' time); then the unit tests run
# among the broker tests, in the same parallel run: they fill the time the broker tests
# spend waiting on the broker and their workers (make unit runs them alone).
test: venv tools
	@mkdir -p .local; \
	( $(TEST_KAFKA) $(TEST_IDP) $(BIN)/frontdoor idp launch && \
	  $(TEST_KAFKA) $(BIN)/frontdoor kafka start ) > .local/test-platform.log 2>&1 & \
	platform=$$!; \
	$(MAKE) --no-print-directory lint; checked=$$?; \
	wait $$platform; up=$$?; cat .local/test-platform.log; \
	if [ $$checked = 0 ] && [ $$up = 0 ]; then \
	  $(MAKE) --no-print-directory integration ALSO="tests/unit tests/deploy"; fi; \
	rc=$$?; [ $$checked = 0 ] && [ $$up = 0 ] || rc=1; \
	$(TEST_KAFKA) $(BIN)/frontdoor kafka stop; $(TEST_KAFKA) $(TEST_IDP) $(BIN)/frontdoor idp stop; \
	exit $$rc

# Both matching benchmarks at a council's size (100,000 records), then at a national
# hub's (1,000,000; about 10 minutes and 9 GiB); fails if either misses a target.
bench-matching: venv
	$(BIN)/frontdoor bench matching; a=$$?; \
	  $(BIN)/frontdoor bench matching --records 1000000 --queries 4000; b=$$?; \
	  exit $$((a || b))

# Throughput and latency on the real local broker (a few minutes), then how soon planted
# compliance signals are flagged on two workers, alone and beside 100 incidents/s, then
# the HTTPS gateway beside the direct Kafka path, then the console's pages with 10,000
# open reviews, then a policy what-if over a year of a large force (its set-up, once,
# some minutes).
bench: venv tools
	$(BIN)/frontdoor bench pipeline
	$(BIN)/frontdoor bench signals
	$(BIN)/frontdoor bench gateway
	$(BIN)/frontdoor bench console
	$(BIN)/frontdoor bench whatif

contracts: venv
	$(BIN)/frontdoor contracts write

kafka-start: venv
	$(BIN)/frontdoor kafka start

kafka-stop: venv
	$(BIN)/frontdoor kafka stop

clean:
	-$(BIN)/frontdoor kafka stop
	-$(TEST_KAFKA) $(BIN)/frontdoor kafka stop
	-$(BIN)/frontdoor idp stop
	-$(TEST_KAFKA) $(TEST_IDP) $(BIN)/frontdoor idp stop
	rm -rf .local $(VENV) deploy/kafka/lib deploy/kafka/.resolved deploy/keycloak/lib \
	  deploy/keycloak/.resolved deploy/console/node_modules
