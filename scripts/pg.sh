# shellcheck shell=bash
# Sourced by scripts/run and scripts/test: makes sure a PostgreSQL is
# reachable and exports DATABASE_URL for it.
#
#   1. DATABASE_URL, when set, is used as it is (and must answer).
#   2. Else a server on localhost:5432 (user postgres, then the current user).
#   3. Else a throwaway cluster made with initdb/pg_ctl under a temp dir,
#      stopped and removed when the calling script exits.
# When none can be had it fails, saying what to install or set.

kaiku_pg_die() {
	echo "kaiku: $*" >&2
	exit 1
}

kaiku_pg_answers() { # url
	if command -v psql >/dev/null 2>&1; then
		PGCONNECT_TIMEOUT=3 psql "$1" -XAtqc 'select 1' >/dev/null 2>&1
	elif command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -d "$1" -t 3
	else
		# No client tools: try the TCP port only.
		(exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
	fi
}

kaiku_pg_bin() { # name → path of a PostgreSQL server binary
	if command -v "$1" >/dev/null 2>&1; then
		command -v "$1"
		return
	fi
	local d
	for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin /opt/homebrew/opt/postgresql*/bin /usr/local/opt/postgresql*/bin; do
		[ -x "$d/$1" ] && { echo "$d/$1"; return; }
	done
	return 1
}

kaiku_pg_start_temp() {
	local initdb pg_ctl
	initdb=$(kaiku_pg_bin initdb) && pg_ctl=$(kaiku_pg_bin pg_ctl) ||
		kaiku_pg_die "no PostgreSQL found: DATABASE_URL is unset, nothing answers on localhost:5432, and initdb/pg_ctl are not installed.
Fix one of:
  - set DATABASE_URL=postgres://user@host:5432/db to a server you have, or
  - start PostgreSQL on localhost:5432 (e.g. 'sudo systemctl start postgresql'), or
  - install the server so a throwaway one can be started: 'sudo apt-get install postgresql' (Debian/Ubuntu) or 'brew install postgresql@15' (macOS)."
	KAIKU_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kaiku-pg.XXXXXX")
	local port=${KAIKU_PG_PORT:-54329}
	local as=()
	if [ "$(id -u)" = 0 ]; then
		# initdb refuses to run as root; use an unprivileged account.
		local u
		for u in postgres nobody; do
			if id "$u" >/dev/null 2>&1; then as=(runuser -u "$u" --); break; fi
		done
		[ ${#as[@]} -gt 0 ] || kaiku_pg_die "running as root and no 'postgres' or 'nobody' user to run initdb as: run as a normal user or set DATABASE_URL"
		chown "${as[2]}" "$KAIKU_PG_DIR"
	fi
	echo "kaiku: no PostgreSQL reachable; starting a throwaway cluster in $KAIKU_PG_DIR on port $port" >&2
	"${as[@]}" "$initdb" -D "$KAIKU_PG_DIR/data" -U postgres -A trust --no-sync >"$KAIKU_PG_DIR/initdb.log" 2>&1 ||
		kaiku_pg_die "initdb failed (log: $KAIKU_PG_DIR/initdb.log)"
	"${as[@]}" "$pg_ctl" -D "$KAIKU_PG_DIR/data" -l "$KAIKU_PG_DIR/server.log" -w -t 60 \
		-o "-p $port -k $KAIKU_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >/dev/null ||
		kaiku_pg_die "the throwaway PostgreSQL did not start (log: $KAIKU_PG_DIR/server.log); port $port may be taken: set KAIKU_PG_PORT"
	KAIKU_PG_STOP=("${as[@]}" "$pg_ctl" -D "$KAIKU_PG_DIR/data" -m fast stop)
	trap 'kaiku_pg_stop_temp' EXIT
	export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

kaiku_pg_stop_temp() {
	if [ -n "${KAIKU_PG_DIR:-}" ]; then
		"${KAIKU_PG_STOP[@]}" >/dev/null 2>&1 || true
		rm -rf "$KAIKU_PG_DIR"
	fi
}

kaiku_pg_ensure() {
	if [ -n "${DATABASE_URL:-}" ]; then
		kaiku_pg_answers "$DATABASE_URL" ||
			kaiku_pg_die "DATABASE_URL is set but PostgreSQL does not answer there. Fix: start that server, correct DATABASE_URL, or unset it to let the script find or start one."
		return
	fi
	if [ "${KAIKU_PG_TEMP:-}" != 1 ]; then
		local u
		for u in "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" "postgres://$(id -un)@127.0.0.1:5432/postgres?sslmode=disable"; do
			if kaiku_pg_answers "$u"; then
				export DATABASE_URL="$u"
				return
			fi
		done
	fi
	kaiku_pg_start_temp
}
