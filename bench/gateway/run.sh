#!/usr/bin/env bash
# Gateway benchmark, all in one run on this machine:
#   pgbench -S (select-only) direct to PostgreSQL, through idcgate, and through
#   PgBouncer (session mode), each over TLS and in plaintext (rounds interleave
#   the two transports), and a connect-rate run (pgbench -C) over TLS: a token
#   login through idcgate against a password login straight to PostgreSQL.
# idcgate's upstream leg is always TLS (it logs users in with client
# certificates), so PgBouncer runs twice: with its server leg in plaintext,
# and with server_tls_sslmode=require, which pays the same two TLS legs as
# idcgate on the TLS path and the same upstream leg on the plaintext one.
# Prints TPS, CPU per transaction and the ratios against the targets of
# docs/PERFORMANCE.md.
#
# Needs Debian's postgresql (server + pgbench), pgbouncer and openssl; Go for idcgate.
# Every run also prints the CPU per transaction of the machine, PostgreSQL and the proxy
# (/proc), and what the proxy's own share leaves of direct's throughput on these cores.
# Knobs: BENCH_SECONDS (30), BENCH_CLIENTS (8), BENCH_THREADS (2), BENCH_SCALE (10);
# BENCH_ROUNDS (1): runs every select-only path that many times per transport,
# interleaved, and judges their medians (this kind of VM drifts by tens of
# percent minute to minute); BENCH_TRANSPORTS ("tls plain"): which transports;
# BENCH_PROFILE=FILE writes idcgate's CPU profile of its (first) TLS select-only run there;
# BENCH_QUIET=1 makes every round wait (up to 10 minutes) for a quiet machine: under 0.35
# cores busy over 3 s with the servers idle, and no go build or test running.
set -euo pipefail

secs=${BENCH_SECONDS:-30}
rounds=${BENCH_ROUNDS:-1}
clients=${BENCH_CLIENTS:-8}
threads=${BENCH_THREADS:-2}
scale=${BENCH_SCALE:-10}
transports=${BENCH_TRANSPORTS:-tls plain}
root=$(cd "$(dirname "$0")/../.." && pwd)
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed (apt-get install pgbouncer)"; exit 1; }

work=$(mktemp -d /tmp/idcgate-bench.XXXXXX)
chmod 755 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(free_port); gwport=$(free_port); apiport=$(free_port); bport=$(free_port); btport=$(free_port); pprofport=$(free_port)

