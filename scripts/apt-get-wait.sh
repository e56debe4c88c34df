#!/usr/bin/env bash
# apt-get that waits for the apt/dpkg lock instead of failing at once: when
# another process (unattended-upgrades, a second apt) holds it, apt-get fails
# with "Could not get lock …"; we say so, retry every few seconds and give up
# after a bound (5 minutes by default). Other failures pass straight through.
# usage: bash scripts/apt-get-wait.sh <apt-get arguments>
# env:   SIGIL_APT_LOCK_TIMEOUT (seconds, 300), SIGIL_APT_LOCK_INTERVAL (5),
#        SIGIL_APT_GET (the apt-get command; tests point it elsewhere)
set -uo pipefail
timeout=${SIGIL_APT_LOCK_TIMEOUT:-300}
interval=${SIGIL_APT_LOCK_INTERVAL:-5}
apt=${SIGIL_APT_GET:-apt-get}
start=$(date +%s)
err=$(mktemp)
trap 'rm -f "$err"' EXIT
announced=0
while :; do
  $apt "$@" 2>"$err"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    cat "$err" >&2
    exit 0
  fi
  if ! grep -Eq 'Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock (the administration )?directory' "$err"; then
    cat "$err" >&2
    exit "$rc"
  fi
  holder=$(grep -Eo 'held by process [0-9]+( \([^)]*\))?' "$err" | head -1)
  lock=$(grep -Eo 'Could not get lock [^ ]+' "$err" | head -1 | sed 's/^Could not get lock //; s/\.$//')
  waited=$(($(date +%s) - start))
  if [ "$waited" -ge "$timeout" ]; then
    cat "$err" >&2
    echo "apt-get $1: the apt/dpkg lock ${lock:+($lock) }was still ${holder:-held by another process} after ${waited}s. Wait for that process (e.g. unattended-upgrades) to finish, then run this again." >&2
    exit "$rc"
  fi
  if [ "$announced" -eq 0 ]; then
    echo "apt-get $1: waiting for the apt/dpkg lock ${lock:+($lock) }${holder:-held by another process} (up to ${timeout}s)" >&2
    announced=1
  fi
  sleep "$interval"
done
