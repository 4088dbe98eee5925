#!/usr/bin/env bash
# The whole check, as CI runs it: setup, formatting, lint, types, then the test suite twice,
# on SQLite and on PostgreSQL. Stops at the first stage that fails. Extra arguments go to both
# pytest runs:
#
#   scripts/test.sh                      # everything
#   scripts/test.sh -k inventory -x      # a subset, still on both databases
#
# METERHUB_TEST_SKIP_POSTGRES=1 skips the PostgreSQL pass (a quick local loop only; CI never does).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

STARTED=$SECONDS
STAGE_STARTED=$SECONDS
STAGE=""

stage() {
    if [[ -n "$STAGE" ]]; then
        echo "--- $STAGE: ok ($((SECONDS - STAGE_STARTED))s)"
    fi
    STAGE=$1
    STAGE_STARTED=$SECONDS
    echo
    echo "=== $STAGE"
}

# The first line a command prints (stdout and stderr). Read whole, never through `| head`: under
# pipefail, head closing the pipe early kills the writer with SIGPIPE (exit 141).
first_line() {
    local out
    out="$("$@" 2>&1)"
    printf '%s\n' "${out%%$'\n'*}"
}

pg_started=""
finish() {
    local rc=$?
    if [[ -n "$pg_started" ]]; then
        bash scripts/pg.sh stop || true
    fi
    echo
    if [[ $rc -eq 0 ]]; then
        echo "=== all stages passed ($((SECONDS - STARTED))s)"
    else
        echo "=== FAILED at stage: ${STAGE:-?} (exit $rc, $((SECONDS - STARTED))s)"
        if [[ $rc -eq 5 && "$STAGE" == pytest* ]]; then
            echo "    (pytest exit 5: no tests were collected)"
        fi
    fi
    exit "$rc"
}
trap finish EXIT

apt_install() {
    if [[ $EUID -ne 0 ]]; then
        echo "test: $* missing and not root; install it with: sudo apt-get install $*" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z "${METERHUB_APT_UPDATED:-}" ]]; then
        apt-get update -qq
        export METERHUB_APT_UPDATED=1
    fi
    # With recommends (fonts-liberation, mesa): the same set a developer's `apt-get install
    # chromium` gives, so screenshots render alike.
    apt-get install -y -qq "$@" >/dev/null
}

stage "setup (.venv)"
bash scripts/setup.sh
BIN=.venv/bin

stage "chromium (for Playwright browser tests)"
if [[ -x /usr/bin/chromium ]]; then
    echo "$(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
else
    echo "installing Debian's chromium (apt-get)"
    apt_install chromium
    /usr/bin/chromium --version
fi

stage "poppler-utils (pdftoppm/pdftotext, for the report PDF tests)"
if command -v pdftoppm >/dev/null 2>&1; then
    first_line pdftoppm -v
else
    echo "installing Debian's poppler-utils (apt-get)"
    apt_install poppler-utils
    first_line pdftoppm -v
fi

stage "java (for the PySpark report engine)"
if command -v java >/dev/null 2>&1; then
    first_line java -version
else
    echo "installing Debian's OpenJDK runtime (apt-get)"
    apt_install default-jre-headless
    first_line java -version
fi

stage "ruff format --check"
"$BIN/ruff" format --check

stage "ruff check"
"$BIN/ruff" check

stage "mypy (strict on src/meterhub)"
"$BIN/mypy"

stage "lint-imports (layers and domain borders, pyproject.toml [tool.importlinter])"
"$BIN/lint-imports"

stage "pytest on SQLite"
env -u METERHUB_TEST_DATABASE_URL "$BIN/pytest" "$@"

if [[ -n "${METERHUB_TEST_SKIP_POSTGRES:-}" && "${CI:-}" != "true" ]]; then
    stage "pytest on PostgreSQL: SKIPPED (METERHUB_TEST_SKIP_POSTGRES is set)"
else
    stage "PostgreSQL (scripts/pg.sh start)"
    if ! bash scripts/pg.sh status >/dev/null 2>&1; then
        pg_started=1
    fi
    bash scripts/pg.sh start

    stage "pytest on PostgreSQL"
    METERHUB_TEST_DATABASE_URL=$(bash scripts/pg.sh url) "$BIN/pytest" "$@"
fi
echo "--- $STAGE: ok ($((SECONDS - STAGE_STARTED))s)"
STAGE=""
