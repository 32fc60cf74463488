#!/bin/sh
# deps.sh -- make sure the Debian packages named on the command line are
# installed. As root it installs what is missing with apt-get (after one
# `apt-get update`), keeping package init scripts from starting daemons
# (no lighttpd/nginx/apache on port 80). Otherwise it prints the command.
# An argument CMD:PKG means "PKG, unless the command CMD is already on the
# PATH" (a Node.js from elsewhere conflicts with Debian's npm package).
set -eu
missing=""
for arg in "$@"; do
	p=${arg#*:}
	case "$arg" in
	*:*) command -v "${arg%%:*}" >/dev/null 2>&1 && continue ;;
	esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing" >&2
	echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
exit 0
