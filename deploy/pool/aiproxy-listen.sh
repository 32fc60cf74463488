#!/bin/sh
# aiproxy-listen.sh -- run the binary's own prefork pool in the foreground
# (for runit, s6, supervisord, a container, or a terminal): AIPROXY_WORKERS
# processes x AIPROXY_THREADS threads on one socket. SIGTERM stops it.
# It does not switch users: start it as the pool's user, e.g.
#   runuser -u aiproxy -- /usr/local/share/aiproxy/pool/aiproxy-listen.sh
# Settings come from the environment; the defaults are below.
# Logs: one line per request on stderr.
set -eu
: "${AIPROXY_BIN:=/usr/local/lib/aiproxy/aiproxy}"
: "${AIPROXY_CONFIG:=/etc/aiproxy/config.json}"
# a unix socket path, or 127.0.0.1:PORT (never ":PORT", which is every
# interface)
: "${AIPROXY_LISTEN:=/run/aiproxy/app.sock}"
: "${AIPROXY_WORKERS:=4}"
: "${AIPROXY_THREADS:=64}"
: "${AIPROXY_SOCKET_MODE:=0660}"
export AIPROXY_CONFIG

"$AIPROXY_BIN" --check-config "$AIPROXY_CONFIG" >/dev/null
umask 077
case "$AIPROXY_LISTEN" in
/*) set -- --socket-mode "$AIPROXY_SOCKET_MODE" ;;
*) set -- ;;
esac
exec "$AIPROXY_BIN" --listen "$AIPROXY_LISTEN" --workers "$AIPROXY_WORKERS" \
    --threads "$AIPROXY_THREADS" "$@"
