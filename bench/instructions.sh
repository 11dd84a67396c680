#!/usr/bin/env bash
# Instruction benchmark of the accountservice example: what routemeter's instrumentation costs a real HTTP
# service, counted in instructions rather than seconds, so that the figures do not depend on what else the machine
# is doing (bench/load.sh measures time, and on a shared machine its rounds vary by several percent).
#
# Builds the example in release mode and runs it under valgrind's callgrind, once with instrumentation on and
# once off. Each time it warms the service up with wrk, then counts every instruction the service executes while
# wrk drives GET /accounts/{id} for a few seconds, and divides by the requests served. Prints the instructions per
# request in both modes and the instructions per request in routemeter's own functions, which callgrind
# attributes exactly, with their share of the service's.
#
# Then counts the instructions of a render of /metrics for 100 handlers, as the benchmark's `render/text/100` sets
# them up (each render after a new request on every handler), with the benchmark executable run under callgrind
# with collection on only inside its render function.
#
# Only user space is counted: the kernel's side of each request (most of its cost for this small service: the
# loopback TCP stack) is not, so the share printed is larger than routemeter's share of the service's CPU time.
# Instructions are not time either: cache misses cost time without costing instructions.
#
# Usage: bench/instructions.sh
# Environment: INSTR_SECONDS (5), INSTR_CONNECTIONS (8), INSTR_RENDERS (200), BENCH_BINARY (a build of the
# example to use instead), RENDER_BINARY (a build of the benchmark executable to use instead).
# Exit status: 0 on success, 2 on bad settings, a missing tool, or a service or wrk that failed to run.
set -euo pipefail

SCRIPT=instructions.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

SECONDS_MEASURED=${INSTR_SECONDS:-5}
CONNECTIONS=${INSTR_CONNECTIONS:-8}
RENDERS=${INSTR_RENDERS:-200}
positive_integers INSTR_SECONDS:SECONDS_MEASURED INSTR_CONNECTIONS:CONNECTIONS INSTR_RENDERS:RENDERS

require valgrind valgrind
require callgrind_control valgrind
require callgrind_annotate valgrind
require wrk wrk
require curl curl

build_example
WORK=$(mktemp -d "${TMPDIR:-/tmp}/routemeter-instructions.XXXXXX")

# Drives the service for $1 seconds; prints the number of requests wrk completed.
drive() {
    local line
    line=$(wrk -t 1 -c "$CONNECTIONS" -d "${1}s" --timeout 10s -s "$ROOT/bench/accounts.lua" \
        "http://$SERVICE_ADDR/" | grep '^LOADBENCH ') || die "wrk failed against $SERVICE_ADDR"
    field requests "$line"
}

# Sends callgrind command $1 to the service.
control() {
    callgrind_control "$1" "$SERVICE_PID" >/dev/null 2>&1 || die "callgrind_control $1 failed"
}

# Counts the instructions of the service in mode $1 over a measured run; prints "REQUESTS TOTAL ROUTEMETER", the
# last being the instructions in functions whose names contain routemeter::.
measure() {
    local mode=$1 log="$WORK/$1" requests dump
    # The service starts far slower under valgrind.
    start_service "$mode" "$log" 120 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$log.callgrind"
    drive 2 >/dev/null # warm-up: connections, allocations, the first page of every summary
    control --instr=on
    requests=$(drive "$SECONDS_MEASURED")
    control --instr=off
    control --dump
    stop_service
    # The dump asked for above is part 1; the service's exit writes another file without a part number.
    dump="$log.callgrind.1"
    [[ -s $dump ]] || die "callgrind wrote no profile for instrumentation $mode (see $log.err)"
    [[ $requests =~ ^[1-9][0-9]*$ ]] || die "wrk completed no request with instrumentation $mode"
    callgrind_annotate --threshold=100 --show-percs=no "$dump" | awk -v requests="$requests" '
        function count(text) { gsub(",", "", text); return text + 0 }
        /PROGRAM TOTALS/ { total = count($1) }
        / [^ ]*:[^ ]*routemeter::/ { own += count($1) }
        END { printf "%d %d %d\n", requests, total, own }'
}

# Counts the instructions of $RENDERS renders of 100 handlers; prints the instructions per render.
measure_renders() {
    local exe=${RENDER_BINARY:-} profile="$WORK/render.callgrind"
    if [[ -z $exe ]]; then
        exe=$(cd "$ROOT" && cargo bench -p routemeter --bench routemeter --no-run --message-format=json 2>"$WORK/render-build.err" |
            grep -o '"executable":"[^"]*"' | sed 's/^"executable":"//; s/"$//' | tail -n 1) ||
            die "could not build the benchmark executable (see $WORK/render-build.err)"
    fi
    [[ -x $exe ]] || die "no benchmark executable to count renders with: '$exe'"
    ROUTEMETER_BENCH_RENDERS=$RENDERS valgrind --tool=callgrind --toggle-collect='*counted_render*' \
        --callgrind-out-file="$profile" "$exe" >/dev/null 2>"$WORK/render.err" ||
        die "the benchmark executable failed to render under callgrind (see $WORK/render.err)"
    callgrind_annotate --threshold=100 --show-percs=no "$profile" | awk -v renders="$RENDERS" '
        function count(text) { gsub(",", "", text); return text + 0 }
        /PROGRAM TOTALS/ { printf "%d\n", count($1) / renders }'
}

echo "counting instructions: ${SECONDS_MEASURED} s of wrk ($CONNECTIONS connections) per mode, under callgrind" >&2
read -r on_requests on_total on_own < <(measure on)
read -r off_requests off_total _ < <(measure off)
echo "counting instructions: $RENDERS renders of /metrics for 100 handlers, under callgrind" >&2
per_render=$(measure_renders)

awk -v onr="$on_requests" -v ont="$on_total" -v own="$on_own" -v offr="$off_requests" -v offt="$off_total" 'BEGIN {
    on = ont / onr; off = offt / offr; mine = own / onr
    printf "\nuser-space instructions per GET /accounts/{id} (kernel not counted)\n"
    printf "  instrumentation on    %9.0f   (%d requests)\n", on, onr
    printf "  instrumentation off   %9.0f   (%d requests)\n", off, offr
    printf "  on - off              %+9.0f   (%+.2f %%; varies by a few hundred from run to run with the event loop)\n", on - off, (on / off - 1) * 100
    printf "  in routemeter::       %9.0f   (%.2f %% of the instrumented service\047s; inlined code counts where it lands)\n", mine, mine / on * 100
}'
echo "instructions per render of /metrics for 100 handlers (the benchmark's render/text/100)"
printf "  render                %9d   (%d renders)\n" "$per_render" "$RENDERS"
