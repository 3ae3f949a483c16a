#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the store tests.
#
#   url=$(store/testdata/pg.sh start)     # prints postgres://...; the cluster lives in /tmp/lrkit-pg-PORT
#   LRKIT_TEST_POSTGRES=$url go test ./store/...
#   store/testdata/pg.sh stop "$url"      # stops it and removes its directory
#
# Or let the tests do it: LRKIT_TEST_POSTGRES=auto go test ./store/... runs
# "pg.sh start" before the tests and "pg.sh stop" after them.
#
# Installs Debian's postgresql if initdb is missing (needs root and apt).
# The server runs as the postgres user when started by root (PostgreSQL
# refuses to run as root), as the calling user otherwise; it listens on
# 127.0.0.1 only, on a free port from 25432 up, with trust authentication
# and fsync off: for tests, never for data.
set -euo pipefail

cmd=${1:-start}

find_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "$cmd" in
start)
	bin=$(find_bin)
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		echo "pg.sh: installing postgresql" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq postgresql >&2
		bin=$(find_bin)
	fi
	port=25432
	while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || [ -e /tmp/lrkit-pg-$port ]; do
		port=$((port + 1))
	done
	dir=/tmp/lrkit-pg-$port
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$dir"
	fi
	as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" \
		start >&2 || { cat "$dir/server.log" >&2; exit 1; }
	as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres lrkit_test
	echo "postgres://postgres@127.0.0.1:$port/lrkit_test?sslmode=disable"
	;;
stop)
	url=${2:?usage: pg.sh stop URL}
	port=$(echo "$url" | sed -E 's|.*@[^:/]+:([0-9]+)/.*|\1|')
	dir=/tmp/lrkit-pg-$port
	bin=$(find_bin)
	if [ -d "$dir/data" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: pg.sh start | pg.sh stop URL" >&2
	exit 2
	;;
esac
