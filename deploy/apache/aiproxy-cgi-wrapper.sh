#!/bin/sh
# aiproxy-cgi-wrapper.sh -- the plain-CGI entry point for Apache
# (apache/aiproxy-cgid.conf points ScriptAlias here, never at the binary).
# make install puts it next to the binary, in /usr/local/lib/aiproxy/.
#
# Why a wrapper: Apache's mod_cgi and mod_cgid pass a query string that
# holds no "=" to the program as command-line arguments, split on "+"
# (RFC 3875 section 4.4). With the binary as the script,
#   GET /v1/models?--listen+/var/lib/aiproxy/ledger/lock.mdb
# would run "aiproxy --listen /var/lib/aiproxy/ledger/lock.mdb", without
# any access key. This script runs the binary with no arguments at all,
# whatever the URL holds. (The binary also ignores its arguments when it
# sees a CGI environment; the wrapper keeps an older or patched binary
# safe as well.) Never add "$@" to the exec line.
#
# AIPROXY_CONFIG comes from the recipe's SetEnv. Files the proxy creates
# (the state) are owner-only: umask 077.
umask 077
exec /usr/local/lib/aiproxy/aiproxy
