#!/bin/sh
# install.sh -- `make install`: the binary, a sample config, the deploy
# recipes and the state directory, with safe permissions.
# Usage: sh deploy/install.sh DESTDIR PREFIX   (the Makefile passes
# "$(DESTDIR)" "$(PREFIX)"; an empty PREFIX means /usr/local).
# Environment: AIPROXY_BIN (default cgi/aiproxy), AIPROXY_USER and
# AIPROXY_GROUP (optional: the responders' user, who then owns the state
# dir and may read the config; AIPROXY_GROUP defaults to its primary group).
# Directories: install.sh sets the owner, group or mode only of a
# directory it creates. An existing directory is used as it is, except
# that one that already belongs to its intended owner is put back to its
# mode: /etc/aiproxy (the installing user's; 0750, group AIPROXY_GROUP)
# when a new config goes in, and the state dir (AIPROXY_USER's, or the
# installing user's without it; 0700). A new config is never put into an
# existing /etc/aiproxy that belongs to somebody else: install.sh refuses
# before it installs anything. An existing state dir of somebody else is
# left alone, with a message.
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
me=$(id -u)
want=$me	# who the state dir should belong to
if [ -n "$user" ]; then
	want=$(id -u "$user" 2>/dev/null) || die "AIPROXY_USER $user does not exist"
	[ -n "$group" ] || group=$(id -gn "$user")
fi

libdir=$DESTDIR$PREFIX/lib/aiproxy
bindir=$DESTDIR$PREFIX/bin
share=$DESTDIR$PREFIX/share/aiproxy
etc=$DESTDIR/etc/aiproxy
state=$DESTDIR/var/lib/aiproxy

uid_of() { stat -L -c %u "$1"; }

# newdir MODE DIR: create DIR (missing parents 0755) with MODE and succeed;
# fail, changing nothing, when DIR exists.
newdir() {
	if [ -d "$2" ]; then
		return 1
	fi
	if [ -e "$2" ] || [ -L "$2" ]; then
		die "$2 exists and is not a directory"
	fi
	mkdir -p "$(dirname "$2")" || die "cannot create $(dirname "$2")"
	mkdir -m "$1" "$2" || die "cannot create $2"
}

# Checks first: a refusal leaves everything as it was.
for d in "$etc" "$state"; do
	if [ -e "$d" ] && [ ! -d "$d" ]; then
		die "$d exists and is not a directory"
	fi
done
newconfig=no
if [ ! -e "$etc/config.json" ] && [ ! -L "$etc/config.json" ]; then
	newconfig=yes
	if [ -d "$etc" ] && [ "$(uid_of "$etc")" != "$me" ]; then
		die "$etc exists and belongs to uid $(uid_of "$etc"), not to" \
		    "you (uid $me): refusing to put the config, which holds" \
		    "every key, into a directory somebody else controls, and" \
		    "to change it. Find out who made it; then remove it or" \
		    "chown it to yourself, and run make install again."
	fi
fi

umask 022
for d in "$libdir" "$bindir" "$share"; do
	newdir 0755 "$d" || :
done
install -m 0755 "$bin" "$libdir/aiproxy"
ln -sf ../lib/aiproxy/aiproxy "$bindir/aiproxy"

# The recipes name /usr/local paths; rewrite them for this PREFIX.
# (run-local.sh and lighttpd-local.conf are `make run` only, not recipes.)
for p in "$here"/README.md "$here"/config.sample.json "$here"/lighttpd/*.conf \
    "$here"/apache/* "$here"/nginx/*.conf "$here"/pool/* \
    "$here"/shared-hosting/* "$here"/two-hosts/*; do
	f=${p#"$here"/}
	mode=0644
	[ -x "$p" ] && mode=0755
	newdir 0755 "$share/$(dirname "$f")" || :
	sed "s#/usr/local/#$PREFIX/#g" "$p" > "$share/$f.tmp"
	chmod "$mode" "$share/$f.tmp"
	mv -f "$share/$f.tmp" "$share/$f"
done
# The plain-CGI entry point lives next to the binary: apache/aiproxy-cgid.conf
# points ScriptAlias at it (never at the binary; see that file).
cp "$share/apache/aiproxy-cgi-wrapper.sh" "$libdir/aiproxy-cgi-wrapper.sh.tmp"
chmod 0755 "$libdir/aiproxy-cgi-wrapper.sh.tmp"
mv -f "$libdir/aiproxy-cgi-wrapper.sh.tmp" "$libdir/aiproxy-cgi-wrapper.sh"

# The config holds the access key and every provider key: never
# world-readable; the responders' group may read it.
if [ "$newconfig" = yes ]; then
	if newdir 0750 "$etc"; then
		:
	else
		# exists and belongs to the installing user (checked above)
		chmod 0750 "$etc"
	fi
	[ -z "$group" ] || chgrp "$group" "$etc"
	install -m 0640 "$here/config.sample.json" "$etc/config.json"
	[ -z "$group" ] || chgrp "$group" "$etc/config.json"
	echo "installed $etc/config.json: put your keys in it"
else
	echo "kept the existing $etc/config.json"
fi

# State (LMDB): the responders' user only.
if newdir 0700 "$state"; then
	if [ -n "$user" ]; then
		chown "$user:$group" "$state"
	else
		echo "chown $state to the user the responders run as" \
		    "(or remove it and rerun with AIPROXY_USER=...)"
	fi
elif [ "$(uid_of "$state")" = "$want" ]; then
	chmod 0700 "$state"
else
	echo "left the existing $state as it is: it belongs to uid" \
	    "$(uid_of "$state"), not to ${user:-you} (uid $want). It must" \
	    "belong to the responders' user, mode 0700: chown and chmod it" \
	    "yourself if that is wrong."
fi
echo "installed $libdir/aiproxy, recipes in $share"
