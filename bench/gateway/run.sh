#!/usr/bin/env bash
# Gateway benchmark, all in one run on this machine:
#   pgbench -S (select-only) three ways — direct to PostgreSQL, through idcgate,
#   through PgBouncer (session mode) — and a connect-rate run (pgbench -C):
#   a token login through idcgate against a password login straight to PostgreSQL.
# Prints TPS and the ratios against the targets of docs/PERFORMANCE.md.
#
# Needs Debian's postgresql (server + pgbench) and pgbouncer; Go for idcgate.
# Every run also prints the CPU per transaction of the machine, PostgreSQL and the proxy
# (/proc), and what the proxy's own share leaves of direct's throughput on these cores.
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
# As README sets up an upstream: TLS on, and idcgate's user roles (members of
# idcgate_users) in by a client certificate from idcgate's CA only. The CA
# file holds the server's own certificate until idcgate has made its CA.
cat > "$work/hba" <<HBA
local all +idcgate_users reject
hostssl all +idcgate_users 127.0.0.1/32 cert
host all +idcgate_users all reject
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
cp "$work/hba" "$work/pg/pg_hba.conf"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$work/pg/server.key" -out "$work/pg/server.crt" 2>/dev/null
chmod 600 "$work/pg/server.key"; cp "$work/pg/server.crt" "$work/pg/upstream-ca.crt"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg/pg_hba.conf" "$work/pg/server.key" "$work/pg/server.crt" "$work/pg/upstream-ca.crt"
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c ssl_ca_file=upstream-ca.crt" start >/dev/null
psql_su() { "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pgport" -U postgres "$@"; }
psql_su -d postgres -c "CREATE DATABASE dev"
psql_su -d dev -c "CREATE ROLE bench LOGIN PASSWORD 'benchpw'" -c "CREATE ROLE \"AWSIDC:analysts\" NOLOGIN"
PGPASSWORD=benchpw "$pgbin/pgbench" -q -i -s "$scale" -h 127.0.0.1 -p "$pgport" -U bench dev >/dev/null 2>&1 || \
  { psql_su -d dev -c "GRANT ALL ON SCHEMA public TO bench"; PGPASSWORD=benchpw "$pgbin/pgbench" -q -i -s "$scale" -h 127.0.0.1 -p "$pgport" -U bench dev >/dev/null 2>&1; }
psql_su -d dev -c "GRANT USAGE ON SCHEMA public TO \"AWSIDC:analysts\"" -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"AWSIDC:analysts\""
# The measured runs log in, on every path, as a role that reads the tables
# through its membership in "AWSIDC:analysts", as alice does through
# idcgate: the same privilege checks per query (bench owns the tables).
psql_su -d dev -c "CREATE ROLE reader LOGIN PASSWORD 'benchpw' IN ROLE \"AWSIDC:analysts\""

(cd "$root" && go build -o "$work/idcgate" ./cmd/idcgate)
IDCGATE_PG_UPSTREAM="postgres://postgres@127.0.0.1:$pgport/dev?sslmode=require" IDCGATE_PG_INSECURE=true \
  "$work/idcgate" serve --config "$root/examples/idcgate.yaml" --data-dir "$work/data" \
  --listen "127.0.0.1:$apiport" --pg-listen "127.0.0.1:$gwport" --pprof-listen "127.0.0.1:$pprofport" --log-level warn > "$work/idcgate.log" 2>&1 &
idc_pid=$!
for _ in $(seq 100); do [ -f "$work/data/credentials" ] && curl -s "http://127.0.0.1:$apiport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
# Trust idcgate's CA, and wait until new connections see the reload.
cp "$work/data/upstream-ca.crt" "$work/pg/upstream-ca.crt"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg/upstream-ca.crt"
loaded=$(psql_su -d postgres -Atc "SELECT pg_conf_load_time()")
as_pg "$pgbin/pg_ctl" -D "$work/pg" reload >/dev/null
for _ in $(seq 100); do [ "$(psql_su -d postgres -Atc "SELECT pg_conf_load_time()")" != "$loaded" ] && break; sleep 0.05; done

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
echo '"reader" "benchpw"' > "$work/userlist.txt"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pgbouncer.ini" "$work/userlist.txt"
as_pg pgbouncer "$work/pgbouncer.ini" >/dev/null 2>&1 &
# PgBouncer's own pid (as_pg's is runuser's): cleanup stops it, and its CPU is measured.
bouncer_pid=
for _ in $(seq 50); do bouncer_pid=$(pgrep -n -f "pgbouncer $work/pgbouncer.ini") && break; sleep 0.1; done
[ -n "$bouncer_pid" ] || { echo "pgbouncer did not start:"; cat "$work/pgbouncer.log" 2>/dev/null; exit 1; }

