#!/bin/sh
# aiproxy.cgi -- shared-hosting entry, the only file in the web directory.
# It runs the real binary, config and state from a directory outside the
# web root, so neither the keys nor the state can ever be downloaded.
# Edit AIPROXY_HOME to that directory (an absolute path: CGI and suexec do
# not pass $HOME); the layout is in deploy/README.md, Shared hosting.
# Works as CGI and under mod_fcgid (exec keeps the FastCGI socket on fd 0).
# The exec line passes no arguments, on purpose: Apache's CGI modules turn
# a query string without "=" into command-line arguments (RFC 3875 4.4),
# so ?--listen+/some/path must never reach the binary. Never add "$@".
# config.json: chmod 600, owned by your account; suexec runs this script
# (and so the proxy) as you, and no other account can read the keys.
AIPROXY_HOME=/home/USER/aiproxy
AIPROXY_CONFIG=$AIPROXY_HOME/config.json
export AIPROXY_CONFIG
# Files the proxy creates (state): owner only.
umask 077
cd "$AIPROXY_HOME" || exit 1
exec "$AIPROXY_HOME/aiproxy"
