#!/bin/bash
# tally-healthcheck: exit 0 when the node's GET /v1/health answers 200.
# Needs only bash (no curl/wget): HTTP/1.0 over bash's /dev/tcp.
# TALLY_HEALTH_ADDR: host:port of the API inside the container (default 127.0.0.1:4711).
set -u
addr=${TALLY_HEALTH_ADDR:-127.0.0.1:4711}
host=${addr%:*}
port=${addr##*:}
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /v1/health HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$addr" >&3 || exit 1
IFS= read -r -t 4 status <&3 || exit 1
case "$status" in
  "HTTP/1."[01]" 200"*) exit 0 ;;
  *) echo "unhealthy: ${status%$'\r'}" >&2; exit 1 ;;
esac
