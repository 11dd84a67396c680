#!/usr/bin/env bash
# Load benchmark of the accountservice example: what routemeter's instrumentation costs a real HTTP service.
#
# Builds the example in release mode, then runs it with instrumentation on and off, alternately and repeatedly,
# driving GET /accounts/{id} with wrk for the same duration each time while /metrics is scraped once a second as
# Prometheus would. Prints, per mode, the median requests per second and p99 latency over the rounds, the on/off
# throughput ratio, and the cost within each round with a 95% confidence interval for its median, which decides
# whether instrumentation stays within the target cost (1% of throughput).
#
# Usage: bench/load.sh
# Environment: LOAD_ROUNDS (10), LOAD_SECONDS (5), LOAD_CONNECTIONS (32), LOAD_THREADS (1),
#   LOAD_PIN (1; 0 disables CPU pinning), LOAD_SERVER_CPUS (0), LOAD_CLIENT_CPUS (1), LOAD_KEEP (0; 1 keeps the
#   per-round logs), LOAD_MODE (on: what the "on" arm runs: `on` is routemeter, `handwritten` the example's
#   hand-written prometheus-crate middleware, `off` makes both arms bare so that the cost measured is the method's
#   own bias and noise, which should come out near 0), BENCH_BINARY (a build to use instead).
# Exit status: 0 when every run was valid (the target is reported, not enforced: it is a measurement on a shared
# machine), 1 when a run was not (wrk errors, missed scrapes, a request count that does not add up), 2 on bad
# settings, a missing tool, or a service or wrk that failed to run.
set -euo pipefail

SCRIPT=load.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"
LUA_SCRIPT="$ROOT/bench/accounts.lua"

ROUNDS=${LOAD_ROUNDS:-10}
RUN_SECONDS=${LOAD_SECONDS:-5}
CONNECTIONS=${LOAD_CONNECTIONS:-32}
THREADS=${LOAD_THREADS:-1}
PIN=${LOAD_PIN:-1}
SERVER_CPUS=${LOAD_SERVER_CPUS:-0}
CLIENT_CPUS=${LOAD_CLIENT_CPUS:-1}
KEEP_WORK=${LOAD_KEEP:-0}
MODE=${LOAD_MODE:-on}
TARGET_PERCENT=1

# What Prometheus 2.x sends when it scrapes: its Accept header, gzip, and its scrape timeout.
PROM_ACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

positive_integers LOAD_ROUNDS:ROUNDS LOAD_SECONDS:RUN_SECONDS LOAD_CONNECTIONS:CONNECTIONS LOAD_THREADS:THREADS
for setting in LOAD_PIN LOAD_KEEP; do
    [[ ${!setting:-0} == [01] ]] || die "$setting must be 0 or 1, got '${!setting}'"
done
[[ $MODE == on || $MODE == off || $MODE == handwritten ]] ||
    die "LOAD_MODE must be on, off or handwritten, got '$MODE'"
((CONNECTIONS >= THREADS)) || die "LOAD_CONNECTIONS ($CONNECTIONS) must be at least LOAD_THREADS ($THREADS)"

# --- tools ---------------------------------------------------------------------------------------------------

require wrk wrk
require curl curl
require timeout coreutils

if [[ $PIN == 1 ]]; then
    pin_cpus "$SERVER_CPUS" "$CLIENT_CPUS"
fi

CLK_TCK=$(getconf CLK_TCK)

# --- the service (stopped on exit by common.sh's cleanup, with wrk and the scraper) -------------------------

# The --instrumentation of arm $1: LOAD_MODE for the "on" arm, off for the other.
arm_mode() {
    if [[ $1 == on ]]; then echo "$MODE"; else echo off; fi
}

