# timelines/lib.bash - what the timeline scenarios (timelines/NN-name.sh)
# share. timelines/run sources this, then one scenario, from the top of the
# checkout, with TIMELINE_DIR set to an empty folder for the traces.
#
# A scenario starts each process of the picture with `lane` (background) or
# `lane_run` (foreground): one lane of the picture per call. It may use the
# tour's helpers too (tour/lib.bash): await NAME REGEX, port_of NAME.
#
#   lane NAME COMMAND...       start COMMAND under strace; LANE_PID is its pid
#   lane_run NAME COMMAND...   the same, and wait until it ends
#   stop_lane NAME [SIGNAL]    signal NAME (default INT), wait until it ends
#   end_lane NAME              wait (at most 10 s) until NAME ends by itself
#   open_fifo VAR NAME         a FIFO TIMELINE_DIR/NAME, held open, its fd in
#                              VAR: write to it to type into a lane started
#                              with LANE_STDIN=$TIMELINE_DIR/NAME; close it
#                              (exec {VAR}>&-) for the lane to read EOF
#
# Each lane leaves in TIMELINE_DIR: NAME.trace (strace's), NAME.out (the
# program's stdout and stderr: a lab's narration), NAME.command; and the
# lanes' order in TIMELINE_DIR/lanes.

# shellcheck source=tour/lib.bash
source tour/lib.bash
# tour_cleanup was written for a shell without `set -e`; scenarios run with it.
trap 'set +e; tour_cleanup' EXIT

# What strace records: every network call, the I/O calls (kept only on
# sockets, and fd 1 to count a lab's narration lines), the waits, and
# execve (a lane's narration starts after it).
TIMELINE_CALLS='trace=%network,read,write,close,poll,ppoll,select,pselect6,pause,execve'

declare -A LANE_TRACER=()   # NAME -> pid of its strace
FIFO_FDS=()                 # the scenario's FIFO ends, which lanes must not inherit

open_fifo() {
    local fd
    mkfifo "$TIMELINE_DIR/$2" && exec {fd}<>"$TIMELINE_DIR/$2" || return 1
    FIFO_FDS+=("$fd")
    printf -v "$1" '%s' "$fd"
}

lane() {
    local name=$1
    shift
    [[ -z ${LANE_TRACER[$name]:-} ]] || { echo "timeline: lane '$name' twice" >&2; return 1; }
    printf '%s\n' "$name" >>"$TIMELINE_DIR/lanes"
    printf '%s\n' "$*" >"$TIMELINE_DIR/$name.command"
    local pid_file="$TIMELINE_DIR/$name.pid"
    # -f: a lane's threads and children too; -ttt -T: start and time inside
    # each call; -yy: what each descriptor is (TCP:[local->remote]), which
    # ties a connection's two ends together across lanes.
    # The shell writes its pid, then becomes COMMAND (exec keeps the pid).
    (
        # Nothing but stdin, stdout and stderr: not the scenario's FIFO ends,
        # nor what the caller had open (bats' fd 3), so that fd numbers are
        # the same in every run and nobody waits for a lane to close them.
        for fd in "${FIFO_FDS[@]}" $(ls /proc/$BASHPID/fd); do
            ((fd > 2)) && exec {fd}>&- 2>/dev/null
        done
        exec strace -f -ttt -T -yy -q -s 1024 -e "$TIMELINE_CALLS" -o "$TIMELINE_DIR/$name.trace" \
            bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$@"
    ) >"$TIMELINE_DIR/$name.out" 2>&1 <"${LANE_STDIN:-/dev/null}" &
    LANE_TRACER[$name]=$!
    TOUR_PIDS+=("$!")
    ln -sf "$TIMELINE_DIR/$name.out" "$TOUR_TMP/$name.out"   # for await, port_of
    local tries=0
    until [[ -s $pid_file ]]; do
        ((tries++ < 500)) || { echo "timeline: lane '$name' did not start" >&2; return 1; }
        sleep 0.01
    done
    LANE_PID=$(<"$pid_file")   # for the scenario
    export LANE_PID
}

lane_run() {
    lane "$@" && end_lane "$1"
}

end_lane() {
    local tracer=${LANE_TRACER[$1]}
    timeout 10 tail -s 0.02 --pid="$tracer" -f /dev/null ||
        { echo "timeline: lane '$1' did not end" >&2; kill -KILL "$tracer"; return 1; }
    wait "$tracer" 2>/dev/null
    return 0
}

stop_lane() {
    kill "-${2:-INT}" "$(<"$TIMELINE_DIR/$1.pid")" && end_lane "$1"
}
