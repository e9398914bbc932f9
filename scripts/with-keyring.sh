#!/bin/sh
# with-keyring.sh CMD [ARG...]
#
# Runs CMD against a real, private Secret Service: a fresh D-Bus session
# (dbus-run-session) with gnome-keyring-daemon started and unlocked inside
# it, HOME and the XDG directories pointing at a temporary directory (so the
# user's own keyring is never touched), and MAILPORT_TEST_KEYRING=1 so the
# keyring tests in pkg/secret use it instead of go-keyring's mock.
#
#   scripts/with-keyring.sh go test ./pkg/secret/ -run Keyring -count=1 -v
#
# Needs the Debian packages dbus, gnome-keyring and (for the secret-tool
# cross-check) libsecret-tools. Exits with CMD's status.
set -eu

if [ "$#" -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$0: $tool not found; install the Debian packages dbus and gnome-keyring (and libsecret-tools)" >&2
		exit 2
	fi
done

# Go keeps its caches and settings under HOME; pin them before HOME moves so
# the command neither rebuilds everything nor loses GOFLAGS/GOPROXY settings.
if command -v go >/dev/null 2>&1; then
	GOCACHE=$(go env GOCACHE)
	GOMODCACHE=$(go env GOMODCACHE)
	GOPATH=$(go env GOPATH)
	GOENV=$(go env GOENV)
	export GOCACHE GOMODCACHE GOPATH GOENV
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mailport-keyring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/home" "$tmp/config" "$tmp/data" "$tmp/cache" "$tmp/runtime"
chmod 700 "$tmp/runtime"

HOME="$tmp/home"
XDG_CONFIG_HOME="$tmp/config"
XDG_DATA_HOME="$tmp/data"
XDG_CACHE_HOME="$tmp/cache"
XDG_RUNTIME_DIR="$tmp/runtime"
MAILPORT_TEST_KEYRING=1
export HOME XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_RUNTIME_DIR MAILPORT_TEST_KEYRING
# A desktop session's variables would point the command at the user's own bus.
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL

status=0
dbus-run-session -- sh -eu -c '
	# --unlock reads the password of the login keyring on stdin and creates
	# that keyring on first use; it prints NAME=VALUE lines to export.
	out=$(printf %s mailport-test | gnome-keyring-daemon --unlock --components=secrets)
	set -f
	ifs=$IFS
	IFS="
"
	for line in $out; do
		case $line in
		[A-Z]*=*) export "$line" ;;
		esac
	done
	IFS=$ifs
	set +f
	"$@"
' with-keyring "$@" || status=$?
exit "$status"
