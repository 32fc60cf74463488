#!/bin/sh
# install.sh -- `make install`: the binary, a sample config, the deploy
# recipes and the state directory, with safe permissions.
# Usage: sh deploy/install.sh DESTDIR PREFIX   (the Makefile passes
# "$(DESTDIR)" "$(PREFIX)"; an empty PREFIX means /usr/local).
# Environment: AIPROXY_BIN (default cgi/aiproxy), AIPROXY_USER and
# AIPROXY_GROUP (optional: the responders' user, who then owns the state
# dir and may read the config; AIPROXY_GROUP defaults to its primary group).
# Never: overwrites an existing config, starts or reloads anything, or
# makes the state dir readable by anyone but its owner.
set -eu
DESTDIR=${1:-}
PREFIX=${2:-/usr/local}
here=$(cd "$(dirname "$0")" && pwd)
bin=${AIPROXY_BIN:-$here/../cgi/aiproxy}
user=${AIPROXY_USER:-}
group=${AIPROXY_GROUP:-}

die() { echo "install.sh: $*" >&2; exit 1; }

case "$PREFIX" in
/*) ;;
*) die "PREFIX must be an absolute path, got '$PREFIX'" ;;
esac
case "$PREFIX" in
*[\#\&\\]*) die "PREFIX must not contain #, & or \\" ;;
esac
[ -x "$bin" ] || die "$bin is missing: run make first"
if [ -n "$user" ]; then
	id -u "$user" >/dev/null 2>&1 || die "AIPROXY_USER $user does not exist"
	[ -n "$group" ] || group=$(id -gn "$user")
fi

libdir=$DESTDIR$PREFIX/lib/aiproxy
bindir=$DESTDIR$PREFIX/bin
share=$DESTDIR$PREFIX/share/aiproxy
etc=$DESTDIR/etc/aiproxy
state=$DESTDIR/var/lib/aiproxy

umask 022
install -d -m 0755 "$libdir" "$bindir" "$share"
install -m 0755 "$bin" "$libdir/aiproxy"
ln -sf ../lib/aiproxy/aiproxy "$bindir/aiproxy"

# The recipes name /usr/local paths; rewrite them for this PREFIX.
# (run-local.sh and lighttpd-local.conf are `make run` only, not recipes.)
for p in "$here"/README.md "$here"/config.sample.json "$here"/lighttpd/*.conf \
    "$here"/apache/*.conf "$here"/nginx/*.conf "$here"/pool/* \
    "$here"/shared-hosting/*; do
	f=${p#"$here"/}
	mode=0644
	[ -x "$p" ] && mode=0755
	install -d -m 0755 "$share/$(dirname "$f")"
	sed "s#/usr/local/#$PREFIX/#g" "$p" > "$share/$f.tmp"
	chmod "$mode" "$share/$f.tmp"
	mv -f "$share/$f.tmp" "$share/$f"
done

# The config holds the access key and every provider key: never
# world-readable; the responders' group may read it.
if [ ! -e "$etc/config.json" ]; then
	install -d -m 0750 "$etc"
	install -m 0640 "$here/config.sample.json" "$etc/config.json"
	if [ -n "$group" ]; then
		chgrp "$group" "$etc" "$etc/config.json"
	fi
	echo "installed $etc/config.json: put your keys in it"
else
	echo "kept the existing $etc/config.json"
fi

# State (LMDB): the responders' user only.
install -d -m 0700 "$state"
chmod 0700 "$state"
if [ -n "$user" ]; then
	chown "$user:$group" "$state"
else
	echo "chown $state to the user the responders run as" \
	    "(or rerun with AIPROXY_USER=...)"
fi
echo "installed $libdir/aiproxy, recipes in $share"