# An identity-enhanced session for alice (the example's app user signs), then her token.
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE
eval "$("$work/idcgate" login --user alice --config "$root/examples/idcgate.yaml" --endpoint "http://127.0.0.1:$apiport" --admin-credentials-file "$work/data/credentials")"
token=$("$work/idcgate" token get --workgroup demo --endpoint "http://127.0.0.1:$apiport")

# The same plaintext transport from pgbench for all three; idcgate's own
# upstream leg is TLS (its certificate login), so it relays with goroutines.
export PGSSLMODE=disable
pg_pid=$(head -1 "$work/pg/postmaster.pid")
# CPU seconds spent so far: "machine postgres idcgate pgbouncer". The machine's
# is every core's busy time (/proc/stat, softirq and steal included);
# PostgreSQL's counts the postmaster, its living children and the reaped
# ones (cutime/cstime), so backends that ended with the run are counted.
cpu_now() {
  python3 - "$pg_pid" "$idc_pid" "$bouncer_pid" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
def stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
def own(pid, reaped=False):
    f = stat(pid)
    if not f:
        return 0
    t = int(f[11]) + int(f[12])  # utime, stime
    return t + (int(f[13]) + int(f[14]) if reaped else 0)
pg, idc, bouncer = sys.argv[1:4]
pgt = own(pg, reaped=True)
for d in os.listdir("/proc"):
    if d.isdigit() and d != pg:
        f = stat(d)
        if f and f[1] == pg:  # ppid
            pgt += own(d)
with open("/proc/stat") as f:
    cpu = [int(x) for x in f.readline().split()[1:]]
busy = sum(cpu) - cpu[3] - cpu[4]  # all but idle and iowait
print(*(f"{t / hz:.2f}" for t in (busy, pgt, own(idc), own(bouncer))))
PY
}
# cpu_per_tx BEFORE AFTER TX PROXY-COLUMN: µs of CPU per transaction.
cpu_per_tx() {
  python3 - "$1" "$2" "$3" "$4" <<'PY'
import sys
b, a = [float(x) for x in sys.argv[1].split()], [float(x) for x in sys.argv[2].split()]
tx, col = int(sys.argv[3]), int(sys.argv[4])
d = [(y - x) * 1e6 / tx for x, y in zip(b, a)]
proxy = d[col] if col else 0.0
print(f"{d[0]:.0f} {d[1]:.0f} {proxy:.0f} {d[0] - d[1] - proxy:.0f}")
PY
}
run() { # name port user password proxy-column extra-args...
  local name=$1 port=$2 user=$3 pw=$4 col=$5; shift 5
  local out tps tx before after c
  before=$(cpu_now)
  out=$(PGPASSWORD=$pw "$pgbin/pgbench" -n -S -c "$clients" -j "$threads" -T "$secs" -h 127.0.0.1 -p "$port" -U "$user" "$@" dev 2>&1) || { echo "$out" >&2; exit 1; }
  after=$(cpu_now)
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
  tx=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' | head -1)
  c=$(cpu_per_tx "$before" "$after" "$tx" "$col")
  read -r cm cp cx co <<<"$c"
  printf '%-38s %10.1f tps   CPU/tx µs: machine %4s = postgres %4s + proxy %4s + pgbench and kernel %4s\n' "$name" "$tps" "$cm" "$cp" "$cx" "$co" >&2
  echo "$tps $c"
}
echo "== pgbench -S -c $clients -j $threads -T $secs (scale $scale), $(nproc) cores"
# median COLUMN ROW...: the median of one column of run's rows.
median() { local col=$1; shift; printf '%s\n' "$@" | python3 -c "import statistics,sys; print(statistics.median(float(l.split()[$col]) for l in sys.stdin if l.strip()))"; }
ds=(); is=(); bs=()
for round in $(seq "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "-- round $round of $rounds" >&2
  # Each round rotates the order of the three paths, so that no path always
  # runs after the same one (this VM's speed drifts within a round too).
  for k in 0 1 2; do
    case $(( (k + round - 1) % 3 )) in
      0) ds+=("$(run "direct to PostgreSQL" "$pgport" reader benchpw 0)") ;;
      1)
        if [ -n "${BENCH_PROFILE:-}" ] && [ "$round" = 1 ]; then
          (sleep 1; curl -s -o "$BENCH_PROFILE" "http://127.0.0.1:$pprofport/debug/pprof/profile?seconds=$((secs > 3 ? secs - 2 : 1))") &
          prof_pid=$!
        fi
        is+=("$(run "through idcgate (token login)" "$gwport" alice "$token" 2)")
        [ -n "${prof_pid:-}" ] && wait "$prof_pid" && echo "   (idcgate CPU profile: $BENCH_PROFILE)" >&2 && prof_pid=
        ;;
      2) bs+=("$(run "through PgBouncer (session mode)" "$bport" reader benchpw 3)") ;;
    esac
  done
