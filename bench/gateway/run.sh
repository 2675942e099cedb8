#!/usr/bin/env bash
# Gateway benchmark, all in one run on this machine:
#   pgbench -S (select-only) three ways — direct to PostgreSQL, through idcgate,
#   through PgBouncer (session mode) — and a connect-rate run (pgbench -C):
#   a token login through idcgate against a password login straight to PostgreSQL.
# Prints TPS and the ratios against the targets of docs/PERFORMANCE.md.
#
# Needs Debian's postgresql (server + pgbench) and pgbouncer; Go for idcgate.
# Knobs: BENCH_SECONDS (30), BENCH_CLIENTS (8), BENCH_THREADS (2), BENCH_SCALE (10);
# BENCH_ROUNDS (1): runs the three select-only paths that many times, interleaved,
# and judges their medians (this kind of VM drifts by tens of percent minute to minute);
# BENCH_PROFILE=FILE writes idcgate's CPU profile of its (first) select-only run there.
set -euo pipefail

secs=${BENCH_SECONDS:-30}
rounds=${BENCH_ROUNDS:-1}
clients=${BENCH_CLIENTS:-8}
threads=${BENCH_THREADS:-2}
scale=${BENCH_SCALE:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed (apt-get install pgbouncer)"; exit 1; }

work=$(mktemp -d /tmp/idcgate-bench.XXXXXX)
chmod 755 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(free_port); gwport=$(free_port); apiport=$(free_port); bport=$(free_port); pprofport=$(free_port)

cleanup() {
  set +e
  [ -n "${idc_pid:-}" ] && kill "$idc_pid" 2>/dev/null
  [ -n "${bouncer_pid:-}" ] && kill "$bouncer_pid" 2>/dev/null
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

echo "== setting up PostgreSQL, idcgate and PgBouncer in $work"
mkdir -p "$work/pg" && [ "$(id -u)" = 0 ] && chown postgres:postgres "$work" "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --no-sync >/dev/null
cat > "$work/hba" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
cp "$work/hba" "$work/pg/pg_hba.conf"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg/pg_hba.conf"
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB" start >/dev/null
psql_su() { "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pgport" -U postgres "$@"; }
psql_su -d postgres -c "CREATE DATABASE dev"
psql_su -d dev -c "CREATE ROLE bench LOGIN PASSWORD 'benchpw'" -c "CREATE ROLE \"AWSIDC:analysts\" NOLOGIN"
PGPASSWORD=benchpw "$pgbin/pgbench" -q -i -s "$scale" -h 127.0.0.1 -p "$pgport" -U bench dev >/dev/null 2>&1 || \
  { psql_su -d dev -c "GRANT ALL ON SCHEMA public TO bench"; PGPASSWORD=benchpw "$pgbin/pgbench" -q -i -s "$scale" -h 127.0.0.1 -p "$pgport" -U bench dev >/dev/null 2>&1; }
psql_su -d dev -c "GRANT USAGE ON SCHEMA public TO \"AWSIDC:analysts\"" -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"AWSIDC:analysts\""

(cd "$root" && go build -o "$work/idcgate" ./cmd/idcgate)
IDCGATE_PG_UPSTREAM="postgres://postgres@127.0.0.1:$pgport/dev?sslmode=disable" IDCGATE_PG_INSECURE=true \
  "$work/idcgate" serve --config "$root/examples/idcgate.yaml" --data-dir "$work/data" \
  --listen "127.0.0.1:$apiport" --pg-listen "127.0.0.1:$gwport" --pprof-listen "127.0.0.1:$pprofport" --log-level warn > "$work/idcgate.log" 2>&1 &
idc_pid=$!
for _ in $(seq 100); do [ -f "$work/data/credentials" ] && curl -s "http://127.0.0.1:$apiport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$work/pgbouncer.ini" <<INI
[databases]
dev = host=127.0.0.1 port=$pgport dbname=dev
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = plain
auth_file = $work/userlist.txt
pool_mode = session
max_client_conn = 500
default_pool_size = 50
logfile = $work/pgbouncer.log
INI
echo '"bench" "benchpw"' > "$work/userlist.txt"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pgbouncer.ini" "$work/userlist.txt"
as_pg pgbouncer "$work/pgbouncer.ini" >/dev/null 2>&1 &
bouncer_pid=$!
sleep 0.5

# An identity-enhanced session for alice (the example's app user signs), then her token.
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE
eval "$("$work/idcgate" login --user alice --config "$root/examples/idcgate.yaml" --endpoint "http://127.0.0.1:$apiport" --admin-credentials-file "$work/data/credentials")"
token=$("$work/idcgate" token get --workgroup demo --endpoint "http://127.0.0.1:$apiport")

export PGSSLMODE=disable   # the same plaintext transport for all three
run() { # name port user password extra-args...
  local name=$1 port=$2 user=$3 pw=$4; shift 4
  local out tps
  out=$(PGPASSWORD=$pw "$pgbin/pgbench" -n -S -c "$clients" -j "$threads" -T "$secs" -h 127.0.0.1 -p "$port" -U "$user" "$@" dev 2>&1) || { echo "$out" >&2; exit 1; }
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
  printf '%-38s %10.1f tps\n' "$name" "$tps" >&2
  echo "$tps"
}
echo "== pgbench -S -c $clients -j $threads -T $secs (scale $scale), $(nproc) cores"
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
ds=(); is=(); bs=()
for round in $(seq "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "-- round $round of $rounds" >&2
  ds+=("$(run "direct to PostgreSQL" "$pgport" bench benchpw)")
  if [ -n "${BENCH_PROFILE:-}" ] && [ "$round" = 1 ]; then
    (sleep 1; curl -s -o "$BENCH_PROFILE" "http://127.0.0.1:$pprofport/debug/pprof/profile?seconds=$((secs > 3 ? secs - 2 : 1))") &
    prof_pid=$!
  fi
  is+=("$(run "through idcgate (token login)" "$gwport" alice "$token")")
  [ -n "${prof_pid:-}" ] && wait "$prof_pid" && echo "   (idcgate CPU profile: $BENCH_PROFILE)" >&2 && prof_pid=
  bs+=("$(run "through PgBouncer (session mode)" "$bport" bench benchpw)")
done
direct=$(median "${ds[@]}"); idc=$(median "${is[@]}"); bouncer=$(median "${bs[@]}")
if [ "$rounds" -gt 1 ]; then
  printf '%-38s %10.1f tps\n' "median, direct" "$direct" "median, through idcgate" "$idc" "median, through PgBouncer" "$bouncer" >&2
fi
echo "== connect rate: pgbench -S -C (a new connection per transaction)"
cdirect=$(run "direct, password login" "$pgport" bench benchpw -C)
cidc=$(run "idcgate, token login" "$gwport" alice "$token" -C)

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
verdict() { python3 -c "print('met' if $1/$2 >= $3 else 'NOT met')"; }
echo
echo "== ratios (targets)"
echo "idcgate / direct    select-only : $(ratio "$idc" "$direct")  (>= 0.90: $(verdict "$idc" "$direct" 0.9))"
echo "idcgate / PgBouncer select-only : $(ratio "$idc" "$bouncer")  (>= 1.00: $(verdict "$idc" "$bouncer" 1.0))"
echo "idcgate / direct    connect rate: $(ratio "$cidc" "$cdirect")  (>= 0.80: $(verdict "$cidc" "$cdirect" 0.8))"