cleanup() {
  set +e
  [ -n "${idc_pid:-}" ] && kill "$idc_pid" 2>/dev/null
  [ -n "${bouncer_pid:-}" ] && kill "$bouncer_pid" 2>/dev/null
  [ -n "${bouncer_tls_pid:-}" ] && kill "$bouncer_tls_pid" 2>/dev/null
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

# Two PgBouncers: clients may use TLS or not (client_tls_sslmode=allow, the
# server's certificate), and the server leg is plaintext in one and TLS in
# the other.
start_bouncer() { # name port server_tls_sslmode
  cat > "$work/$1.ini" <<INI
[databases]
dev = host=127.0.0.1 port=$pgport dbname=dev
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir =
auth_type = plain
auth_file = $work/userlist.txt
pool_mode = session
max_client_conn = 500
default_pool_size = 50
logfile = $work/$1.log
client_tls_sslmode = allow
client_tls_cert_file = $work/pg/server.crt
client_tls_key_file = $work/pg/server.key
server_tls_sslmode = $3
INI
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$work/$1.ini"
  as_pg pgbouncer "$work/$1.ini" >/dev/null 2>&1 &
  # PgBouncer's own pid (as_pg's is runuser's): cleanup stops it, and its CPU is measured.
  local pid=
  for _ in $(seq 50); do pid=$(pgrep -n -x -f "pgbouncer $work/$1.ini") && break; sleep 0.1; done
  [ -n "$pid" ] || { echo "pgbouncer did not start:" >&2; cat "$work/$1.log" >&2 2>/dev/null; exit 1; }
  echo "$pid"
}
echo '"reader" "benchpw"' > "$work/userlist.txt"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work/userlist.txt"
bouncer_pid=$(start_bouncer pgbouncer "$bport" disable)
bouncer_tls_pid=$(start_bouncer pgbouncer-tls "$btport" require)

# An identity-enhanced session for alice (the example's app user signs), then her token.
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE
eval "$("$work/idcgate" login --user alice --config "$root/examples/idcgate.yaml" --endpoint "http://127.0.0.1:$apiport" --admin-credentials-file "$work/data/credentials")"
token=$("$work/idcgate" token get --workgroup demo --endpoint "http://127.0.0.1:$apiport")

pg_pid=$(head -1 "$work/pg/postmaster.pid")
# CPU seconds spent so far: "machine postgres idcgate pgbouncer". The machine's
# is every core's busy time (/proc/stat, softirq and steal included);
# PostgreSQL's counts the postmaster, its living children and the reaped
# ones (cutime/cstime), so backends that ended with the run are counted.
cpu_now() {
  python3 - "$pg_pid" "$idc_pid" "$bouncer_pid" "$bouncer_tls_pid" <<'PY'
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
pg, idc, bouncer, bouncer_tls = sys.argv[1:5]
pgt = own(pg, reaped=True)
for d in os.listdir("/proc"):
    if d.isdigit() and d != pg:
        f = stat(d)
        if f and f[1] == pg:  # ppid
            pgt += own(d)
with open("/proc/stat") as f:
    cpu = [int(x) for x in f.readline().split()[1:]]
busy = sum(cpu) - cpu[3] - cpu[4]  # all but idle and iowait
print(*(f"{t / hz:.2f}" for t in (busy, pgt, own(idc), own(bouncer), own(bouncer_tls))))
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
run() { # name sslmode port user password proxy-column extra-args...
  local name=$1 ssl=$2 port=$3 user=$4 pw=$5 col=$6; shift 6
  local out tps tx before after c
  before=$(cpu_now)
  out=$(PGSSLMODE=$ssl PGPASSWORD=$pw "$pgbin/pgbench" -n -S -c "$clients" -j "$threads" -T "$secs" -h 127.0.0.1 -p "$port" -U "$user" "$@" dev 2>&1) || { echo "$out" >&2; exit 1; }
  after=$(cpu_now)
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
  tx=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' | head -1)
  c=$(cpu_per_tx "$before" "$after" "$tx" "$col")
  read -r cm cp cx co <<<"$c"
  printf '%-46s %10.1f tps   CPU/tx µs: machine %4s = postgres %4s + proxy %4s + pgbench and kernel %4s\n' "$name" "$tps" "$cm" "$cp" "$cx" "$co" >&2
  echo "$tps $c"
}
echo "== pgbench -S -c $clients -j $threads -T $secs (scale $scale), $(nproc) cores, transports: $transports"
# median COLUMN ROW...: the median of one column of run's rows.
median() { local col=$1; shift; printf '%s\n' "$@" | python3 -c "import statistics,sys; print(statistics.median(float(l.split()[$col]) for l in sys.stdin if l.strip()))"; }
declare -A rows  # "<transport> <path>" -> newline-separated run rows
paths=(direct idcgate pgbouncer pgbouncer-tls)
# wait_quiet: until the machine is quiet (BENCH_QUIET), so that no round
# measures someone else's work. The 1-minute load average would count this
# script's own previous round, so it samples /proc/stat over 3 s.
wait_quiet() {
  [ -n "${BENCH_QUIET:-}" ] || return 0
  local deadline=$((SECONDS + 600)) busy others
  while :; do
    busy=$(python3 -c '
import time
def busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]
b = busy(); time.sleep(3); print(f"{(busy() - b) / 100 / 3:.2f}")')
    others=$(pgrep -fa 'go (test|build)|\.test ' || true)
    if python3 -c "import sys; sys.exit(0 if $busy < 0.35 else 1)" && [ -z "$others" ]; then return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then echo "(the machine did not become quiet in 10 minutes: $busy cores busy; measuring anyway)" >&2; return 0; fi
    echo "(waiting for a quiet machine: $busy cores busy; go builds/tests: ${others:-none})" >&2
    sleep 10
  done
}
for round in $(seq "$rounds"); do
  wait_quiet
  for tr in $transports; do
    [ "$rounds" -gt 1 ] && echo "-- round $round of $rounds, $tr" >&2
    case $tr in tls) ssl=require;; plain) ssl=disable;; *) echo "BENCH_TRANSPORTS: $tr is neither tls nor plain" >&2; exit 2;; esac
    # Each round rotates the order of the paths, so that no path always
    # runs after the same one (this VM's speed drifts within a round too).
    for k in 0 1 2 3; do
      path=${paths[$(( (k + round - 1) % 4 ))]}
      case $path in
        direct) r=$(run "$tr: direct to PostgreSQL" $ssl "$pgport" reader benchpw 0) ;;
        idcgate)
          if [ -n "${BENCH_PROFILE:-}" ] && [ "$round" = 1 ] && [ "$tr" = tls ]; then
            (sleep 1; curl -s -o "$BENCH_PROFILE" "http://127.0.0.1:$pprofport/debug/pprof/profile?seconds=$((secs > 3 ? secs - 2 : 1))") &
            prof_pid=$!
          fi
          r=$(run "$tr: through idcgate (token login)" $ssl "$gwport" alice "$token" 2)
          [ -n "${prof_pid:-}" ] && wait "$prof_pid" && echo "   (idcgate CPU profile: $BENCH_PROFILE)" >&2 && prof_pid=
          ;;
        pgbouncer) r=$(run "$tr: through PgBouncer (server leg plain)" $ssl "$bport" reader benchpw 3) ;;
        pgbouncer-tls) r=$(run "$tr: through PgBouncer (server leg TLS)" $ssl "$btport" reader benchpw 4) ;;
      esac
      rows["$tr $path"]+="$r"$'\n'
    done
  done
