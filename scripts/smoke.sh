#!/usr/bin/env bash
# Smoke test of the compiled build (npm run build first), as a container runs it: node on
# dist/src/main.js, on a fresh embedded database and on a fresh PostgreSQL database. Each must
# answer /healthz, the embedded one a CLI command, and each must stop on SIGTERM with status 0.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
port=$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
pg_server=${SMOKE_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
database="csp_smoke_$$"
cleanup() { rm -rf "$work"; psql -q "$pg_server/postgres" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT

run() { # run <name> <env…>: start, wait for /healthz, then leave the pid in $pid
  env "${@:2}" PORT="$port" node dist/src/main.js >"$work/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "smoke ($1): /healthz never answered"; cat "$work/$1.log"; exit 1
}
stop() { # stop <name>: SIGTERM, then the exit status must be 0
  kill -TERM "$pid"
  if ! wait "$pid"; then echo "smoke ($1): did not stop cleanly on SIGTERM"; cat "$work/$1.log"; exit 1; fi
}

run embedded DATA_DIR="$work/data"
DATA_DIR="$work/data" node dist/src/cli.js customers --as admin@fabrikam.example | grep -q 'Contoso Ltd' || { echo 'smoke (embedded): the CLI did not list the demo customers'; exit 1; }
stop embedded
echo "smoke: embedded database OK"

psql -q "$pg_server/postgres" -c "CREATE DATABASE $database" >/dev/null
run postgres DATABASE_URL="$pg_server/$database"
stop postgres
echo "smoke: PostgreSQL OK"
