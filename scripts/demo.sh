#!/usr/bin/env bash
# From a fresh clone to a running hub with a synthetic GB estate and logins to try.
#
#   ./scripts/demo.sh                    # 20,000 devices, http://127.0.0.1:8000/portal/
#   DEVICES=1000000 PORT=8080 ./scripts/demo.sh
#
# Environment: DEVICES (default 20000), SEED (default 1), RATE (simulated requests/s over last
# month, default 0.5), HOST (127.0.0.1), PORT (8000),
# METERHUB_DATABASE_URL (default sqlite:///var/demo/meterhub.db; a SQLite demo database is
# removed and made anew on every run, any other is only migrated and must be empty).
# Every login shares one password made fresh each run; the full list, with each login's API
# token, is in var/demo/credentials.json (mode 0600), and var/demo/read-request.xml is a first
# DUIS request for the supplier printed. Never expose a demo hub to a network.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEVICES=${DEVICES:-20000}
SEED=${SEED:-1}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
DEMO_DIR=var/demo
CREDENTIALS=$DEMO_DIR/credentials.json
export METERHUB_DATABASE_URL=${METERHUB_DATABASE_URL:-sqlite:///$DEMO_DIR/meterhub.db}
export METERHUB_SERVE_HOST=$HOST METERHUB_SERVE_PORT=$PORT

if [[ -x scripts/setup.sh ]]; then
    scripts/setup.sh
elif [[ ! -x .venv/bin/meterhub ]]; then
    python3 -m venv .venv
    .venv/bin/pip install -qq --disable-pip-version-check -e '.[dev]'
fi
METERHUB=.venv/bin/meterhub

mkdir -p "$DEMO_DIR"
if [[ $METERHUB_DATABASE_URL == sqlite:///* ]]; then
    db=${METERHUB_DATABASE_URL#sqlite:///}
    rm -f "$db" "$db-wal" "$db-shm"
fi

"$METERHUB" db upgrade
"$METERHUB" demo seed --devices "$DEVICES" --seed "$SEED" --credentials "$CREDENTIALS"

# Last month's traffic into the event lake, its report cube, and its frozen MP176 reports (CSVs
# and PDFs), so the portal's report pages have something to show (RATE requests/s, default 0.5).
LAKE=$DEMO_DIR/lake
REPORTS=$DEMO_DIR/reports
rm -rf "$LAKE" "$REPORTS"
this_month=$(date -u +%Y-%m-01)
month=$(date -u -d "$this_month -1 month" +%Y-%m)
days=$(date -u -d "$this_month -1 day" +%d)
"$METERHUB" simulate traffic --days "$days" --start "$month-01" --rate "${RATE:-0.5}" \
    --seed "$SEED" --lake "$LAKE"
"$METERHUB" report cube build --lake "$LAKE"
"$METERHUB" report run --month "$month" --lake "$LAKE" --out "$REPORTS"  # CSVs and a PDF a party
export METERHUB_LAKE_DIR=$LAKE METERHUB_REPORTS_DIR=$REPORTS

# One login per kind of party, each with what it sees, and a first DUIS request to send; the
# addresses printed are where the hub is about to listen (METERHUB_SERVE_HOST and _PORT).
echo
"$METERHUB" demo logins --credentials "$CREDENTIALS"
echo

exec "$METERHUB" serve