done
# What a proxy could reach on this machine: the load, PostgreSQL and the
# proxy share its cores, so every µs the proxy spends per transaction is
# taken from the other two. A proxy that cost nothing but its own CPU
# would reach direct's machine CPU per transaction over that plus its own.
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
verdict() { python3 -c "print('met' if $1/$2 >= $3 else 'NOT met')"; }
declare -A tps cpu
for tr in $transports; do
  echo "== $tr: medians of $rounds round(s): tps, and CPU per transaction (µs): machine = postgres + proxy + pgbench and kernel"
  for path in "${paths[@]}"; do
    # shellcheck disable=SC2206
    mapfile -t rs <<<"${rows["$tr $path"]%$'\n'}"
    tps["$tr $path"]=$(median 0 "${rs[@]}")
    cpu["$tr $path"]=$(median 3 "${rs[@]}")
    printf '%-14s %10.1f tps   machine %5.0f = postgres %5.0f + proxy %4.0f + pgbench and kernel %4.0f\n' "$path" "${tps["$tr $path"]}" \
      "$(median 1 "${rs[@]}")" "$(median 2 "${rs[@]}")" "${cpu["$tr $path"]}" "$(median 4 "${rs[@]}")"
  done
  mapfile -t drs <<<"${rows["$tr direct"]%$'\n'}"
  dm=$(median 1 "${drs[@]}")
  for path in idcgate pgbouncer pgbouncer-tls; do
    px=${cpu["$tr $path"]}
    python3 -c "print(f'$path spends {$px:.0f} µs/tx itself: at most {$dm/($dm+$px):.2f} × direct on $(nproc) shared cores')"
  done
done
wait_quiet
echo "== connect rate over TLS: pgbench -S -C (a new connection per transaction)"
cdirect=$(run "tls: direct, password login" require "$pgport" reader benchpw 0 -C | cut -d' ' -f1)
cidc=$(run "tls: idcgate, token login" require "$gwport" alice "$token" 2 -C | cut -d' ' -f1)

echo
echo "== ratios (targets)"
for tr in $transports; do
  i=${tps["$tr idcgate"]}; b=${tps["$tr pgbouncer"]}; bt=${tps["$tr pgbouncer-tls"]}; d=${tps["$tr direct"]}
  if [ "$tr" = tls ]; then
    echo "tls:   idcgate / PgBouncer (same TLS legs) select-only : $(ratio "$i" "$bt")  (>= 1.10: $(verdict "$i" "$bt" 1.1))"
    echo "tls:   idcgate / PgBouncer (server leg plain)         : $(ratio "$i" "$b")"
    echo "tls:   idcgate CPU/tx, PgBouncer's (same TLS legs)     : ${cpu["tls idcgate"]} µs, ${cpu["tls pgbouncer-tls"]} µs  (idcgate <= PgBouncer: $(python3 -c "print('met' if ${cpu["tls idcgate"]} <= ${cpu["tls pgbouncer-tls"]} else 'NOT met')"))"
  else
    echo "plain: idcgate / PgBouncer (server leg TLS, as idcgate's): $(ratio "$i" "$bt")  (>= 1.00: $(verdict "$i" "$bt" 1.0))"
    echo "plain: idcgate / PgBouncer (server leg plain)          : $(ratio "$i" "$b")"
  fi
  echo "$tr: idcgate / direct select-only                      : $(ratio "$i" "$d")"
done
echo "tls:   idcgate / direct connect rate (token vs password): $(ratio "$cidc" "$cdirect")  (>= 0.80: $(verdict "$cidc" "$cdirect" 0.8))"
