#!/usr/bin/env bash
# Runs every test tier in one pytest session. pytest exit code 5 ("no tests
# collected") is a failure here: a suite that runs nothing must not pass.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pytest -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "error: no tests were collected" >&2
    exit 1
fi
exit "$rc"
