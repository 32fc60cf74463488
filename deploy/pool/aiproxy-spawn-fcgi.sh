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
#
# Directories: the socket's and the log's directory belong to the service
# user (AIPROXY_USER as root, else you). The script creates each one that
# is missing (its parent must exist or is created 0755) and only then sets
# its owner and mode. An existing one that belongs to the service user is
# used as it is. An existing one that belongs to anybody else (/tmp,
# /run, /var/log, ...) is refused before anything changes: the script
# never chowns or chmods a directory it did not create. So give the
# socket and the log a directory of their own (the defaults below).
# The config holds every key: readable by AIPROXY_USER only, i.e.
# root:aiproxy 0640 (make install AIPROXY_USER=aiproxy) or aiproxy 0600.
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

die() { echo "aiproxy-spawn-fcgi.sh: $*" >&2; exit 1; }

# check_dir DIR VAR: refuse an existing DIR that the service user does
# not own (nothing has been changed yet when this runs).
check_dir() {
	if [ ! -e "$1" ] && [ ! -L "$1" ]; then
		return 0
	fi
	[ -d "$1" ] || die "$2: $1 is not a directory"
	uid=$(stat -L -c %u "$1")
	[ "$uid" = "$owner_uid" ] && return 0
	die "$2: $1 exists and belongs to uid $uid, not to $owner." \
	    "Refusing to change the owner or mode of a directory this script" \
	    "did not create. Point $2 into a directory of its own (e.g." \
	    "/run/aiproxy/app.sock, /var/log/aiproxy/aiproxy.log): the script" \
	    "creates it; or give that directory to $owner yourself."
}

# make_dir DIR MODE [GROUP]: create a missing DIR for the service user.
# An existing DIR passed check_dir and is left exactly as it is.
make_dir() {
	[ -d "$1" ] && return 0
	(umask 022 && mkdir -p "$(dirname "$1")")
	mkdir -m "$2" "$1"
	if [ "$(id -u)" = 0 ]; then
		chown "$AIPROXY_USER${3:+:$3}" "$1"
	fi
}

start() {
	"$AIPROXY_BIN" --check-config "$AIPROXY_CONFIG" >/dev/null
	umask 077
	if [ "$(id -u)" = 0 ]; then
		owner=$AIPROXY_USER
	else
		owner=$(id -un)
	fi
	owner_uid=$(id -u "$owner") || die "AIPROXY_USER $owner does not exist"
	sockdir=
	case "$AIPROXY_LISTEN" in
	/*) sockdir=$(dirname "$AIPROXY_LISTEN") ;;
	127.0.0.1:*|localhost:*) ;;
	*)
		echo "AIPROXY_LISTEN: give a socket path or 127.0.0.1:PORT" >&2
		exit 2
		;;
	esac
	logdir=$(dirname "$AIPROXY_LOG")
	# every check before any change: a refusal leaves everything as it was
	if [ -n "$sockdir" ]; then
		check_dir "$sockdir" AIPROXY_LISTEN
	fi
	check_dir "$logdir" AIPROXY_LOG

	set -- -F "$AIPROXY_PROCS" -P "$AIPROXY_PIDFILE"
	if [ "$(id -u)" = 0 ]; then
		set -- "$@" -u "$AIPROXY_USER"
	fi
	if [ -n "$sockdir" ]; then
		# 0750: the web server's group may reach the socket, nobody else
		make_dir "$sockdir" 0750 "$AIPROXY_SOCKET_GROUP"
		if [ "$(id -u)" = 0 ]; then
			set -- "$@" -U "$AIPROXY_USER" -G "$AIPROXY_SOCKET_GROUP"
		fi
		set -- "$@" -s "$AIPROXY_LISTEN" -M 0660
	else
		set -- "$@" -a 127.0.0.1 -p "${AIPROXY_LISTEN##*:}"
	fi
	make_dir "$logdir" 0700
	# The pid file is written by the caller (root) before spawn-fcgi drops
	# privileges: a missing directory is created as the caller's, 0700.
	mkdir -p "$(dirname "$AIPROXY_PIDFILE")"
	# shellcheck disable=SC2016 # $0 and $1 expand in the child's sh
	exec spawn-fcgi "$@" -- /bin/sh -c 'exec "$0" 2>>"$1"' \
	    "$AIPROXY_BIN" "$AIPROXY_LOG"
}

# SIGTERM to the PIDs in the pid file: each process stops accepting and
# lets its streams finish. Only processes that run AIPROXY_BIN are
# signalled: the pid file may sit in a directory the service user owns,
# and root must not kill whatever PID it was made to hold.
stop() {
	[ -f "$AIPROXY_PIDFILE" ] || return 0
	bin=$(readlink -f "$AIPROXY_BIN") || bin=$AIPROXY_BIN
	while read -r pid; do
		case "$pid" in
		''|*[!0-9]*) continue ;;
		esac
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		case "$exe" in
		"$bin"|"$bin (deleted)") kill -TERM "$pid" 2>/dev/null || : ;;
		*) echo "aiproxy-spawn-fcgi.sh: pid $pid runs $exe, not" \
		    "$AIPROXY_BIN: not signalled" >&2 ;;
		esac
	done < "$AIPROXY_PIDFILE"
	rm -f "$AIPROXY_PIDFILE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
