#!/usr/bin/env bash
# Runs the test suite: on PostgreSQL and Redis when they answer on 127.0.0.1,
# else on SQLite with the PostgreSQL-only tests skipped. With CI=true a missing
# PostgreSQL or Redis is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

reachable() {
  "$PY" - "$1" "$2" <<'PYEOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PYEOF
}

PG_HOST=${TEST_PG_HOST:-127.0.0.1}
REDIS_HOST=${TEST_REDIS_HOST:-127.0.0.1}
if reachable "$PG_HOST" 5432 && reachable "$REDIS_HOST" 6379; then
  export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@$PG_HOST:5432/makrx}
  export REDIS_URL=${TEST_REDIS_URL:-redis://$REDIS_HOST:6379/1}
  echo "==> Tests run on PostgreSQL ($DATABASE_URL) and Redis ($REDIS_URL)."
else
  if [ "${CI:-}" = "true" ]; then
    echo "!!! CI=true but PostgreSQL (:5432) or Redis (:6379) is not reachable: failing." >&2
    exit 1
  fi
  unset DATABASE_URL REDIS_URL
  echo "!!! ============================================================================ !!!"
  echo "!!! PostgreSQL or Redis is NOT reachable: running on SQLite + local memory.      !!!"
  echo "!!! Tests marked 'postgres' and 'redis' (races, locks, real worker) are SKIPPED. !!!"
  echo "!!! ============================================================================ !!!"
fi
export CELERY_TASK_ALWAYS_EAGER=true
export DEBUG=false
export SECURE_SSL_REDIRECT=false
# Production mode refuses to start without these (settings.py).
export SECRET_KEY=${SECRET_KEY:-test-only-secret-key-not-for-production-0123456789abcdefghij}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost,testserver}
# Two processes on two cores; each gets its own test database.
exec "$PY" -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile "$@"