# Scrapes $1 once a second, on a fixed schedule like Prometheus, until the file $3 exists (at most $4 times).
# Writes a line per scrape to $2: "ok SECONDS" or "fail".
scraper() {
    local url=$1 log=$2 stop=$3 max=$4 start now next wait_us i took
    start=${EPOCHREALTIME/./}
    for ((i = 0; i < max; i++)); do
        [[ -e $stop ]] && break
        if took=$("${CLIENT_PIN[@]}" curl -sSf --max-time 1 -o /dev/null -w '%{time_total}' \
            -H "Accept: $PROM_ACCEPT" -H 'Accept-Encoding: gzip' -H 'X-Prometheus-Scrape-Timeout-Seconds: 1' \
            -A 'Prometheus/2 (routemeter load benchmark)' "$url" 2>>"$log.err"); then
            echo "ok $took" >>"$log"
        else
            echo "fail" >>"$log"
        fi
        next=$((start + (i + 1) * 1000000))
        now=${EPOCHREALTIME/./}
        if ((next > now)); then
            wait_us=$((next - now))
            sleep "$((wait_us / 1000000)).$(printf '%06d' $((wait_us % 1000000)))"
        fi
    done
}

# --- build ---------------------------------------------------------------------------------------------------

build_example

WORK=$(mktemp -d "${TMPDIR:-/tmp}/routemeter-load.XXXXXX")
RESULTS="$WORK/results"
: >"$RESULTS"
INVALID=0

# --- rounds --------------------------------------------------------------------------------------------------

# One run: arm $1 ("on" or "off"), round $2. Appends a result line to $RESULTS and prints it.
run_once() {
    local mode=$1 round=$2 log="$WORK/round$2-$1" line cpu_before cpu_after requests served diff slack
    local scrapes_ok scrapes_failed scrape_ms errors cpu_us_per_req cpu_percent load1 problems="" instrumentation
    instrumentation=$(arm_mode "$mode")
    start_service "$instrumentation" "$log" 10 "${SERVER_PIN[@]}"
    read -r load1 _ </proc/loadavg

    : >"$log.scrapes"
    scraper "http://$SERVICE_ADDR/metrics" "$log.scrapes" "$log.stop" $((RUN_SECONDS + 5)) &
    SCRAPER_PID=$!

    cpu_before=$(cpu_ticks "$SERVICE_PID")
    timeout -k 5 $((RUN_SECONDS + 30)) "${CLIENT_PIN[@]}" wrk -t "$THREADS" -c "$CONNECTIONS" \
        -d "${RUN_SECONDS}s" --timeout 2s -s "$LUA_SCRIPT" "http://$SERVICE_ADDR/" >"$log.wrk" 2>&1 &
    WRK_PID=$!
    if ! wait "$WRK_PID"; then
        WRK_PID=""
        cat "$log.wrk" >&2
        die "wrk failed (round $round, instrumentation $instrumentation)"
    fi
    WRK_PID=""
    cpu_after=$(cpu_ticks "$SERVICE_PID")

    touch "$log.stop"
    wait "$SCRAPER_PID" || true
    SCRAPER_PID=""

    # One last scrape while the service still runs: every response wrk counted has been recorded by now.
    served=$(served_count "$SERVICE_ADDR") || served=missing
    stop_service

    line=$(grep '^LOADBENCH ' "$log.wrk" || true)
    [[ -n $line ]] || { cat "$log.wrk" >&2; die "wrk printed no LOADBENCH line (round $round, $mode)"; }
    requests=$(field requests "$line")

    errors=$(($(field connect_errors "$line") + $(field read_errors "$line") + $(field write_errors "$line") +
        $(field status_errors "$line") + $(field timeouts "$line")))
    ((errors == 0)) || problems+=" wrk-errors=$errors"

    scrapes_ok=$(grep -c '^ok' "$log.scrapes" || true)
    scrapes_failed=$(grep -c '^fail' "$log.scrapes" || true)
    # A scrape at the start and one a second after: at least RUN_SECONDS of them, none failed.
    ((scrapes_ok >= RUN_SECONDS && scrapes_failed == 0)) ||
        problems+=" scrapes=$scrapes_ok-ok/$scrapes_failed-failed"
    scrape_ms=$(awk '$1 == "ok" { t[n++] = $2 } END {
        if (n == 0) { print "-"; exit }
        for (i = 1; i < n; i++) { v = t[i]; for (j = i - 1; j >= 0 && t[j] > v; j--) t[j + 1] = t[j]; t[j + 1] = v }
        printf "%.2f\n", t[int((n - 1) / 2)] * 1000 }' "$log.scrapes")

    # wrk counts a response once it has read all of it, and stops at the deadline without reading what is still
    # in flight: up to one request per connection (no pipelining) that the service served and counted but wrk
    # did not, and as many again for requests cut off by errors. So the service's count may exceed wrk's by that
    # much, never fall short of it. Off, the handler is bare and nothing may be counted.
    if [[ $served == missing ]]; then
        diff="-"
        problems+=" no-${COUNT_SERIES}"
    elif [[ $instrumentation != off ]]; then
        diff=$((served - requests))
        slack=$((CONNECTIONS + errors))
        ((diff >= 0 && diff <= slack)) || problems+=" count-off-by=$diff(allowed-0..$slack)"
    else
        diff="-"
        ((served == 0)) || problems+=" counted-$served-while-off"
    fi

    cpu_us_per_req=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$CLK_TCK" -v n="$requests" \
        'BEGIN { printf "%.2f", (n > 0 ? t * 1e6 / hz / n : 0) }')
    cpu_percent=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$CLK_TCK" -v us="$(field duration_us "$line")" \
        'BEGIN { printf "%.0f", (us > 0 ? t / hz / (us / 1e6) * 100 : 0) }')

    [[ -z $problems ]] || INVALID=1
    echo "$round $mode $(field rps "$line") $(field p99_us "$line") $requests $served $diff $cpu_us_per_req" \
        "$cpu_percent $scrapes_ok $scrape_ms $load1${problems:+ INVALID:$problems}" >>"$RESULTS"
    printf '%-5s %-4s %10s %9s %10s %11s %5s %11s %6s %8s %9s %6s%s\n' "$round" "$mode" "$(field rps "$line")" \
        "$(awk -v us="$(field p99_us "$line")" 'BEGIN { printf "%.3f", us / 1000 }')" "$requests" "$served" \
        "$diff" "$cpu_us_per_req" "$cpu_percent" "$scrapes_ok/$((scrapes_ok + scrapes_failed))" "$scrape_ms" \
        "$load1" "${problems:+  INVALID:$problems}"
}

