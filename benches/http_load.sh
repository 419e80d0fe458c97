#!/usr/bin/env bash
# HTTP load benchmark: the demo receiver (framework, `DEMO_STORE=memory`) against a minimal hand-written
# axum server doing the same work (benches/src/bin/baseline_server.rs), one after the other,
# under the same wrk load on 127.0.0.1.
#
#   benches/http_load.sh            # needs wrk (apt-get install wrk) and taskset
#
# Each server runs alone on CPU $SERVER_CPU (default 0) with a one-worker tokio runtime; wrk runs
# on CPU $LOAD_CPU (default 1) with one thread. Every round signs $EVENTS distinct deliveries
# (valid signatures, unique event ids, $SIZE-byte bodies) and, for each server in turn (the order
# alternates between rounds), starts it fresh and runs:
#   fresh:     $FRESH_SECS s replaying the distinct deliveries: verify, parse, claim the new id,
#              decode the object, run the handler, complete;
#   duplicate: $DUP_SECS s cycling through the first $DUP_EVENTS of them, all delivered already:
#              verify, parse, find the id completed, answer 200 without running the handler.
# wrk reports how many requests of a fresh run were replays (if it outran $EVENTS); every
# answer must be 2xx, or the run fails. Bounded: about ROUNDS x 2 x (FRESH_SECS + DUP_SECS + 10) s.
#
#   MODE=interleaved benches/http_load.sh
#
# runs both servers at once, both on CPU $SERVER_CPU (only the one under load is busy), and
# alternates $BURSTS short wrk bursts of $BURST_SECS s between them, fresh events then
# duplicates, printing the median ratio of each pair of bursts: on a shared machine whose speed
# drifts within seconds, that is the steadier figure. Fresh bursts take consecutive slices of
# $EVENTS signed deliveries (the same slice for both servers, each with its own store); size
# EVENTS to cover BURSTS bursts at the servers' rate, or wrk reports replays and the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-1024}
EVENTS=${EVENTS:-400000}
DUP_EVENTS=${DUP_EVENTS:-1000}
FRESH_SECS=${FRESH_SECS:-3}
DUP_SECS=${DUP_SECS:-5}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-3917}
MODE=${MODE:-sequential}
BURSTS=${BURSTS:-20}
BURST_SECS=${BURST_SECS:-1}
SECRET=whsec_bench_5f0c2d7e9a8b4c1d
URL_PATH=/webhooks/paymentkit
TARGET=${CARGO_TARGET_DIR:-target}

for tool in wrk taskset; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk util-linux)" >&2; exit 1; }
done

# SKIP_BUILD=1 runs binaries already in $TARGET/release (for example kept from an earlier build,
# to compare two versions under the same load).
if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p webhook-examples -p webhook-benches \
        --bin demo --bin baseline_server --bin sign_requests
fi

work=$(mktemp -d)
server_pids=()
cleanup() {
    for pid in "${server_pids[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server NAME [PORT]
start_server() {
    local port=${2:-$PORT}
    case $1 in
        framework)
            DEMO_STORE=memory DEMO_ADDR=127.0.0.1:$port WEBHOOK_SECRET=$SECRET RUST_LOG=warn \
                taskset -c "$SERVER_CPU" "$TARGET/release/demo" --serve >"$work/$1.log" 2>&1 &
            ;;
        hand-written)
            BASELINE_ADDR=127.0.0.1:$port WEBHOOK_SECRET=$SECRET \
                taskset -c "$SERVER_CPU" "$TARGET/release/baseline_server" >"$work/$1.log" 2>&1 &
            ;;
    esac
    server_pids+=($!)
    for _ in $(seq 1 100); do
        port_open "$port" && return 0
        sleep 0.1
    done
    echo "the $1 server did not start:" >&2
    cat "$work/$1.log" >&2
    exit 1
}

stop_servers() {
    for pid in "${server_pids[@]}"; do
        kill -INT "$pid"
        wait "$pid" || true
    done
    server_pids=()
}

