#!/usr/bin/env bash
# `make test`'s run of the suite, in two phases (arguments: PYTEST_ARGS, given to both):
#   1. parallel: every test not marked `serial`, in TEST_WORKERS pytest-xdist workers
#      (default: the machine's cores, at most 2), whole files to a worker (--dist loadfile).
#      Each worker has its own test database (pytest-django's _gw0, _gw1 suffix) and its
#      own Redis database (REDIS_URL's + the worker's index: tests/environment.py).
#   2. serial: the tests marked `serial` (tests/conftest.py: a real Celery worker or
#      broker, a live server, the browser, racing processes), in this one process, alone.
# Both run and print their summaries, whatever the first one's result; the command fails
# if either fails. A phase that selects no test (exit 5) passes, unless both select none.
# A `-m` in PYTEST_ARGS replaces the phases' selection (then both run the same tests).
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-.venv/bin/python}"
cores="$(nproc 2>/dev/null || echo 2)"
workers="${TEST_WORKERS:-$((cores < 2 ? cores : 2))}"
dist="${TEST_DIST:-loadfile}"

phase() {  # phase NAME pytest-arguments...: runs pytest, sets rc and secs
  local name="$1" start
  shift
  echo "=== make test, ${name} phase: pytest $*"
  start=$(date +%s)
  "$PY" -m pytest "$@"
  rc=$?
  secs=$(($(date +%s) - start))
  echo "=== make test, ${name} phase: exit ${rc} in ${secs} s"
}

phase parallel -n "$workers" --dist "$dist" -m "not serial" "$@"
parallel_rc=$rc parallel_secs=$secs
# Interrupted (2) or a usage error (4): the second phase would end the same way.
if [ "$parallel_rc" = 2 ] || [ "$parallel_rc" = 4 ]; then
  exit "$parallel_rc"
fi
# The slowest serial tests are listed: that phase is the one that sets the wall time.
phase serial -m serial --durations=30 "$@" -n 0  # -n 0 last: alone, whatever PYTEST_ARGS says
serial_rc=$rc serial_secs=$secs

echo "=== make test: parallel phase (-n ${workers}) exit ${parallel_rc} in ${parallel_secs} s," \
  "serial phase exit ${serial_rc} in ${serial_secs} s"
ok() { [ "$1" = 0 ] || [ "$1" = 5 ]; }
if ok "$parallel_rc" && ok "$serial_rc"; then
  if [ "$parallel_rc" = 5 ] && [ "$serial_rc" = 5 ]; then
    exit 5
  fi
  exit 0
fi
if ok "$parallel_rc"; then exit "$serial_rc"; fi
exit "$parallel_rc"
