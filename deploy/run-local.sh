#!/bin/sh
# run-local.sh -- `make run`: lighttpd on 127.0.0.1:8080 spawning the proxy
# with ./config.json (state in ./var). Runs in the foreground; Ctrl-C stops.
set -eu
cd "$(dirname "$0")/.."
AIPROXY_HOME=$(pwd)
export AIPROXY_HOME
cfg="$AIPROXY_HOME/config.json"
if ! ./cgi/aiproxy --check-config "$cfg"; then
	echo "fix $cfg first (see README.md, Configuration)" >&2
	exit 1
fi
mkdir -p var/www var/log var/run
chmod 700 var
key=$(sed -n 's/^ *"access_key": *"\([^"]*\)".*/\1/p' "$cfg" | head -n 1)
cat <<MSG
aiproxy: lighttpd on http://127.0.0.1:8080 (log: var/log/lighttpd-error.log)
usage page: http://127.0.0.1:8080/usage   metrics: http://127.0.0.1:8080/metrics
try:
  curl -s http://127.0.0.1:8080/v1/models -H 'Authorization: Bearer $key'
  curl -sN http://127.0.0.1:8080/v1/chat/completions -H 'Authorization: Bearer $key' \\
       -H 'Content-Type: application/json' \\
       -d '{"model":"auto-model","stream":true,"messages":[{"role":"user","content":"Hello"}]}'
MSG
exec lighttpd -D -f deploy/lighttpd-local.conf
