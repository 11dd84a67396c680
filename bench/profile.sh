#!/usr/bin/env bash
# Profile of the accountservice example under load: which share of the service's CPU time routemeter's own functions
# take, measured where it matters, in a running service, rather than in a benchmark with warm caches.
#
# Builds the example in release mode, starts it with instrumentation on (on CPU 0, wrk on CPU 1, when taskset is
# available), drives GET /accounts/{id} with wrk, and samples the service with `perf record -e cpu-clock` for a few
# seconds. Prints the share of all samples (user and kernel) that fall in functions whose names contain
# `routemeter::`, then those functions one by one. Code that the compiler inlined counts where it lands: the
# attribute's future (`Observed::poll`, with the request's start and a clock read) is inlined into the handler's
# own future, so its part of a request counts in the example's function, not here.
#
# It also prints the service's CPU time per request over the profile and routemeter's part of it. The profiler
# slows each request down by about a quarter: the share is what to compare between runs, and times the CPU time
# per request that bench/load.sh prints it gives routemeter's time per request without the profiler.
#
# Usage: bench/profile.sh
# Environment: PROFILE_SECONDS (8), PROFILE_CONNECTIONS (32), BENCH_BINARY (a build to use instead).
# Exit status: 0 on success, 2 on bad settings, a missing tool, a profiler that may not run, or a service or wrk
# that failed to run.
set -euo pipefail

SCRIPT=profile.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

SECONDS_PROFILED=${PROFILE_SECONDS:-8}
CONNECTIONS=${PROFILE_CONNECTIONS:-32}
positive_integers PROFILE_SECONDS:SECONDS_PROFILED PROFILE_CONNECTIONS:CONNECTIONS

require perf linux-perf
require wrk wrk
require curl curl

pin_cpus 0 1

build_example
WORK=$(mktemp -d "${TMPDIR:-/tmp}/routemeter-profile.XXXXXX")

start_service on "$WORK/service" 10 "${SERVER_PIN[@]}"

# Drives the service for $1 seconds, writing wrk's report to $2.
drive() {
    "${CLIENT_PIN[@]}" wrk -t 1 -c "$CONNECTIONS" -d "${1}s" --timeout 10s -s "$ROOT/bench/accounts.lua" \
        "http://$SERVICE_ADDR/" >"$2"
}

echo "profiling: ${SECONDS_PROFILED} s of the service under wrk ($CONNECTIONS connections)" >&2
drive 2 "$WORK/warm-up.txt" || die "wrk failed against $SERVICE_ADDR"
# wrk runs a second longer on each side of the profile, so that every sample is taken under load.
drive $((SECONDS_PROFILED + 2)) "$WORK/wrk.txt" &
WRK_PID=$!
sleep 1
served_before=$(served_count "$SERVICE_ADDR") || die "the service did not answer GET /metrics"
cpu_before=$(cpu_ticks "$SERVICE_PID")
perf record -F 10000 -e cpu-clock -p "$SERVICE_PID" -o "$WORK/perf.data" -- sleep "$SECONDS_PROFILED" \
    >"$WORK/perf.log" 2>&1 ||
    die "perf record failed (as a user other than root it needs kernel.perf_event_paranoid <= 1): $(tail -n 3 "$WORK/perf.log")"
cpu_after=$(cpu_ticks "$SERVICE_PID")
served_after=$(served_count "$SERVICE_ADDR") || die "the service did not answer GET /metrics"
wait "$WRK_PID" || die "wrk failed against $SERVICE_ADDR"
WRK_PID=""
[[ $served_before =~ ^[0-9]+$ && $served_after =~ ^[0-9]+$ ]] || die "no $COUNT_SERIES in the service's /metrics"
requests=$((served_after - served_before))
((requests > 0)) || die "the service counted no request while profiled (see $WORK/wrk.txt)"

perf report -i "$WORK/perf.data" --stdio --no-children --sort symbol -g none 2>/dev/null |
    awk -v requests="$requests" -v ticks=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" '
        /^#/ || !/%/ { next }
        {
            share = $1; sub("%", "", share)
            name = $0; sub(/^ *[0-9.]+% +\[[^]]*\] +/, "", name); sub(/[ -]+$/, "", name)
            if (name ~ /routemeter::/) { own += share; names[++n] = name; shares[n] = share }
        }
        END {
            us = ticks / hz * 1e6 / requests
            printf "\nwhile profiled: %d requests, %.2f us of service CPU time each\n", requests, us
            printf "routemeter functions: %.2f %% of the service\047s CPU samples (user and kernel),", own
            printf " %.0f ns per request\n", own / 100 * us * 1000
            for (i = 1; i <= n; i++) printf "  %6.2f %%  %s\n", shares[i], names[i]
        }'
