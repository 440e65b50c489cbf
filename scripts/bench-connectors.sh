#!/usr/bin/env bash
# Measures each connector type on N records (default 100,000): `etlctl connectors run NAME
# --dry-run`, which fetches every record through the type's streaming reader and validates it
# against the connector's contract, without writing anything. Each type runs ROUNDS times
# (default 3); the script prints the median wall time and its spread, records/s and the peak
# resident memory of etlctl (/usr/bin/time -v). A measurement, not a test.
#
#   scripts/bench-connectors.sh [--records N] [--rounds R] [--no-build]
#
# Sources, all on loopback and all removed afterwards:
#   api_rest     fixture-source serving N DummyJSON users, limit_skip pages of 1,000, contract users
#   simple_csv   one UTF-8 CSV file of N rows (an integer, a number, a string, an email column)
#   local_file   a folder of 10 JSONL files of N/10 records each
#   postgresql   a table of N rows on a throwaway server (initdb on a random port)
# A second size (N/10) is measured for local_file and simple_csv, so that flat memory shows as
# the same peak at both sizes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

records=100000
rounds=3
build=true
while (($#)); do
    case "$1" in
        --records) records="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --no-build) build=false; shift ;;
        *) echo "usage: $0 [--records N] [--rounds R] [--no-build]" >&2; exit 2 ;;
    esac
