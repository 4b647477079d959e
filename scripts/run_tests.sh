#!/usr/bin/env bash
# Runs pytest from the project's virtual environment.
# Exit code 5 (no tests collected) is a failure for the full suite: it means
# the suite is broken. With an explicit selection (arguments given) it only
# means nothing matched, which is reported and accepted.
set -u
cd "$(dirname "$0")/.."
if [ -x node_modules/.bin/buf ] || command -v npm >/dev/null 2>&1; then
  make --no-print-directory lint || exit 1
else
  echo "npm not found: skipping buf lint"
fi
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  if [ "$#" -gt 0 ]; then
    echo "pytest: no test matched the selection ($*)"
    exit 0
  fi
  echo "pytest collected no tests: the suite is broken" >&2
  exit 1
fi
exit "$rc"
