#!/usr/bin/env bash
# Runs the tests marked `clock` (they depend on the date, the weekday or the time of
# day) once at each of the awkward moments below, with the clock pinned there by
# tests/conftest.py's --pin-clock (it still ticks, so timeouts move). Database, Redis
# and workers are handled as by scripts/test.sh; extra arguments go to every run.
#
#   bash scripts/test_clock.sh            # the three moments
#   CLOCK_MOMENTS="2027-10-31T03:30:00+02:00" bash scripts/test_clock.sh -x
set -euo pipefail
cd "$(dirname "$0")/.."

# 23:30 UTC on a Sunday: already Monday 01:30 in Kyiv, a day and a week apart from UTC.
# 00:30 in Kyiv on New Year's Day: the UTC date is still 31 December of the old year.
# The Sunday the clocks go forward in Kyiv (03:00 → 04:00 that night): a 23-hour day.
DEFAULT_MOMENTS="2026-11-29T23:30:00+00:00 2027-01-01T00:30:00+02:00 2027-03-28T03:30:00+03:00"
read -r -a moments <<<"${CLOCK_MOMENTS:-$DEFAULT_MOMENTS}"

status=0
for moment in "${moments[@]}"; do
  echo "==> Tests marked clock, with the clock pinned at $moment"
  started=$SECONDS
  # Exit code 5 (nothing selected) is a failure too: the marker must select tests.
  bash scripts/test.sh -m clock --pin-clock="$moment" "$@" || status=$?
  echo "==> Pinned at $moment: exit ${status}, $((SECONDS - started)) s"
  if [ "$status" -ne 0 ]; then
    exit "$status"
  fi
done
