#!/usr/bin/env bash
# make vuln: govulncheck at a pinned version over every package, with the
# official database when vuln.go.dev answers, else with a local copy built
# from the golang.org/x/vulndb module (which the Go module proxy serves), and
# says which it used. It fails on any called vulnerability except the ones
# listed in ACCEPTED, each explained in SECURITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."

GOVULNCHECK_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018 # the database as of 2026-11-05
ACCEPTED="GO-2024-3218" # kad-dht content censorship: no fixed version exists; see SECURITY.md

export GOTOOLCHAIN=auto
bin="$PWD/.cache/bin"
mkdir -p "$bin"
if ! "$bin/govulncheck" -version 2>/dev/null | grep -q "govulncheck@$GOVULNCHECK_VERSION"; then
	GOFLAGS= GOBIN="$bin" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
fi

db=()
if curl -fsS --max-time 10 -o /dev/null https://vuln.go.dev/index/db.json 2>/dev/null; then
	echo "vuln: using the official database at https://vuln.go.dev"
else
	local_db="$PWD/.cache/vulndb-$VULNDB_VERSION"
	if [ ! -f "$local_db/index/db.json" ]; then
		src=$(GOFLAGS= go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
		rm -rf "$local_db.tmp"
		(cd "$(mktemp -d)" && GOFLAGS= go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$local_db.tmp")
		mv "$local_db.tmp" "$local_db"
	fi
	echo "vuln: vuln.go.dev is unreachable; using a local database built from golang.org/x/vulndb@$VULNDB_VERSION (2026-11-05)"
	db=(-db "file://$local_db")
fi

out=$("$bin/govulncheck" "${db[@]}" ./... 2>&1) && status=0 || status=$?
echo "$out"
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
	echo "vuln: govulncheck failed (exit $status)" >&2
	exit "$status"
fi
found=$(echo "$out" | sed -n 's/^Vulnerability #[0-9]*: \(GO-[0-9]*-[0-9]*\)$/\1/p' | sort -u)
unexpected=""
for id in $found; do
	case " $ACCEPTED " in
	*" $id "*) echo "vuln: $id is called but accepted (no fix exists; see SECURITY.md)" ;;
	*) unexpected="$unexpected $id" ;;
	esac
done
if [ -n "$unexpected" ]; then
	echo "vuln: called vulnerabilities to fix:$unexpected" >&2
	exit 1
fi
echo "vuln: no called vulnerability beyond the accepted ones"
