#!/usr/bin/env bash
# Make .venv hold meterhub (editable) with its dev tools. Idempotent and cheap to re-run:
# pip runs again only when pyproject.toml or the Python interpreter changed.
#
#   scripts/setup.sh            # then: .venv/bin/meterhub --help
#   PYTHON=python3.12 scripts/setup.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
STAMP="$VENV/.meterhub-setup-stamp"

pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [[ -n "$candidate" ]] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "setup: no Python 3.11+ found (set PYTHON=...)" >&2
    return 1
}

# A venv whose interpreter has gone (copied from another machine, Python upgraded) is rebuilt.
if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "setup: $VENV is broken, recreating it"
    rm -rf "$VENV"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    python=$(pick_python)
    echo "setup: creating $VENV with $($python --version)"
    "$python" -m venv "$VENV"
    rm -f "$STAMP"
fi

want="$(sha256sum pyproject.toml | cut -d' ' -f1) $("$VENV/bin/python" -c 'import sys; print(sys.version.splitlines()[0])')"
have=""
[[ -f "$STAMP" ]] && have=$(cat "$STAMP")

if [[ "$want" != "$have" ]]; then
    echo "setup: installing meterhub[dev] into $VENV"
    "$VENV/bin/python" -m pip install -qq --disable-pip-version-check -e '.[dev]'
    echo "$want" >"$STAMP"
else
    echo "setup: $VENV is up to date"
fi
