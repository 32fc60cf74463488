#!/bin/sh
# aiproxy-listen.sh -- run the binary's own prefork pool in the foreground
# (for runit, s6, supervisord, a container, or a terminal): AIPROXY_WORKERS
# processes x AIPROXY_THREADS threads on one socket. SIGTERM stops it.
# It does not switch users: start it as the pool's user, e.g.
#   runuser -u aiproxy -- /usr/local/share/aiproxy/pool/aiproxy-listen.sh
# Settings come from the environment; the defaults are below.
# Logs: one line per request on stderr.
# It creates no directory and changes no owner or mode: the socket's
# directory must exist and be writable by the pool's user. The binary
# replaces nothing but an old socket at that path, and refuses a wildcard
# address (0.0.0.0, ::, *, or :PORT alone) unless given --listen-any.
# The config (every key) must be readable by the pool's user only
# (root:aiproxy 0640 or aiproxy 0600).
set -eu
: "${AIPROXY_BIN:=/usr/local/lib/aiproxy/aiproxy}"
: "${AIPROXY_CONFIG:=/etc/aiproxy/config.json}"
# a unix socket path, or 127.0.0.1:PORT (never ":PORT" or 0.0.0.0:PORT,
# which is every interface: the binary refuses them without --listen-any)
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
