#!/bin/sh
# Runs govulncheck (a tool in go.mod) on Flare's packages against the Go
# vulnerability database, or says plainly that the database cannot be
# reached and exits 2, having checked nothing: a check that could not run
# must never read as a pass.
#
#   VULNDB  the database: https://vuln.go.dev (the default), or a local
#           copy as file:///path (a directory holding index/db.json)
#   PKGS    the packages to check (default ./...)
#   GO      the go command (default go)
set -eu
db="${VULNDB:-https://vuln.go.dev}"
pkgs="${PKGS:-./...}"
go="${GO:-go}"

unreachable() {
	echo "vulncheck: cannot reach the Go vulnerability database at $db: $1" >&2
	echo "vulncheck: NOTHING WAS CHECKED. Run 'make vulncheck' where $db is reachable, or point VULNDB at a local copy of the database (VULNDB=file:///path/to/vulndb make vulncheck)." >&2
	exit 2
}

case "$db" in
file://*)
	dir="${db#file://}"
	[ -f "$dir/index/db.json" ] || unreachable "no index/db.json in $dir"
	;;
http://* | https://*)
	if ! err=$(curl -fsS --max-time 15 -o /dev/null "$db/index/db.json" 2>&1); then
		unreachable "$err"
	fi
	;;
*)
	unreachable "VULNDB must be an http(s):// or file:// URL"
	;;
esac

# govulncheck exits 3 when it finds a vulnerability that Flare's code
# reaches, 0 when it finds none.
exec "$go" tool govulncheck -db "$db" $pkgs
