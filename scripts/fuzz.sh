#!/bin/sh
# fuzz.sh [PACKAGE...]
#
# Runs every fuzz target (func FuzzXxx(f *testing.F)) of the repository, or
# of the packages given (e.g. ./pkg/pop3), each for FUZZTIME (default 10s),
# one after the other. Targets are found afresh on each run: the packages
# whose _test.go files declare a Fuzz function, then `go test -list` for
# their exact names (so build tags are honoured). A failing target does not
# stop the others; the script ends with the list of failures and exits 1 if
# there was any. Go writes each failing input under the package's
# testdata/fuzz/FuzzXxx/: commit it with the fix, so `go test` (and
# `make test`) replays it from then on.
#
#   scripts/fuzz.sh                       every target, 10s each
#   FUZZTIME=2m scripts/fuzz.sh ./pkg/store
#   FUZZTIME=1000x scripts/fuzz.sh        a number of runs instead of a time
set -eu

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
	set -- .
fi
dirs=$(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_][A-Za-z0-9_]*\(' "$@" 2>/dev/null |
	grep -v -e '/vendor/' -e '/testdata/' | xargs -r -n1 dirname | sort -u)
if [ -z "$dirs" ]; then
	echo "fuzz.sh: no fuzz targets under $*" >&2
	exit 1
fi

total=0
failed=""
for d in $dirs; do
	case $d in ./*|/*) pkg=$d ;; *) pkg=./$d ;; esac
	if ! names=$($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz'); then
		echo "fuzz.sh: $pkg: go test -list found no fuzz target (or did not build)" >&2
		failed="$failed $pkg"
		continue
	fi
	for name in $names; do
		total=$((total + 1))
		echo "== $pkg $name ($FUZZTIME)"
		if ! $GO test -run='^$' -fuzz="^$name\$" -fuzztime="$FUZZTIME" "$pkg"; then
			failed="$failed $pkg:$name"
		fi
	done
done

if [ -n "$failed" ]; then
	echo "fuzz.sh: $total targets, these failed:" >&2
	for f in $failed; do echo "  $f" >&2; done
	echo "fuzz.sh: the failing inputs are under each package's testdata/fuzz/" >&2
	exit 1
fi
echo "fuzz.sh: $total targets, none failed ($FUZZTIME each)"