echo
echo "routemeter load benchmark: GET /accounts/{10000..10099}, $ROUNDS round(s) of ${RUN_SECONDS} s per mode,"
echo "wrk $THREADS thread(s) x $CONNECTIONS connection(s), /metrics scraped every second; $PIN_NOTE"
case $MODE in
    off) echo "CALIBRATION (LOAD_MODE=off): the \"on\" arm runs bare as well; any cost below is the method's own bias and noise" ;;
    handwritten) echo "LOAD_MODE=handwritten: the \"on\" arm runs the hand-written prometheus-crate middleware, not routemeter" ;;
esac
echo
printf '%-5s %-4s %10s %9s %10s %11s %5s %11s %6s %8s %9s %6s\n' round mode 'req/s' 'p99 ms' 'wrk reqs' \
    'svc count' diff 'CPU us/req' 'CPU %' scrapes 'scrape ms' load1
# ABBA order (on off, off on, on off, ...): each mode runs first in half of the rounds, so a load that drifts
# over the run (the machine is shared) biases neither mode.
for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2 == 1)); then
        run_once on "$round"
        run_once off "$round"
    else
        run_once off "$round"
        run_once on "$round"
    fi
done

# --- summary -------------------------------------------------------------------------------------------------

echo
awk -v target="$TARGET_PERCENT" '
    function sort(list, n, a,    i, j, v) {
        split(list, a, " ")
        for (i = 1; i <= n; i++) a[i] += 0
        for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    }
    function median(list, n,    a) {
        sort(list, n, a)
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    # The distribution-free confidence interval of a median: with the n values sorted, [x(k), x(n+1-k)] holds the
    # true median with probability 1 - 2 P(B <= k - 1), B ~ Binomial(n, 1/2); k is the largest rank for which that
    # is at least 95%. Sets lo and hi; returns 0 when n is too small for any such interval.
    function interval(list, n,    a, k, p, cdf, i) {
        sort(list, n, a)
        p = 0.5 ^ n; cdf = p; k = 0
        for (i = 0; i < n && cdf <= 0.025; i++) { k = i + 1; p = p * (n - i) / (i + 1); cdf += p }
        if (k < 1) return 0
        lo = a[k]; hi = a[n + 1 - k]
        return 1
    }
    function verdict(list, n, what) {
        printf "%s, median of the rounds: %.2f %%", what, median(list, n)
        if (!interval(list, n)) {
            printf " (too few rounds for a confidence interval: 6 at least)\n"
            return
        }
        printf ", 95 %% interval [%.2f, %.2f] %%: target <= %d %% %s\n", lo, hi, target,
            hi <= target ? "met" : (lo > target ? "NOT met" : "not decided (the interval straddles it; more rounds narrow it)")
    }
    {
        mode = $2; n[mode]++
        rps[mode] = rps[mode] " " $3; p99[mode] = p99[mode] " " $4; cpu[mode] = cpu[mode] " " $8
        round_rps[$1, mode] = $3; round_cpu[$1, mode] = $8
        if (min_share == "" || $9 + 0 < min_share) min_share = $9 + 0
    }
    END {
        printf "%-4s %14s %14s %18s\n", "mode", "median req/s", "median p99 ms", "median CPU us/req"
        for (k = 1; k <= 2; k++) {
            m = k == 1 ? "on" : "off"
            med_rps[m] = median(rps[m], n[m]); med_cpu[m] = median(cpu[m], n[m])
            printf "%-4s %14.1f %14.3f %18.2f\n", m, med_rps[m], median(p99[m], n[m]) / 1000, med_cpu[m]
        }
        printf "\nthroughput on/off (medians): %.4f, a cost of %.2f %%; service CPU per request on - off: %+.2f us (%+.2f %%)\n",
            med_rps["on"] / med_rps["off"], (1 - med_rps["on"] / med_rps["off"]) * 100,
            med_cpu["on"] - med_cpu["off"], (med_cpu["on"] / med_cpu["off"] - 1) * 100
        # Each round runs both modes back to back: the cost within a round is free of the drift between rounds.
        paired = ""; paired_cpu = ""
        printf "cost within each round, throughput %%:"
        for (r = 1; r <= n["on"]; r++) {
            c = (1 - round_rps[r, "on"] / round_rps[r, "off"]) * 100
            paired = paired " " c; printf " %.2f", c
            paired_cpu = paired_cpu " " (round_cpu[r, "on"] / round_cpu[r, "off"] - 1) * 100
        }
        printf "\n\n"
        verdict(paired, n["on"], "throughput cost of instrumentation")
        verdict(paired_cpu, n["on"], "CPU cost per request")
        # A saturated service uses its whole core; much less means something else ran there and the throughput
        # measured the share of the core the service got as much as its cost per request.
        if (min_share < 90)
            printf "note: in some runs the service used only %d %% of its core (other processes ran on it, or the client\n" \
                "      could not keep it busy), so throughput measured CPU share more than cost; CPU us/req is less\n" \
                "      sensitive to that. Rerun on a quiet machine, or with more rounds (LOAD_ROUNDS), for a verdict.\n", min_share
    }' "$RESULTS"

if ((INVALID)); then
    echo
    echo "load.sh: some runs were not valid (see INVALID above); their numbers are shown but not to be trusted" >&2
    exit 1
fi
