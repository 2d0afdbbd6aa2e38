#!/usr/bin/env bash
# Quick start, command 2: set up .venv (first run only) and run the whole test suite:
# ruff, the Sphinx build of the WD and the documentation (warnings are errors), and
# pytest without the tests marked slow. Arguments go to pytest (e.g. -m slow). Every
# stage runs even when an earlier one fails; the exit status is 0 only if all pass.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
openlic_env train,docs,dev,bench
cd "$ROOT"

failed=()

echo "== ruff check"
"$VENV/bin/python" -m ruff check --quiet --output-format concise . || failed+=("ruff")

echo "== sphinx-build -W (docs/_build/html)"
"$VENV/bin/python" -m sphinx -W --keep-going -q -b html docs docs/_build/html || failed+=("docs")

echo "== pytest"
"$VENV/bin/python" -m pytest -q "$@" || failed+=("pytest")

if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
