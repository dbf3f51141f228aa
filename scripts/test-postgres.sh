#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the team-ledger tests: Debian's server, run as the `postgres`
# account, listening only on a Unix socket in a fresh temporary directory. Run as root.
#
#   eval "$(scripts/test-postgres.sh start)"   # starts it; prints the exports the tests read
#   swift test --filter WPKPostgresTests
#   scripts/test-postgres.sh restart "$WPK_TEST_PG_DIR"   # as its administrator would (pg_ctl -m fast)
#   scripts/test-postgres.sh stop "$WPK_TEST_PG_DIR"
#
# The local `postgres` account authenticates by peer (as `wpk approvals init` expects); every other
# role needs its password (scram-sha-256), as a client on another host would, including the
# superuser `wpk_test_admin` the in-process tests use (its password in DIR/admin-password).
set -euo pipefail

# The server must not inherit the caller's descriptors: a test process waits for its pipes to
# close, and a server holding one open would keep it waiting after the test ended.
for fd in $(ls /proc/$$/fd); do
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

server_bin() {
    # Debian's layout, newest major version first; never a server from elsewhere on PATH.
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V | tail -1
}

case "${1:-}" in
start)
    bin=$(server_bin)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
        bin=$(server_bin)
    fi
    id postgres >/dev/null 2>&1 || { echo "no postgres account after installing postgresql" >&2; exit 1; }
    dir=$(mktemp -d /tmp/wpk-pg.XXXXXX)
    chown postgres: "$dir"
    chmod 0755 "$dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --no-sync \
        --auth-local=peer --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    # Clients other than the administrator sign in with a password, also over the socket.
    cat >"$dir/data/pg_hba.conf" <<HBA
local all postgres peer
local all all scram-sha-256
HBA
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c port=5432 -c max_connections=200" >&2 ||
        { cat "$dir/server.log" >&2; exit 1; }
    # An administrator that signs in with a password, for tests running many threads at once
    # (peer authentication needs the whole process to act as postgres for a moment).
    admin_password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    (umask 077 && echo "$admin_password" >"$dir/admin-password")
    echo "CREATE ROLE wpk_test_admin LOGIN SUPERUSER PASSWORD '$admin_password';" |
        runuser -u postgres -- psql -q -h "$dir" -d postgres -v ON_ERROR_STOP=1 -f - >&2
    echo "export WPK_TEST_PG_DIR='$dir'"
    echo "export WPK_TEST_PG_ADMIN_PASSWORD_FILE='$dir/admin-password'"
    echo "export WPK_TEST_PG_SOCKET_DIR='$dir'"
    echo "export WPK_TEST_PG_BIN='$bin'"
    ;;
restart)
    dir=${2:?usage: test-postgres.sh restart DIR}
    bin=$(server_bin)
    case "$dir" in /tmp/wpk-pg.*) ;; *) echo "not a test cluster: $dir" >&2; exit 2 ;; esac
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart </dev/null >/dev/null 2>&1
    ;;
stop)
    dir=${2:?usage: test-postgres.sh stop DIR}
    bin=$(server_bin)
    case "$dir" in /tmp/wpk-pg.*) ;; *) echo "not a test cluster: $dir" >&2; exit 2 ;; esac
    if [ -f "$dir/data/postmaster.pid" ]; then
        runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: test-postgres.sh start | restart DIR | stop DIR" >&2
    exit 2
    ;;
esac
