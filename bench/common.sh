# shellcheck shell=bash
# What the benchmark scripts share: messages, tools, the release build of the example, process checks, the request
# count and CPU time of the running service. Sourced by bench/load.sh, bench/instructions.sh and bench/profile.sh,
# which set SCRIPT (their name, for messages) and ROOT first.

# EPOCHREALTIME's decimal separator and awk's number formatting follow the locale.
export LC_ALL=C

die() {
    echo "$SCRIPT: $*" >&2
    exit 2
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

# Builds the example in release mode and sets BINARY to its executable.
build_example() {
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

# Waits up to $3 seconds for the service started as process $1 with instrumentation $4, logging to $2.out and
# $2.err, to say where it listens and answer GET /health; sets SERVICE_ADDR.
await_service() {
    local pid=$1 log=$2 seconds=$3 mode=$4 line="" i
    for ((i = 0; i < seconds * 10; i++)); do
        line=$(head -n 1 "$log.out" 2>/dev/null || true)
        [[ $line == *"listening on http://"* ]] && break
        alive "$pid" || die "the service exited at start-up: $(cat "$log.err")"
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