# run_wrk SECONDS FILE [PORT]: prints requests/s; fails on any non-2xx answer, socket error or
# (in interleaved mode) replayed fresh event.
run_wrk() {
    local out
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$1s" --timeout 5s \
        -s benches/http/signed.lua "http://127.0.0.1:${3:-$PORT}" -- "$2" "$URL_PATH")
    if grep -qE "Non-2xx|Socket errors" <<<"$out"; then
        echo "$out" >&2
        echo "FAIL: some requests were not answered 2xx" >&2
        exit 1
    fi
    echo "$out" | sed 's/^/    /' >&2
    awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "body: $SIZE bytes; $EVENTS distinct events per round; $CONNECTIONS connections; server on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU"

if [ "$MODE" = interleaved ]; then
    per_burst=$((EVENTS / BURSTS))
    "$TARGET/release/sign_requests" "$EVENTS" "$SIZE" "$work/all.tsv"
    # One file per fresh burst, cut once: cutting each burst's slice out of a file of millions
    # of lines between bursts took longer than the bursts.
    split -l "$per_burst" -d -a 4 "$work/all.tsv" "$work/slice."
    rm "$work/all.tsv"
    start_server framework "$PORT"
    start_server hand-written "$((PORT + 1))"
    # burst FILE PORT: one wrk burst's requests/s; a failed burst shows wrk's output and ends the run.
    burst() {
        run_wrk "$BURST_SECS" "$1" "$2" 2>>"$work/wrk.log" || { cat "$work/wrk.log" >&2; exit 1; }
    }
    ratios() {  # ratios KIND: one line per burst pair, "framework hand-written ratio"
        local kind=$1 n file f h
        for n in $(seq 1 "$BURSTS"); do
            if [ "$kind" = fresh ]; then
                file=$(printf '%s/slice.%04d' "$work" $((n - 1)))
            else
                file="$work/dup.tsv"
            fi
            : >"$work/wrk.log"
            if [ $((n % 2)) -eq 1 ]; then
                f=$(burst "$file" "$PORT")
                h=$(burst "$file" "$((PORT + 1))")
            else
                h=$(burst "$file" "$((PORT + 1))")
                f=$(burst "$file" "$PORT")
            fi
            if [ "$kind" = fresh ] && grep -q 'replays of sent events: [1-9]' "$work/wrk.log"; then
                cat "$work/wrk.log" >&2
                echo "FAIL: a fresh burst replayed events; raise EVENTS" >&2
                exit 1
            fi
            echo "$f $h $(awk -v f="$f" -v h="$h" 'BEGIN { printf "%.3f", f / h }')"
        done
    }
    for kind in fresh dup; do
        # The duplicates are the first events of the first fresh burst, signed again now: the
        # signatures of the fresh run may be older than the 300 s tolerance by the time it ends.
        if [ "$kind" = dup ]; then
            "$TARGET/release/sign_requests" "$DUP_EVENTS" "$SIZE" "$work/dup.tsv"
        fi
        ratios "$kind" >"$work/$kind.txt"
        sed "s/^/$kind burst: /" "$work/$kind.txt"
    done
    stop_servers
    echo
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    for kind in fresh dup; do
        # The median and quartiles of the burst pairs' ratios, and their geometric mean with a
        # 95 % interval (from the spread of the log ratios): whether a run clears a target.
        sort -n -k3 "$work/$kind.txt" | awk -v kind="$kind" '{
            r[NR] = $3; l = log($1 / $2); s += l; ss += l * l } END {
            m = s / NR; se = NR > 1 ? sqrt((ss - NR * m * m) / (NR - 1) / NR) : 0
            printf "%-6s framework / hand-written requests/s: median %.3f (quartiles %.3f..%.3f, %d bursts); geometric mean %.3f (95%% interval %.3f..%.3f)\n",
                kind, r[int((NR + 1) / 2)], r[int((NR + 3) / 4)], r[int((3 * NR + 1) / 4)], NR,
                exp(m), exp(m - 1.96 * se), exp(m + 1.96 * se) }'
    done
    exit 0
fi

declare -A results
for round in $(seq 1 "$ROUNDS"); do
    "$TARGET/release/sign_requests" "$EVENTS" "$SIZE" "$work/fresh.tsv"
    head -n "$DUP_EVENTS" "$work/fresh.tsv" >"$work/dup.tsv"
    if [ $((round % 2)) -eq 1 ]; then order="hand-written framework"; else order="framework hand-written"; fi
    for server in $order; do
        echo "round $round, $server:" >&2
        start_server "$server"
        fresh=$(run_wrk "$FRESH_SECS" "$work/fresh.tsv")
        dup=$(run_wrk "$DUP_SECS" "$work/dup.tsv")
        stop_servers
        results[$server,fresh,$round]=$fresh
        results[$server,dup,$round]=$dup
        echo "round $round  $(printf '%-13s' "$server") fresh ${fresh} req/s   duplicate ${dup} req/s"
    done
done

echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-6s %14s %14s %8s\n' scenario round framework hand-written ratio
for kind in fresh dup; do
    for round in $(seq 1 "$ROUNDS"); do
        f=${results[framework,$kind,$round]}
        h=${results[hand-written,$kind,$round]}
        printf '%-10s %-6s %14s %14s %8s\n' "$kind" "$round" "$f" "$h" "$(awk -v f="$f" -v h="$h" 'BEGIN { printf "%.3f", f / h }')"
    done
done