done
direct=$(median 0 "${ds[@]}"); idc=$(median 0 "${is[@]}"); bouncer=$(median 0 "${bs[@]}")
if [ "$rounds" -gt 1 ]; then
  printf '%-38s %10.1f tps\n' "median, direct" "$direct" "median, through idcgate" "$idc" "median, through PgBouncer" "$bouncer" >&2
fi
# What a proxy could reach on this machine: the load, PostgreSQL and the
# proxy share its cores, so every µs the proxy spends per transaction is
# taken from the other two. A proxy that cost nothing but its own CPU
# would reach direct's machine CPU per transaction over that plus its own.
echo "== CPU per transaction (medians, µs): machine = postgres + proxy + pgbench and kernel"
for path in direct idcgate PgBouncer; do
  case $path in direct) rows=("${ds[@]}");; idcgate) rows=("${is[@]}");; PgBouncer) rows=("${bs[@]}");; esac
  printf '%-10s machine %5.0f = postgres %5.0f + proxy %4.0f + pgbench and kernel %4.0f\n' "$path" \
    "$(median 1 "${rows[@]}")" "$(median 2 "${rows[@]}")" "$(median 3 "${rows[@]}")" "$(median 4 "${rows[@]}")"
done
dm=$(median 1 "${ds[@]}")
for path in idcgate PgBouncer; do
  case $path in idcgate) rows=("${is[@]}");; PgBouncer) rows=("${bs[@]}");; esac
  px=$(median 3 "${rows[@]}")
  python3 -c "print(f'$path spends {$px:.0f} µs/tx itself: at most {$dm/($dm+$px):.2f} × direct on $(nproc) shared cores')"
done
echo "== connect rate: pgbench -S -C (a new connection per transaction)"
cdirect=$(run "direct, password login" "$pgport" reader benchpw 0 -C | cut -d' ' -f1)
cidc=$(run "idcgate, token login" "$gwport" alice "$token" 2 -C | cut -d' ' -f1)

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
verdict() { python3 -c "print('met' if $1/$2 >= $3 else 'NOT met')"; }
echo
echo "== ratios (targets)"
echo "idcgate / direct    select-only : $(ratio "$idc" "$direct")  (>= 0.90: $(verdict "$idc" "$direct" 0.9))"
echo "idcgate / PgBouncer select-only : $(ratio "$idc" "$bouncer")  (>= 1.00: $(verdict "$idc" "$bouncer" 1.0))"
echo "idcgate / direct    connect rate: $(ratio "$cidc" "$cdirect")  (>= 0.80: $(verdict "$cidc" "$cdirect" 0.8))"
