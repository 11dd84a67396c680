# shellcheck shell=bash
# What the benchmark scripts share: messages, settings, tools, CPU pinning, the cleanup of what they start, the
# release build of the example, starting and stopping it, the request count and CPU time of the running service.
# Sourced by bench/load.sh, bench/instructions.sh and bench/profile.sh, which set SCRIPT (their name, for messages)
# and ROOT first. Sourcing it installs the cleanup on exit (see `cleanup`).

# EPOCHREALTIME's decimal separator and awk's number formatting follow the locale.
export LC_ALL=C

die() {
    echo "$SCRIPT: $*" >&2
    exit 2
}

# Checks that each setting given as NAME:VARIABLE (the environment variable, the script's variable holding its
# value) is a positive integer.
positive_integers() {
    local setting value
    for setting in "$@"; do
        value=${setting#*:}
        [[ ${!value} =~ ^[1-9][0-9]*$ ]] || die "${setting%%:*} must be a positive integer, got '${!value}'"
    done
}

# A Debian-packaged tool: installed when missing and we are root, otherwise a clear message.
require() {
    local tool=$1 package=$2
    command -v "$tool" >/dev/null 2>&1 && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "$SCRIPT: $tool is missing; installing the Debian package $package" >&2
        apt-get install -y "$package" >/dev/null ||
            { apt-get update >/dev/null && apt-get install -y "$package" >/dev/null; } ||
            die "could not install $package; install it with: apt-get install $package"
    fi
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required: apt-get install $package (as root)"
}

# Pinning: the service on one core, the client side (wrk, the scraper) on another. Unpinned, the service's runtime (a
# worker per core) and wrk would compete for both cores and the scheduler would decide who gets what from run to
# run; pinned, the service owns one core (its runtime sizes itself to that one core), the client side cannot steal
# it, and the throughput measures the service's CPU cost per request, which is what instrumentation changes. Other
# jobs on the machine still share both cores.
#
# pin_cpus SERVER CLIENT sets SERVER_PIN and CLIENT_PIN to the command prefixes that pin the service to CPU SERVER
# and the client side to CPU CLIENT, when taskset and two CPUs are there, and PIN_NOTE to say what was done.
# shellcheck disable=SC2034 # read by the scripts that source this file
SERVER_PIN=()
CLIENT_PIN=()
PIN_NOTE="not pinned"
# shellcheck disable=SC2034
pin_cpus() {
    if ! command -v taskset >/dev/null 2>&1; then
        PIN_NOTE="not pinned (taskset missing: apt-get install util-linux)"
    elif (($(nproc) < 2)); then
        PIN_NOTE="not pinned (fewer than 2 CPUs available)"
    else
        SERVER_PIN=(taskset -c "$1")
        CLIENT_PIN=(taskset -c "$2")
        PIN_NOTE="service on CPU $1, client side on CPU $2"
    fi
}

# What a script starts, stopped when it exits however it exits: the service, wrk and the scraper, by process id
# (empty when not running); and its folder of logs, WORK, removed when the script succeeds unless KEEP_WORK is 1.
SERVICE_PID=""
WRK_PID=""
SCRAPER_PID=""
WORK=""
KEEP_WORK=0
cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "$WRK_PID" "$SCRAPER_PID" "$SERVICE_PID"; do
        if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in "$WRK_PID" "$SCRAPER_PID" "$SERVICE_PID"; do
        if [[ -n $pid ]]; then wait "$pid" 2>/dev/null || true; fi
    done
    if [[ -n $WORK ]]; then
        if [[ $status == 0 && $KEEP_WORK != 1 ]]; then
            rm -rf "$WORK"
        else
            echo "$SCRIPT: logs kept in $WORK" >&2
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Builds the example in release mode and sets BINARY to its executable; BENCH_BINARY, when set, names an executable
# built before to use instead (to compare two builds of routemeter under the same script), and cargo is not needed.
build_example() {
    if [[ -n ${BENCH_BINARY:-} ]]; then
        [[ -x $BENCH_BINARY ]] || die "BENCH_BINARY ($BENCH_BINARY) is not an executable"
        BINARY=$BENCH_BINARY
        echo "using BENCH_BINARY=$BINARY, not building" >&2
        return
    fi
    require cargo cargo
    echo "building: cargo build --release --example accountservice -p accountservice" >&2
    BINARY=$(cd "$ROOT" && cargo build --release --example accountservice -p accountservice \
        --message-format=json-render-diagnostics |
        sed -n 's/.*"executable":"\([^"]*\/examples\/accountservice\)".*/\1/p' | tail -n 1)
    [[ -n $BINARY && -x $BINARY ]] || die "cargo did not report the accountservice example's executable"
}

# Whether a process we started is still running (a child that exited stays a zombie until waited for, and
# `kill -0` succeeds on zombies).
alive() {
    local stat rest
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    rest=${stat##*) }
    [[ ${rest%% *} != Z ]]
}

# Starts the example with instrumentation $1 on an ephemeral loopback port, logging to $2.out and $2.err, behind the
# command prefix in the remaining arguments (CPU pinning, a profiler; none for a plain start); sets SERVICE_PID, then
# waits up to $3 seconds for the service to say where it listens and answer GET /health, and sets SERVICE_ADDR.
start_service() {
    local mode=$1 log=$2 seconds=$3 line="" i
    shift 3
    "$@" "$BINARY" --addr 127.0.0.1:0 --instrumentation "$mode" >"$log.out" 2>"$log.err" &
    SERVICE_PID=$!
    for ((i = 0; i < seconds * 10; i++)); do
        line=$(head -n 1 "$log.out" 2>/dev/null || true)
        [[ $line == *"listening on http://"* ]] && break
        alive "$SERVICE_PID" || die "the service exited at start-up: $(cat "$log.err")"
        sleep 0.1
    done
    [[ $line == *"listening on http://"* ]] || die "the service did not say where it listens within $seconds s"
    [[ $line == *"(instrumentation $mode)"* ]] || die "asked for instrumentation $mode, the service says: $line"
    SERVICE_ADDR=${line#*http://}
    SERVICE_ADDR=${SERVICE_ADDR%% *}
    for ((i = 0; i < seconds * 10; i++)); do
        curl -fsS --max-time 1 -o /dev/null "http://$SERVICE_ADDR/health" 2>/dev/null && return 0
        sleep 0.1
    done
    die "the service at $SERVICE_ADDR did not answer GET /health within $seconds s"
}

# Stops the service with SIGTERM (graceful shutdown, bounded by the service itself), SIGKILL after 15 s.
stop_service() {
    local i
    kill -TERM "$SERVICE_PID" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        alive "$SERVICE_PID" || break
        sleep 0.1
    done
    kill -KILL "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
    SERVICE_PID=""
}

# Value of key $1 in the "LOADBENCH key=value ..." line that bench/accounts.lua prints, in $2.
field() {
    local pair
    for pair in $2; do
        [[ $pair == "$1="* ]] && { echo "${pair#*=}"; return 0; }
    done
    echo "missing"
}

# The summary count of the handler under load: GET /accounts/{id} requests the service counted.
COUNT_SERIES='accountservice_GetAccount_count{service="duration"}'

# The value of $COUNT_SERIES in a fresh, uncompressed scrape of $1.
served_count() {
    curl -fsS --max-time 5 "http://$1/metrics" |
        awk -v series="$COUNT_SERIES" '$1 == series { printf "%.0f\n", $2; found = 1 } END { if (!found) print "missing" }'
}

# User plus system CPU time of a process, in clock ticks (all its threads).
cpu_ticks() {
    local stat rest fields
    stat=$(cat "/proc/$1/stat")
    rest=${stat##*) }
    read -r -a fields <<<"$rest"
    echo $((fields[11] + fields[12]))
}
