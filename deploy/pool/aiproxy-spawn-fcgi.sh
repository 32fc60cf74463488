#!/bin/sh
# aiproxy-spawn-fcgi.sh -- start or stop an aiproxy pool with spawn-fcgi:
# AIPROXY_PROCS processes, each with AIPROXY_THREADS threads, sharing one
# socket. For init systems without units (sysvinit, cron @reboot, by hand).
# Usage (as root, so spawn-fcgi can drop to AIPROXY_USER):
#   aiproxy-spawn-fcgi.sh start|stop
# Settings come from the environment; the defaults are below.
# Logs: spawn-fcgi points its children's stderr at /dev/null, so each
# responder is started through sh to append its request lines to
# AIPROXY_LOG instead (rotate it with copytruncate).
set -eu
: "${AIPROXY_BIN:=/usr/local/lib/aiproxy/aiproxy}"
: "${AIPROXY_CONFIG:=/etc/aiproxy/config.json}"
# a unix socket path, or 127.0.0.1:PORT
: "${AIPROXY_LISTEN:=/run/aiproxy/app.sock}"
: "${AIPROXY_PROCS:=4}"
: "${AIPROXY_THREADS:=64}"
: "${AIPROXY_USER:=aiproxy}"
# the web server's group, which gets rw on the unix socket
: "${AIPROXY_SOCKET_GROUP:=www-data}"
: "${AIPROXY_PIDFILE:=/run/aiproxy/spawn-fcgi.pid}"
: "${AIPROXY_LOG:=/var/log/aiproxy/aiproxy.log}"
export AIPROXY_CONFIG AIPROXY_THREADS

start() {
	"$AIPROXY_BIN" --check-config "$AIPROXY_CONFIG" >/dev/null
	umask 077
	mkdir -p "$(dirname "$AIPROXY_LOG")" "$(dirname "$AIPROXY_PIDFILE")"
	set -- -F "$AIPROXY_PROCS" -P "$AIPROXY_PIDFILE"
	if [ "$(id -u)" = 0 ]; then
		chown "$AIPROXY_USER" "$(dirname "$AIPROXY_LOG")"
		set -- "$@" -u "$AIPROXY_USER"
	fi
	case "$AIPROXY_LISTEN" in
	/*)
		dir=$(dirname "$AIPROXY_LISTEN")
		mkdir -p "$dir"
		if [ "$(id -u)" = 0 ]; then
			chown "$AIPROXY_USER:$AIPROXY_SOCKET_GROUP" "$dir"
			set -- "$@" -U "$AIPROXY_USER" -G "$AIPROXY_SOCKET_GROUP"
		fi
		chmod 0750 "$dir"
		set -- "$@" -s "$AIPROXY_LISTEN" -M 0660
		;;
	127.0.0.1:*|localhost:*)
		set -- "$@" -a 127.0.0.1 -p "${AIPROXY_LISTEN##*:}"
		;;
	*)
		echo "AIPROXY_LISTEN: give a socket path or 127.0.0.1:PORT" >&2
		exit 2
		;;
	esac
	# shellcheck disable=SC2016 # $0 and $1 expand in the child's sh
	exec spawn-fcgi "$@" -- /bin/sh -c 'exec "$0" 2>>"$1"' \
	    "$AIPROXY_BIN" "$AIPROXY_LOG"
}

stop() {
	[ -f "$AIPROXY_PIDFILE" ] || return 0
	# SIGTERM: each process stops accepting and lets its streams finish
	while read -r pid; do
		kill -TERM "$pid" 2>/dev/null || :
	done < "$AIPROXY_PIDFILE"
	rm -f "$AIPROXY_PIDFILE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
