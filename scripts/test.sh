#!/usr/bin/env bash
# `make test` after `make setup`: the lint, then every test, in the least wall time 2 cores allow.
# The real Pulumi engine (scripts/build-pulumi-engine.sh: about 10 minutes of Go build when its caches
# are cold, seconds when warm) builds in the background while the tests that do not need it run on
# both cores (pytest-xdist, whole files a worker so a module's Spark fixtures are built once; the heaviest
# files first: tests/conftest.py orders them, --no-loadscope-reorder keeps that order); the engine tests
# run last. Every test runs even when an earlier group fails; the exit code says if any did.
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

mkdir -p .cache
engine_log=.cache/engine-build.log
say "building the Pulumi engine in the background (log: $engine_log)"
bash scripts/build-pulumi-engine.sh >"$engine_log" 2>&1 &
engine_pid=$!
trap 'kill "$engine_pid" 2>/dev/null' EXIT  # an interrupted run leaves no build behind

status=0
say "ruff"
.venv/bin/ruff check . || status=1
say "the class-data archive for the tests' driver JVMs (tests/jvm_archive.py)"
mkdir -p .cache/jvm  # the JVM's notes on classes it could not archive are many lines: kept in a log
if .venv/bin/python tests/jvm_archive.py >.cache/jvm/archive.log 2>&1; then
  tail -n 1 .cache/jvm/archive.log
else
  tail -n 40 .cache/jvm/archive.log
  say "no class-data archive: the tests run without it, slower"
  status=1
fi
say "the tests that do not need the engine, on 2 workers"
.venv/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --ignore=tests/engine \
  --junitxml=.cache/junit-tests.xml || status=1
say "where their time went, per module (bench/suite_times.py)"
.venv/bin/python bench/suite_times.py .cache/junit-tests.xml || status=1

say "waiting for the engine build"
if wait "$engine_pid"; then
  tail -n 3 "$engine_log"
  say "the engine tests"
  .venv/bin/python -m pytest tests/engine || status=1
else
  cat "$engine_log"
  say "the engine build failed: the engine tests did not run"
  status=1
fi
exit "$status"