done
((records >= 10 && rounds >= 1)) || { echo "bench-connectors: --records must be >= 10 and --rounds >= 1" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench-connectors: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    PATH="/opt/swift/usr/bin:${PATH}"
fi
if $build; then
    # One product per invocation: `--product A --product B` builds only B.
    swift build -c release --product etlctl
    swift build -c release --product fixture-source
fi
bin="$(swift build -c release --show-bin-path)"

work="$(mktemp -d /tmp/bench-connectors.XXXXXX)"
pg_data="$work/pg"
cleanup() {
    for pidfile in "$work"/*.pid; do [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null; done
    if [[ -f "$pg_data/postmaster.pid" ]]; then as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for_port() {
    for _ in $(seq 1 100); do
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench-connectors: nothing listens on 127.0.0.1:$1" >&2; return 1
}

# etlctl as the stages configure it: a database and data folder of the benchmark's own.
export DATABASE_PATH="$work/database/data.db" DATA_DIR="$work/data" LOG_LEVEL=warning
export EVENT_HMAC_KEY="bench-connectors-$(openssl rand -hex 16 2>/dev/null || echo 0123456789abcdef0123456789abcdef)"
export DEPARTMENTS_CSV="$ROOT/config/departments.csv"
mkdir -p "$work/database" "$work/data"
etlctl() { "$bin/etlctl" "$@"; }

# ---------- sources ----------

start_fixture_source() {  # users -> sets source_port
    source_port="$(free_port)"
    "$bin/fixture-source" --port "$source_port" --users "$1" --invalid-rate 0.1 >"$work/fixture-source-$1.log" 2>&1 &
    echo $! >"$work/fixture-source-$1.pid"
    wait_for_port "$source_port"
}

write_csv() {  # path rows
    python3 - "$1" "$2" <<'PY'
import sys
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w", encoding="utf-8", newline="") as out:
    out.write("id,price,name,email\r\n")
    for i in range(1, rows + 1):
        out.write(f'{i},{i % 997}.{i % 100:02d},"Item {i}, ""boxed""",user{i}@example.com\r\n')
PY
}

write_jsonl_folder() {  # folder files per_file
    python3 - "$1" "$2" "$3" <<'PY'
import json, os, sys
folder, files, per_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(folder, exist_ok=True)
n = 0
for f in range(files):
    with open(os.path.join(folder, f"part-{f:03d}.jsonl"), "w") as out:
        for _ in range(per_file):
            n += 1
            out.write(json.dumps({"event_id": f"e{n}", "at": "2027-01-01T10:00:00Z", "amount": n % 500, "tags": ["a", "b"]}) + "\n")
PY
}

pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
as_postgres() {
    if [[ "$(id -u)" == 0 ]]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}
start_postgres() {  # rows -> sets pg_port
    [[ -x "$pg_bin/postgres" ]] || { echo "bench-connectors: PostgreSQL is missing (apt-get install postgresql)" >&2; return 1; }
    pg_port="$(free_port)"
    local port="$pg_port"
    mkdir -p "$pg_data" && echo "bench-password" >"$work/pgpass"
    [[ "$(id -u)" == 0 ]] && chown -R postgres:postgres "$pg_data" "$work/pgpass" && chmod 755 "$work"
    as_postgres "$pg_bin/initdb" -D "$pg_data" -U bench --pwfile="$work/pgpass" --auth-host=scram-sha-256 \
        --auth-local=trust -E UTF8 --no-locale --no-sync >"$work/initdb.log" 2>&1
    as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -o \
        "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off" start >/dev/null
    PGPASSWORD=bench-password psql -q -h 127.0.0.1 -p "$port" -U bench -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TABLE orders (id int8 PRIMARY KEY, amount numeric(10,2), customer text, placed_at timestamptz);
INSERT INTO orders SELECT i, (i % 997) + 0.5, 'customer ' || (i % 1000), timestamptz '2027-01-01' + i * interval '1 second'
    FROM generate_series(1, $1) AS i;
SQL
}

# ---------- connectors ----------

define() {  # name yaml
    printf '%s\n' "$2" >"$work/$1.yaml"
    etlctl connectors create --file "$work/$1.yaml" >/dev/null
}

define_all() {  # rows suffix
    local rows="$1" suffix="$2"
    start_fixture_source "$rows"
    local port="$source_port"
    define "rest$suffix" "name: rest$suffix
type: api_rest
config:
  endpoint: http://127.0.0.1:$port/users
  pagination: limit_skip
  page_size: 1000
  records_path: users
  total_path: total
contract: users"

    write_csv "$work/items$suffix.csv" "$rows"
    define "csv$suffix" "name: csv$suffix
type: simple_csv
config:
  url: $work/items$suffix.csv
  column_types: { id: integer, price: number }
contract:
  name: items
  fields:
    - { name: id, type: integer, required: true }
    - { name: price, type: number, minimum: 0 }
    - { name: email, type: string, format: email }"

    write_jsonl_folder "$work/drops$suffix" 10 $((rows / 10))
    define "files$suffix" "name: files$suffix
type: local_file
config: { path: \"$work/drops$suffix\", glob: \"*.jsonl\" }
contract:
  name: events
  fields:
    - { name: event_id, type: string, required: true }
    - { name: at, type: string, format: date_time }
    - { name: amount, type: integer, minimum: 0 }"
}

define_postgres() {  # rows
    start_postgres "$1"
    local port="$pg_port"
    export BENCH_PG_PASSWORD=bench-password
    define "postgres" "name: postgres
type: postgresql
config:
  host: 127.0.0.1
  port: $port
  database: postgres
  user: bench
  password: \"\${BENCH_PG_PASSWORD}\"
  sslmode: disable
  table: orders
  cursor_column: id
contract:
  name: orders
  fields:
    - { name: id, type: integer, required: true }
    - { name: amount, type: number, minimum: 0 }"
}

# ---------- measuring ----------

results="$work/results.tsv"
: >"$results"
measure() {  # type name records
    local type="$1" name="$2" count="$3"
    for round in $(seq 1 "$rounds"); do
        /usr/bin/time -v -o "$work/time.txt" "$bin/etlctl" connectors run "$name" --dry-run --json >"$work/out.json"
        python3 - "$work/out.json" "$count" "$name" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
fetched = report.get("records")
if fetched != int(sys.argv[2]):
    sys.exit(f"bench-connectors: {sys.argv[3]} fetched {fetched} records, expected {sys.argv[2]}: {report}")
PY
        local wall rss
        wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$work/time.txt")"
        rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")"
        printf '%s\t%s\t%s\t%s\t%s\n' "$type" "$count" "$round" "$wall" "$rss" >>"$results"
        echo "  $type $count records, round $round: ${wall} s, peak RSS $((rss / 1024)) MB" >&2
    done
}

small=$((records / 10))
echo "== defining connectors and sources ($records and $small records) ==" >&2
define_all "$records" ""
define_all "$small" "-small"
define_postgres "$records"

echo "== measuring ($rounds rounds each) ==" >&2
measure api_rest rest "$records"
measure simple_csv csv "$records"
measure simple_csv csv-small "$small"
measure local_file files "$records"
measure local_file files-small "$small"
measure postgresql postgres "$records"

echo
echo "== connector throughput: etlctl connectors run --dry-run, release build, $(nproc) cores, $rounds rounds =="
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
groups = {}
for type_, count, _, wall, rss in rows:
    groups.setdefault((type_, int(count)), []).append((float(wall), int(rss)))
print(f"{'type':<12} {'records':>9} {'median s':>9} {'spread s':>13} {'records/s':>10} {'peak RSS MB':>12}")
for (type_, count), runs in groups.items():
    walls = sorted(w for w, _ in runs)
    median = statistics.median(walls)
    peak = max(r for _, r in runs) / 1024
    print(f"{type_:<12} {count:>9} {median:>9.2f} {walls[0]:>6.2f}-{walls[-1]:<6.2f} {count / median:>10,.0f} {peak:>12.1f}")
PY
