# tour/lib.bash - what the tour steps share. Each tour/NN-name.sh is sourced
# in order by tour/run, from the top of the checkout, with these functions.

# curl talks to loopback directly, whatever proxy the environment names.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY

TOUR_TMP=$(mktemp -d)
TOUR_PIDS=()
tour_cleanup() {
    local pid
    for pid in "${TOUR_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TOUR_TMP"
}
trap tour_cleanup EXIT

if [[ -t 1 ]]; then BOLD=$'\e[1m' DIM=$'\e[2m' PLAIN=$'\e[0m'; else BOLD='' DIM='' PLAIN=''; fi

# heading TEXT: the one-line heading of a step.
heading() { printf '\n%s== %s ==%s\n' "$BOLD" "$*" "$PLAIN"; }

# say TEXT: what to notice, as a comment.
say() { printf '%s# %s%s\n' "$DIM" "$*" "$PLAIN"; }

# shown COMMAND...: print the command as typed, run it (bounded), print a
# non-zero exit status. Never stops the tour.
shown() {
    printf '$ %s\n' "$*"
    local status=0
    timeout 10 "$@" 2>&1 || status=$?
    ((status == 0)) || printf '%s(exit status %d)%s\n' "$DIM" "$status" "$PLAIN"
    return 0
}

# serve NAME COMMAND...: start a program in the background, as in a second
# terminal; its lines appear prefixed "[NAME]" and are kept in
# $TOUR_TMP/NAME.out. Sets SERVED_PID.
serve() {
    local name=$1
    shift
    printf '$ %s &\n' "$*"
    rm -f "$TOUR_TMP/$name.out"     # a name used by an earlier step
    "$@" > >(tee "$TOUR_TMP/$name.out" | sed -u "s/^/    [$name] /") 2>&1 &
    SERVED_PID=$!
    TOUR_PIDS+=("$SERVED_PID")
}

# await NAME REGEX: wait, at most 5 s, for a line of NAME's output.
await() {
    local tries=0
    until grep -qE -- "$2" "$TOUR_TMP/$1.out" 2>/dev/null; do
        ((tries++ < 250)) || { echo "tour: no line /$2/ from $1" >&2; return 1; }
        sleep 0.02
    done
}

# port_of NAME: the port from NAME's "getsockname(FD) = ADDR:PORT" line.
port_of() {
    await "$1" '^getsockname\([0-9]+\) = ' &&
        sed -nE 's/^getsockname\([0-9]+\) = .*:([0-9]+)$/\1/p' "$TOUR_TMP/$1.out" | head -n 1
}

# finish PID [SIGNAL]: signal a served program and wait for it to end.
finish() {
    printf '$ kill -%s %s\n' "${2:-INT}" "$1"
    kill "-${2:-INT}" "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    sleep 0.05   # let the prefixing sed print the last lines
}
