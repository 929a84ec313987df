# shellcheck disable=SC2034,SC2154
# (SC2154: $status, $output, $lines and $stderr are set by bats' `run`;
#  SC2034: LAB_PID, LAB_STATUS, PORT ... are set here for the tests to read.)
#
# tests/helpers.bash - the mechanics shared by every lab's tests, so that a
# test body shows only the behaviour it checks.
#
#   start_lab LAB ARGS...       start labs/LAB/NAME in the background
#   wait_for_line REGEX         wait (bounded) for a line in its stdout
#   wait_for_port               ... for the getsockname line; prints the port
#   count_lines REGEX, wait_for_lines N REGEX   how many lines match; wait for N
#   assert_blocked_in CALL...   it is asleep inside one of these system calls
#   stop_lab [SIGNAL]           signal it, wait (bounded), set LAB_STATUS
#   fd_count PID                how many descriptors a process has open
#   run_lab LAB ARGS...         run a lab in the foreground under `run`
#   run_as_lab LAB CMD ARGS...  the same for a command that execs the lab (setpriv ...)
#   assert_help, assert_rejects_bad_address_and_port, assert_usage_error,
#   assert_call_failed, assert_last_line   checks shared by every lab
#   hold_connection ADDR PORT   a background client that connects and holds on
#   wait_for_connected          ... until its connect() has returned
#   reset_connection ADDR PORT  a client that connects, then aborts (RST)
#   local_end PORT [ADDR], remote_end PORT [ADDR]   ss filters: ADDR:PORT
#                               (default 127.0.0.1), never the port alone
#   accept_queue PORT [ADDR]    ss's "QUEUED BACKLOG" for the listener on PORT
#   queued_and_connected PORT Q C   Q queued, C not reset (connected_on PORT)
#   in_time_wait PORT [ADDR]    a connection on ADDR:PORT is in TIME_WAIT
#   in_close_wait PORT [ADDR]   ... in CLOSE-WAIT (the peer's FIN is in)
#   suspend_lab, resume_lab     SIGSTOP (waiting until stopped), SIGCONT
#   open_client tcp|udp PORT    a socket of the test's own shell (bash /dev/tcp, /dev/udp)
#   close_client                ... closed again (TCP: FIN, or RST with unread bytes)
#   start_hostile_clients ADDR PORT [KIND...]  clients that misbehave (random
#                               bytes, 1 MiB, RST, request+FIN+RST, half-close)
#   wait_for_hostile_clients    ... until all have connected and done what needs no answer
#   end_peer [PID]              a background client goes away (hold_connection + this: a silent one)
#   hostile_datagrams ADDR PORT random, 64 KiB and empty datagrams
#   datagram_to ADDR PORT BYTES one UDP datagram (bash /dev/udp)
#   strace_lab CALLS LAB ARGS   run a lab under strace: $BATS_TEST_TMPDIR/trace, narration
#   start_traced_lab [-f] CALLS LAB ARGS   the same in the background: LAB_PID, STRACE_PID
#
# Labs come from $LABS_DIR (default: this checkout's labs/), laid out like
# labs/: LABS_DIR/02-bind/bind. An instructor points it at students' builds.

# load_library NAME: source bats-support or bats-assert. Their load.bash
# runs `$(dirname ...)` for each of its files: some 16 processes, for every
# test. When load.bash is only such source lines, source the same files
# from here; otherwise (another version) let bats load it.
load_library() {
    local name=$1 dir line files=()
    local pattern='^source "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)/([^"]+)"$'
    for dir in ${BATS_LIB_PATH//:/ } /usr/lib/bats /usr/local/lib/bats; do
        [[ -f $dir/$name/load.bash ]] || continue
        while IFS= read -r line; do
            [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
            if [[ $line =~ $pattern ]]; then
                files+=("$dir/$name/${BASH_REMATCH[1]}")
            else
                bats_load_library "$name"
                return 0
            fi
        done <"$dir/$name/load.bash"
        for line in "${files[@]}"; do
            # shellcheck disable=SC1090 # the library's own files
            source "$line"
        done
        return 0
    done
    bats_load_library "$name"
}
load_library bats-support
load_library bats-assert

LABS_DIR=${LABS_DIR:-$BATS_TEST_DIRNAME/../labs}

# Tests match other programs' messages (bash's "Connection refused"): in
# English, whatever the user's locale. And curl talks to loopback directly,
# whatever proxy the user's environment names.
export LC_ALL=C
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY

# Python for the tests' scripted clients: the system's own when there is
# one (/usr/bin/python3 starts as one process; a version manager's shim
# first in PATH, such as pyenv's, starts dozens to pick one), else PATH's.
PYTHON3=python3
[[ -x /usr/bin/python3 ]] && PYTHON3=/usr/bin/python3

# Every wait is bounded: this many seconds unless a test says otherwise.
WAIT_SECONDS=${WAIT_SECONDS:-5}
# How often a wait looks again. Each look is made by this shell itself
# (bash's `read` on the file or /proc), and the pause between two looks is
# bash's loadable `sleep` builtin when Debian's bash-builtins is installed:
# a wait starts no process at all.
POLL_INTERVAL=0.02
# A wait gives up early when the answer is known: at once when the process
# it waits on has exited; after QUIET_SECONDS when the lab is asleep in a
# call that only an outside event can end (accept, recv, pause ...), nothing
# this test started has run meanwhile, no packet is on its way (ksoftirqd
# idle, no half-open or closing connection or unacknowledged byte on the
# lab's ports) and so no wake-up is coming. QUIET_TIMED_SECONDS instead
# while one of the test's processes sleeps in a call with a time limit (a
# client's own pause). See "Knowing early that a wait is in vain" below.
QUIET_SECONDS=${QUIET_SECONDS:-0.1}
QUIET_TIMED_SECONDS=${QUIET_TIMED_SECONDS:-1}

# The background processes this test started, for teardown.
STARTED_PIDS=()
# Which process writes which log (start_lab, start_peer), and which of them
# are labs, so that a wait on a log knows whom to watch.
declare -gA WRITER_OF=() IS_LAB=()

SLEEP_BUILTIN=''
# sleep and rm: bash's own when they can be loaded (Debian's bash-builtins):
# no process per pause, nor for the `rm -f` bats runs after each test.
for _dir in ${BASH_LOADABLES_PATH//:/ } /usr/lib/bash /usr/local/lib/bash; do
    if [[ -f $_dir/sleep ]] && enable -f "$_dir/sleep" sleep 2>/dev/null; then
        SLEEP_BUILTIN=1
        [[ -f $_dir/rm ]] && enable -f "$_dir/rm" rm 2>/dev/null
        break
    fi
done
unset _dir

# bats 1.8 times each test with $(date +%s%N): two processes a test. The
# same milliseconds from bash's clock: one.
if declare -F get_mills_since_epoch >/dev/null; then
    get_mills_since_epoch() {
        local now=${EPOCHREALTIME//[!0-9]/}
        echo $((now / 1000))
    }
fi

# lab_binary LAB: print the path of a lab's binary: 02-bind -> $LABS_DIR/02-bind/bind
lab_binary() {
    printf '%s/%s/%s\n' "$LABS_DIR" "$1" "${1#[0-9][0-9]-}"
}

# start_lab LAB ARGS...
# Starts the lab with bats' fds 3 and 4 closed (an inherited copy would make
# bats wait for it) and its output in log files, never the test's stdout.
# (No setsid: under job control it forks, and $! would not be the lab.) Sets:
#   LAB_PID   its process id
#   LAB_OUT   the file with its stdout (the narration)
#   LAB_ERR   the file with its stderr
_start_lab() {
    local lab=$1
    shift
    local binary=$LABS_DIR/$lab/${lab#[0-9][0-9]-}
    [[ -x $binary ]] || fail "no lab binary at $binary (build it: make -C labs/$lab)"
    LAB_OUT="$BATS_TEST_TMPDIR/$lab.${#STARTED_PIDS[@]}.out"
    LAB_ERR="$BATS_TEST_TMPDIR/$lab.${#STARTED_PIDS[@]}.err"
    : >"$LAB_OUT"    # emptied before it starts (see start_peer)
    "$binary" "$@" >"$LAB_OUT" 2>"$LAB_ERR" </dev/null 3>&- 4>&- &
    LAB_PID=$!
    STARTED_PIDS+=("$LAB_PID")
    WRITER_OF[$LAB_OUT]=$LAB_PID
    IS_LAB[$LAB_PID]=1
}

# start_peer OUTFILE COMMAND...: start a helper program (an nc client, say)
# in the background, its output in OUTFILE; sets PEER_PID. Teardown ends it.
_start_peer() {
    local out=$1
    shift
    # Emptied here, before the program starts: a wait that opens OUT right
    # after this must not read a former run's lines and then sit past the
    # end of the file the program is about to truncate.
    : >"$out"
    "$@" >"$out" 2>&1 </dev/null 3>&- 4>&- &
    PEER_PID=$!
    STARTED_PIDS+=("$PEER_PID")
    WRITER_OF[$out]=$PEER_PID
}

# start_traced_lab [-f] CALLS LAB ARGS...: start the lab under strace in the
# background, tracing CALLS (e.g. listen,accept); -f: its children too (the
# trace's lines then begin with a pid). strace's record goes to
# $BATS_TEST_TMPDIR/trace, the lab's stdout and stderr to LAB_OUT
# ($BATS_TEST_TMPDIR/narration). Sets STRACE_PID, and LAB_PID to the lab
# (find_traced_lab; teardown ends both): waits on the narration watch the
# lab itself, so they stop early as start_lab's do. A lab that exits before
# it is seen fails here, at once. Wait for the end with
# wait_for_exit "$STRACE_PID" "$LAB_PID". (LeakSanitizer cannot run under
# ptrace: off for a sanitized build.)
_start_traced_lab() {
    local follow=()
    if [[ $1 == -f ]]; then
        follow=(-f)
        shift
    fi
    local calls=$1 lab=$2
    shift 2
    LAB_OUT=$BATS_TEST_TMPDIR/narration
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        _start_peer "$LAB_OUT" strace "${follow[@]}" -o "$BATS_TEST_TMPDIR/trace" -e "trace=$calls" \
        "$(lab_binary "$lab")" "$@"
    STRACE_PID=$PEER_PID
    find_traced_lab "$lab" "$LAB_OUT" ||
        fail "strace ended at once: the lab exited before it could be seen; it printed: $(cat "$LAB_OUT")"
}

# traced_lab_found NAME: LAB_PID=strace's child of that name, if it has one
# yet; true too once strace has ended (LAB_PID empty then).
traced_lab_found() {
    local child name
    { read -r -a child <"/proc/$STRACE_PID/task/$STRACE_PID/children"; } 2>/dev/null
    for child in "${child[@]}"; do
        { read -r name <"/proc/$child/comm"; } 2>/dev/null && [[ $name == "$1" ]] && { LAB_PID=$child; return 0; }
    done
    has_exited "$STRACE_PID"
}

# run_lab LAB ARGS...: run a lab to completion under bats' `run`, bounded.
# Use as: run -2 run_lab 02-bind -p abc    (or --separate-stderr)
# Under `run` (a subshell) the subshell itself watches the lab, one process
# for both: it ends the lab (TERM, then KILL) and returns 124, as timeout
# would, after WAIT_SECONDS, or as soon as the lab sits for good in a call
# only an outside event ends (see asleep_for_good), saying so on stderr.
# Elsewhere, or without the sleep builtin, it is `timeout`. bats' fds 3 and
# 4 are closed for the lab; RUN_LAB_KEEP_FD3=1 leaves fd 3 as the caller
# opened it (run -0 run_lab LAB 3</dev/null, with RUN_LAB_KEEP_FD3=1 before).
run_lab() {
    local lab=$1
    shift
    run_as_lab "$lab" "$LABS_DIR/$lab/${lab#[0-9][0-9]-}" "$@"
}

# run_as_lab LAB COMMAND ARGS...: run_lab for a command that becomes the lab
# by exec (setpriv ... LAB-BINARY, say): the same bounds and early stop.
run_as_lab() {
    local lab=$1 program=$2
    shift 2
    if ((BASH_SUBSHELL == 0)) || [[ -z $SLEEP_BUILTIN ]]; then
        timeout "$WAIT_SECONDS" "$program" "$@" 3>&- 4>&-
        return "$?"
    fi
    set +T
    local stdin pid deadline delay=1 NOW_US HOPELESS='' waited
    # (A background job's stdin would be /dev/null: keep run's.)
    exec {stdin}<&0
    if [[ -n ${RUN_LAB_KEEP_FD3:-} ]]; then
        "$program" "$@" <&"$stdin" 4>&- &
    else
        "$program" "$@" <&"$stdin" 3>&- 4>&- &
    fi
    pid=$!
    exec {stdin}<&-
    STARTED_PIDS+=("$pid")
    IS_LAB[$pid]=1
    to_us deadline "$WAIT_SECONDS"
    now_us
    deadline=$((NOW_US + deadline))
    quiet_start "$pid"
    # Look after 1 ms, then 2, 4 ... 16: a quick run costs no wait.
    until has_exited "$pid"; do
        now_us
        if ((NOW_US >= deadline)) || asleep_for_good; then
            kill -TERM "$pid" 2>/dev/null
            poll_until 1 has_exited "$pid" || kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            printf 'run_lab: %s %s: ended it\n' "$lab" \
                "${HOPELESS:-did not exit within ${WAIT_SECONDS}s}" >&2
            return 124
        fi
        sleep "0.00$delay"
        ((delay < 16)) && delay=$((delay * 2))
    done
    waited=0
    wait "$pid" || waited=$?
    return "$waited"
}

# strace_lab CALLS LAB ARGS...: run a lab to its end under strace, tracing
# CALLS (e.g. socket,close). Writes the kernel's view to
# $BATS_TEST_TMPDIR/trace and the lab's narration (its stdout) to
# $BATS_TEST_TMPDIR/narration, its stderr beside it (narration.err).
# Returns the lab's exit status. Bounded, and, as wait_for_exit, it stops
# early when the lab sits for good in a call only an outside event ends.
_strace_lab() {
    local calls=$1 lab=$2
    shift 2
    local narration=$BATS_TEST_TMPDIR/narration
    : >"$narration"
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -o "$BATS_TEST_TMPDIR/trace" -e "trace=$calls" "$(lab_binary "$lab")" "$@" \
        >"$narration" 2>"$narration.err" </dev/null 3>&- 4>&- &
    STRACE_PID=$!
    STARTED_PIDS+=("$STRACE_PID")
    find_traced_lab "$lab" "$narration" || true    # (gone already: it ran to its end)
    wait_for_exit "$STRACE_PID" "${LAB_PID:-$STRACE_PID}"
    return "$LAB_STATUS"
}

# find_traced_lab LAB OUT: LAB_PID=the lab that strace (STRACE_PID) runs,
# found by its name (the child strace forks is named strace until it has
# exec'd the lab), and registered as a lab writing OUT: teardown ends it,
# and waits on OUT watch it. False, LAB_PID empty, when strace has ended
# first.
find_traced_lab() {
    LAB_PID=''
    poll_until "$WAIT_SECONDS" traced_lab_found "${1#[0-9][0-9]-}" ||
        fail "no lab process under strace after ${WAIT_SECONDS}s"
    [[ -n $LAB_PID ]] || return 1
    STARTED_PIDS+=("$LAB_PID")
    IS_LAB[$LAB_PID]=1
    WRITER_OF[$2]=$LAB_PID
}

# ---- Waiting: every look made by this shell, bounded, and no longer than needed

# now_us: set NOW_US to the clock in microseconds ($EPOCHREALTIME without
# its decimal point).
now_us() {
    NOW_US=${EPOCHREALTIME//[!0-9]/}
}

# to_us VAR SECONDS: VAR=SECONDS in microseconds: "0.9" -> 900000.
to_us() {
    local whole=${2%.*} fraction=000000
    [[ $2 == *.* ]] && fraction=${2#*.}000000
    printf -v "$1" '%d' $((10#${whole:-0} * 1000000 + 10#${fraction:0:6}))
}

# microseconds SECONDS: print it in microseconds: "0.9" -> 900000.
microseconds() {
    local us
    to_us us "$1"
    echo "$us"
}

# poll_until SECONDS COMMAND...: run COMMAND until it succeeds; fail once
# SECONDS (e.g. 5 or 0.9) have passed by the clock, however long each try
# took. Returns COMMAND's success, never loops for ever.
_poll_until() {
    local deadline NOW_US
    to_us deadline "$1"
    now_us
    deadline=$((NOW_US + deadline))
    shift
    until "$@"; do
        now_us
        ((NOW_US < deadline)) || return 1
        sleep "$POLL_INTERVAL"
    done
}

# read_stat PID: read /proc/PID/stat into PROC_STATE (R running, S
# sleeping, T stopped, Z zombie ...) and, for a zombie, PROC_EXIT (its
# wait status: 256 * code, or the signal). Fails if there is no such process.
read_stat() {
    local stat fields
    { IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    # The command name in field 2 may contain spaces: take what follows ')'.
    stat=${stat##*) }
    PROC_STATE=${stat%% *}
    if [[ $PROC_STATE == Z ]]; then
        read -r -a fields <<<"$stat"
        PROC_EXIT=${fields[49]:-}    # field 52, exit_code
    fi
}

# The state letter of a process (R running, S sleeping, Z zombie ...).
_process_state() {
    local PROC_STATE PROC_EXIT
    read_stat "$1" || return 1
    printf '%s\n' "$PROC_STATE"
}

# process_in_state PID LETTER: /proc/PID/stat shows that state.
_process_in_state() {
    local PROC_STATE PROC_EXIT
    read_stat "$1" && [[ $PROC_STATE == "$2" ]]
}

# has_exited PID: the process has ended (it is gone, or a zombie waiting for
# us to collect its status; `kill -0` would still succeed on a zombie).
_has_exited() {
    local PROC_STATE PROC_EXIT
    read_stat "$1" || return 0
    [[ $PROC_STATE == Z ]]
}

# exit_description PID: "exited with status N" or "was killed by SIGNAL",
# read from a zombie's /proc/PID/stat; "has exited" when gone already.
exit_description() {
    local PROC_STATE PROC_EXIT=
    if read_stat "$1" && [[ $PROC_STATE == Z && -n $PROC_EXIT ]]; then
        if ((PROC_EXIT & 127)); then
            echo "was killed by signal $((PROC_EXIT & 127)) ($(kill -l $((PROC_EXIT & 127))))"
        else
            echo "exited with status $((PROC_EXIT >> 8))"
        fi
    else
        echo "has exited"
    fi
}

# ---- System call numbers, worked out once per run

# syscall_numbers NAME...: this machine's numbers for these system calls,
# read from the C library's headers (they differ between architectures).
# Names this architecture does not have (pause on arm64) are left out.
syscall_numbers() {
    local name
    for name in "$@"; do printf 'SYS_%s\n' "$name"; done |
        "${CC:-cc}" -E -P -include sys/syscall.h - 2>/dev/null |
        grep -E '^[0-9]+$'
}

# The calls the tests ask about, and those a wait counts as "only an outside
# event ends it" (BLOCKING_CALLS): a lab asleep in one of these with nothing
# else running will not print another line by itself. Not nanosleep, not
# poll or select (they have timeouts: 03 polls), not connect (SYN retries).
KNOWN_CALLS=(accept accept4 pause recvfrom recvmsg recv read rt_sigsuspend nanosleep
    clock_nanosleep poll ppoll select pselect6 connect sendto sendmsg send write writev
    wait4 epoll_wait epoll_pwait)
BLOCKING_CALLS=(accept accept4 pause recvfrom recvmsg recv read rt_sigsuspend)
declare -gA SYSCALL_NUMBER=()

# load_syscall_numbers: fill SYSCALL_NUMBER[name]=number for KNOWN_CALLS.
# The preprocessor runs once per bats run (not per test, not per file): the
# table is kept in $BATS_RUN_TMPDIR. A name missing from it does not exist
# on this architecture.
load_syscall_numbers() {
    ((${#SYSCALL_NUMBER[@]} > 0)) && return 0
    local table=${BATS_RUN_TMPDIR:-$BATS_FILE_TMPDIR}/syscall-numbers name number
    if [[ ! -s $table ]]; then
        local tagged
        tagged=$(for name in "${KNOWN_CALLS[@]}"; do printf '%s SYS_%s\n' "$name" "$name"; done |
            "${CC:-cc}" -E -P -include sys/syscall.h - 2>/dev/null)
        while read -r name number; do
            [[ $number =~ ^[0-9]+$ ]] && printf '%s %s\n' "$name" "$number"
        done <<<"$tagged" >"$table.$$"
        mv "$table.$$" "$table"
    fi
    while read -r name number; do
        SYSCALL_NUMBER[$name]=$number
    done <"$table"
    SYSCALL_NUMBER[-]=-          # the table is loaded, even if empty
}

# syscall_numbers_of VAR NAME...: VAR=(the numbers of the named calls),
# from the table, or from the preprocessor for a name the table does not know.
syscall_numbers_of() {
    local -n numbers_into=$1
    shift
    load_syscall_numbers
    local _name _others=()
    numbers_into=()
    for _name in "$@"; do
        if [[ -n ${SYSCALL_NUMBER[$_name]:-} ]]; then
            numbers_into+=("${SYSCALL_NUMBER[$_name]}")
        elif [[ " ${KNOWN_CALLS[*]} " != *" $_name "* ]]; then
            _others+=("$_name")
        fi
    done
    if ((${#_others[@]})); then
        mapfile -t -O "${#numbers_into[@]}" numbers_into < <(syscall_numbers "${_others[@]}")
    fi
}

# syscall_numbers_file NAME...: a file of syscall_numbers NAME..., worked
# out once per test file.
syscall_numbers_file() {
    local IFS=-
    local file="$BATS_FILE_TMPDIR/syscall-numbers.$*"
    if [[ ! -s $file ]]; then
        local numbers
        IFS=' '
        syscall_numbers_of numbers "$@"
        printf '%s\n' "${numbers[@]}" >"$file.new" && mv "$file.new" "$file"
    fi
    printf '%s\n' "$file"
}

# read_syscall PID: SYSCALL_LINE=/proc/PID/syscall (the call's number
# first, then its arguments), read by this shell: under Yama's
# ptrace_scope 1 (Ubuntu's default) only an ancestor of the lab may read it,
# and a `cut` or `$(...)` would be the lab's sibling.
read_syscall() {
    SYSCALL_LINE=
    { read -r SYSCALL_LINE <"/proc/$1/syscall"; } 2>/dev/null
}

# True when PID is asleep (state S) in a system call whose number is in
# the remaining arguments.
asleep_in_syscall() {
    local pid=$1 PROC_STATE PROC_EXIT SYSCALL_LINE wanted
    shift
    read_stat "$pid" && [[ $PROC_STATE == S ]] || return 1
    read_syscall "$pid" || return 1
    for wanted in "$@"; do
        [[ ${SYSCALL_LINE%% *} == "$wanted" ]] && return 0
    done
    return 1
}

# ---- Knowing early that a wait is in vain

# A wait that has not yet found what it awaits stops early when waiting on
# can change nothing:
#   - the process it watches has exited (a wait on a log reads it once more
#     first: whatever the process wrote before it ended is in the file);
#   - the process is a lab asleep in one of BLOCKING_CALLS, and for
#     QUIET_SECONDS it stayed in that call with the same arguments while
#     nothing this test started (nor their children) ran at all (a process
#     the test stopped with SIGSTOP cannot; one asleep in a timed call may
#     wake to look around, see activity_snapshot), none was
#     in connect() (a SYN sent again could still complete it) and no
#     ksoftirqd thread was runnable (a packet whose delivery the kernel put
#     off); then one ss call shows no segment on its way to or from the
#     lab's ports (tcp_in_flight). QUIET_TIMED_SECONDS (1 s) instead when one
#     of the test's processes sleeps in a timed call: it acts by itself later.
# The wait itself is the test's only activity then: the test has done what
# it does before waiting. "Ran" is the run count in /proc/PID/schedstat:
# an event on its way to the lab (a packet the kernel has not yet handed
# over, a signal) wakes it and starts the quiet time again. Without
# schedstat or /proc/PID/syscall (another user's process) only the first
# rule applies. The reason goes to HOPELESS.

# quiet_start PID: a wait on PID begins.
quiet_start() {
    QUIET_PID=$1 QUIET_SINCE='' QUIET_SNAPSHOT=''
    load_syscall_numbers
}

# activity_snapshot: ACTIVITY="PID ran N state=S call=43;..." for every live
# process this test started and their children; ACTIVITY_TIMED=1 when one of
# them sleeps in a call with a time limit (see is_timed_call). Fails if one
# cannot be read.
activity_snapshot() {
    local queue=("${STARTED_PIDS[@]}") pid run wait count children PROC_STATE PROC_EXIT SYSCALL_LINE
    ACTIVITY='' ACTIVITY_TIMED=''
    while ((${#queue[@]})); do
        pid=${queue[0]}
        queue=("${queue[@]:1}")
        read_stat "$pid" || continue
        [[ $PROC_STATE == Z ]] && continue
        { read -r run wait count <"/proc/$pid/schedstat"; } 2>/dev/null || return 1
        read_syscall "$pid" || return 1
        # A process asleep in a timed call counts by its state and call,
        # not its run count: one that wakes every so often to look around
        # (03-listen's poll loop, as a peer) and sleeps again changes
        # nothing; the longer QUIET_TIMED_SECONDS covers one whose timer
        # leads it to act.
        if is_timed_call "$SYSCALL_LINE"; then
            ACTIVITY_TIMED=1
            ACTIVITY+="$pid state=$PROC_STATE call=${SYSCALL_LINE%% *};"
        else
            ACTIVITY+="$pid ran $count state=$PROC_STATE call=${SYSCALL_LINE%% *};"
        fi
        children=
        { read -r children <"/proc/$pid/task/$pid/children"; } 2>/dev/null || true
        # shellcheck disable=SC2206 # a list of numbers
        [[ -z $children ]] || queue+=($children)
    done
}

# asleep_for_good: the second rule above holds now for QUIET_PID (call it
# at each look; it keeps the time itself). Sets HOPELESS when it does.
asleep_for_good() {
    local pid=$QUIET_PID PROC_STATE PROC_EXIT SYSCALL_LINE NOW_US ACTIVITY ACTIVITY_TIMED quiet
    local connect=${SYSCALL_NUMBER[connect]:-none}
    if [[ -z $pid || -z ${IS_LAB[$pid]:-} ]] || ! read_stat "$pid" || [[ $PROC_STATE != S ]] ||
        ! read_syscall "$pid" || ! is_blocking_call "${SYSCALL_LINE%% *}" ||
        ! activity_snapshot || [[ $ACTIVITY =~ state=[^ST]|call=$connect\; ]] || softirq_pending; then
        QUIET_SINCE=
        return 1
    fi
    now_us
    if [[ -z $QUIET_SINCE || "$SYSCALL_LINE|$ACTIVITY" != "$QUIET_SNAPSHOT" ]]; then
        QUIET_SINCE=$NOW_US QUIET_SNAPSHOT="$SYSCALL_LINE|$ACTIVITY"
        return 1
    fi
    to_us quiet "$QUIET_SECONDS"
    if [[ -n $ACTIVITY_TIMED ]]; then
        local timed
        to_us timed "$QUIET_TIMED_SECONDS"
        ((timed > quiet)) && quiet=$timed
    fi
    ((NOW_US - QUIET_SINCE >= quiet)) || return 1
    # Quiet long enough: a last look, at the packets (one ss call).
    local IN_FLIGHT
    if tcp_in_flight "$pid"; then
        QUIET_SINCE=$NOW_US
        return 1
    fi
    HOPELESS="process $pid has been asleep in $(call_name "${SYSCALL_LINE%% *}") for $((quiet / 1000)) ms with nothing else of this test running and no packet on its way: no event is coming to wake it"
}

# ---- Packets still on their way

# KSOFTIRQD_PIDS: the kernel's ksoftirqd threads, one a CPU (children of
# kthreadd, pid 2), found once a run. Work the kernel could not do at once
# in softirq context (delivering a loopback packet, when every core is busy)
# waits for them: while one is runnable, a packet may be on its way.
KSOFTIRQD_PIDS=()
find_ksoftirqd() {
    ((${#KSOFTIRQD_PIDS[@]} > 0)) && return 0
    local list=${BATS_RUN_TMPDIR:-$BATS_FILE_TMPDIR}/ksoftirqd children pid name
    if [[ ! -e $list ]]; then
        { read -r children </proc/2/task/2/children; } 2>/dev/null || children=
        for pid in $children; do
            { read -r name <"/proc/$pid/comm"; } 2>/dev/null || continue
            [[ $name == ksoftirqd/* ]] && printf '%s\n' "$pid"
        done >"$list.$$"
        mv "$list.$$" "$list"
    fi
    mapfile -t KSOFTIRQD_PIDS <"$list"
    KSOFTIRQD_PIDS+=(-)          # looked for, even if none was found
}

# softirq_pending: a ksoftirqd thread is runnable (state R).
softirq_pending() {
    local pid PROC_STATE PROC_EXIT
    find_ksoftirqd
    for pid in "${KSOFTIRQD_PIDS[@]}"; do
        [[ $pid != - ]] && read_stat "$pid" && [[ $PROC_STATE == R ]] && return 0
    done
    return 1
}

# tcp_in_flight PID: a TCP segment to or from PID's ports may still be on
# its way: a connection on one of them is half-open (SYN-SENT; SYN-RECV, as
# when a full accept queue made the kernel drop a client's last ACK and a
# SYN-ACK will be sent again), or closing with its FIN not yet acknowledged
# (FIN-WAIT-1, CLOSING, LAST-ACK), or a peer of PID has bytes in flight
# (its Send-Q). Sets IN_FLIGHT to the ss line that shows it. One ss call.
tcp_in_flight() {
    local pid=$1 lines line state recv_q send_q here peer users ports=' '
    ss_lines lines -tanp
    for line in "${lines[@]}"; do
        [[ $line == *"pid=$pid,"* ]] || continue
        read -r _ _ _ here _ <<<"$line"
        ports+="${here##*:} "
    done
    [[ $ports != ' ' ]] || return 1
    for line in "${lines[@]}"; do
        read -r state recv_q send_q here peer users <<<"$line"
        if [[ $ports == *" ${here##*:} "* || $ports == *" ${peer##*:} "* ]]; then
            case $state in
            SYN-SENT | SYN-RECV | FIN-WAIT-1 | CLOSING | LAST-ACK)
                IN_FLIGHT=$line
                return 0 ;;
            esac
            if [[ $ports == *" ${peer##*:} "* && $users != *"pid=$pid,"* && $send_q != 0 ]]; then
                IN_FLIGHT=$line
                return 0
            fi
        fi
    done
    return 1
}

# is_timed_call SYSCALL-LINE: the call (a line of /proc/PID/syscall: the
# number, then the arguments in hex) may end by a timer: nanosleep; poll or
# epoll_wait with a timeout other than -1; ppoll, select or pselect6 with a
# timeout (a pointer that is not NULL). A client that pauses (nc -w 1, a
# script's sleep 0.5) sleeps in one and acts later of its own accord.
is_timed_call() {
    local number arguments
    read -r number arguments <<<"$1"
    read -r -a arguments <<<"$arguments"
    case $number in
    "${SYSCALL_NUMBER[nanosleep]:-none}" | "${SYSCALL_NUMBER[clock_nanosleep]:-none}")
        return 0 ;;
    "${SYSCALL_NUMBER[poll]:-none}")
        not_minus_one "${arguments[2]:-}" ;;
    "${SYSCALL_NUMBER[epoll_wait]:-none}" | "${SYSCALL_NUMBER[epoll_pwait]:-none}")
        not_minus_one "${arguments[3]:-}" ;;
    "${SYSCALL_NUMBER[ppoll]:-none}")
        [[ ${arguments[2]:-0x0} != 0x0 ]] ;;
    "${SYSCALL_NUMBER[select]:-none}" | "${SYSCALL_NUMBER[pselect6]:-none}")
        [[ ${arguments[4]:-0x0} != 0x0 ]] ;;
    *) return 1 ;;
    esac
}

# not_minus_one HEX: an int argument as /proc/PID/syscall shows it is not -1.
not_minus_one() {
    [[ $1 != 0xffffffff && $1 != 0xffffffffffffffff ]]
}

# is_blocking_call NUMBER: NUMBER is one of BLOCKING_CALLS.
is_blocking_call() {
    local name
    for name in "${BLOCKING_CALLS[@]}"; do
        [[ ${SYSCALL_NUMBER[$name]:-} == "$1" ]] && return 0
    done
    return 1
}

# call_name NUMBER: its name, if the table knows it.
call_name() {
    local name
    for name in "${!SYSCALL_NUMBER[@]}"; do
        [[ ${SYSCALL_NUMBER[$name]} == "$1" && $name != - ]] && { echo "$name()"; return 0; }
    done
    echo "system call $1"
}

# ---- Waiting for the lab's narration

# Show what a lab printed: for failure messages (on stderr, so that it is
# seen even from inside $(...), as in PORT=$(wait_for_port)).
show_lab_output() {
    local out=${1:-$LAB_OUT} err=${2:-$LAB_ERR}
    {
        printf -- '--- lab stdout (%s)\n' "$out"
        head_and_tail "$out"
        printf -- '--- lab stderr\n'
        head_and_tail "$err"
        printf -- '---\n'
    } >&2
}

# head_and_tail FILE: what FILE holds, or, when a lab flooded it (more than
# 100 lines or 64 KiB), its first and last 40 lines, each cut at 300
# characters, and how much was left out: a failure stays readable, and a
# lab that prints 100 MB does not make the report 100 MB.
head_and_tail() {
    [[ -r $1 ]] || return 0
    local text
    if [[ ! -s $1 ]]; then
        return 0
    fi
    text=$(head -c 65537 -- "$1")
    if ((${#text} <= 65536)) && [[ $(grep -c '' <<<"$text") -le 100 ]]; then
        printf '%s\n' "$text"
        return 0
    fi
    head -n 40 -- "$1" | cut -c1-300
    printf '... (%s bytes in all; the middle is left out) ...\n' "$(wc -c <"$1")"
    tail -n 40 -- "$1" | cut -c1-300
}

# scan_for_lines REGEX FILE SECONDS [N]: look (bounded) for N (default 1)
# lines of FILE matching the extended REGEX, reading FILE with `read` as it
# grows: each line is read once. A last line without its newline counts
# too, as for grep. Sets SCAN_COUNT (how many matched); fails with the
# reason in HOPELESS (empty: the time ran out).
scan_for_lines() {
    local regex=$1 file=$2 needed=${4:-1} deadline fd line partial='' looked=0 exited NOW_US
    to_us deadline "$3"
    now_us
    deadline=$((NOW_US + deadline))
    quiet_start "${WRITER_OF[$file]:-}"
    HOPELESS='' SCAN_COUNT=0
    # A regex bash cannot compile is the test's mistake: say so.
    local valid=0
    # shellcheck disable=SC2319 # 2: not a regex
    [[ x =~ $regex ]] || valid=$?
    ((valid != 2)) || fail "/$regex/ is not a valid extended regular expression"
    until exec {fd}<"$file"; do
        now_us
        ((NOW_US < deadline)) || return 1
        sleep "$POLL_INTERVAL"
    done 2>/dev/null
    while :; do
        # Whether the writer had already gone before this read: then this
        # read sees all it will ever write.
        exited=''
        [[ -n $QUIET_PID ]] && has_exited "$QUIET_PID" && exited=1
        while IFS= read -r line <&"$fd"; do
            line=$partial$line partial=''
            if [[ $line =~ $regex ]] && ((++SCAN_COUNT >= needed)); then
                exec {fd}<&-
                return 0
            fi
            # A flood must not stretch the wait past its bound.
            if ((++looked % 4096 == 0)); then
                now_us
                ((NOW_US < deadline)) || break
            fi
        done
        partial+=$line
        if [[ -n $partial && $partial =~ $regex ]] && ((SCAN_COUNT + 1 >= needed)); then
            exec {fd}<&-
            return 0
        fi
        now_us
        ((NOW_US < deadline)) || break
        if [[ -n $exited ]]; then
            HOPELESS="process $QUIET_PID $(exit_description "$QUIET_PID")"
            break
        fi
        asleep_for_good && break
        sleep "$POLL_INTERVAL"
    done
    exec {fd}<&-
    return 1
}

# wait_failure WHAT SECONDS: the end of a failure message: why the wait
# ended ("within 5s", or what made waiting longer useless).
wait_failure() {
    if [[ -n ${HOPELESS:-} ]]; then
        echo "$1: $HOPELESS"
    else
        echo "$1 within ${2}s"
    fi
}

# wait_for_line REGEX [FILE] [SECONDS]: wait until FILE (default: the last
# started lab's stdout) has a line matching the extended REGEX. It stops
# early when the program writing FILE has exited without writing it, or is
# a lab asleep for good (see asleep_for_good).
_wait_for_line() {
    local regex=$1 file=${2:-$LAB_OUT} seconds=${3:-$WAIT_SECONDS} HOPELESS='' SCAN_COUNT
    if ! scan_for_lines "$regex" "$file" "$seconds"; then
        show_lab_output "$file" "${file%.out}.err"
        fail "$(wait_failure "no line matching /$regex/ in $file" "$seconds")"
    fi
}

# count_matching VAR REGEX [FILE]: VAR=how many lines of FILE (default: the
# lab's stdout) match, counted by this shell. A flood is read for at most 5 s.
count_matching() {
    local -n count_into=$1
    local _regex=$2 _file=${3:-$LAB_OUT} _line _count=0 _looked=0 _deadline NOW_US
    now_us
    _deadline=$((NOW_US + 5000000))
    if [[ -r $_file ]]; then
        while IFS= read -r _line || [[ -n $_line ]]; do
            [[ $_line =~ $_regex ]] && ((++_count))
            if ((++_looked % 4096 == 0)); then
                now_us
                ((NOW_US < _deadline)) || break
            fi
        done <"$_file"
    fi
    count_into=$_count
}

# count_lines REGEX [FILE]: how many lines of FILE (default: the lab's
# stdout) match the extended REGEX.
_count_lines() {
    local n
    count_matching n "$1" "${2:-$LAB_OUT}"
    echo "$n"
}

# at_least N REGEX: the lab's stdout has N or more lines matching.
_at_least() {
    local n
    count_matching n "$2"
    ((n >= $1))
}

# wait_for_lines N REGEX: wait (bounded) until N or more lines of the lab's
# stdout match; stops early as wait_for_line does.
_wait_for_lines() {
    local HOPELESS='' SCAN_COUNT
    if ! scan_for_lines "$2" "$LAB_OUT" "$WAIT_SECONDS" "$1"; then
        show_lab_output
        fail "$(wait_failure "only $SCAN_COUNT lines match /$2/, not $1" "$WAIT_SECONDS")"
    fi
}

# wait_for_port [FILE]: wait for "getsockname(FD) = ADDR:PORT" and print PORT.
_wait_for_port() {
    local file=${1:-$LAB_OUT} line regex='^getsockname\([0-9]+\) = .*:([0-9]+)$'
    # (Inside $(...) set -e is off: the failure must be returned.)
    wait_for_line '^getsockname\([0-9]+\) = .*:[0-9]+$' "$file" || return 1
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line =~ $regex ]]; then
            printf '%s\n' "${BASH_REMATCH[1]}"
            return 0
        fi
    done <"$file"
}

# assert_blocked_in [-p PID] CALL...: the process (default: the last started
# lab) is asleep in one of the named system calls, e.g.
#   assert_blocked_in accept accept4
# It waits (bounded) because the lab prints its "..." line just *before* it
# enters the call; it stops early if the process exits, or sits for good in
# another call (see asleep_for_good). On failure it prints what the kernel shows
# instead.
_assert_blocked_in() {
    local pid=$LAB_PID
    if [[ $1 == -p ]]; then
        pid=$2
        shift 2
    fi
    local numbers deadline NOW_US HOPELESS=
    syscall_numbers_of numbers "$@"
    ((${#numbers[@]} > 0)) || fail "no system call numbers found for: $*"
    to_us deadline "$WAIT_SECONDS"
    now_us
    deadline=$((NOW_US + deadline))
    quiet_start "$pid"
    until asleep_in_syscall "$pid" "${numbers[@]}"; do
        now_us
        ((NOW_US < deadline)) || { HOPELESS=; break; }
        if has_exited "$pid"; then
            HOPELESS="process $pid $(exit_description "$pid")"
            break
        fi
        asleep_for_good && break
        sleep "$POLL_INTERVAL"
    done
    if [[ -n $HOPELESS ]] || ((NOW_US >= deadline)); then
        local PROC_STATE=gone PROC_EXIT SYSCALL_LINE='' wchan=''
        read_stat "$pid"
        read_syscall "$pid"
        { read -r wchan <"/proc/$pid/wchan"; } 2>/dev/null
        show_lab_output
        fail "$(printf 'process %s is not asleep in %s (numbers %s)%s\n  state:   %s\n  syscall: %s\n  wchan:   %s' \
            "$pid" "$*" "${numbers[*]}" "${HOPELESS:+: $HOPELESS}" "$PROC_STATE" "$SYSCALL_LINE" "$wchan")"
    fi
}

# fd_count PID: the number of open file descriptors of a process.
_fd_count() {
    local fds=("/proc/$1/fd/"*)
    printf '%s\n' "${#fds[@]}"
}

# wait_for_exit [PID] [WATCH]: wait (bounded) for the process to end by
# itself, then collect its exit status into LAB_STATUS. It stops early if
# the lab (PID, or WATCH: the lab that strace, PID, runs) sits for good in a
# call only an outside event ends (see asleep_for_good).
_wait_for_exit() {
    local pid=${1:-$LAB_PID} watch=${2:-${1:-$LAB_PID}} deadline NOW_US HOPELESS=
    to_us deadline "$WAIT_SECONDS"
    now_us
    deadline=$((NOW_US + deadline))
    # It stops early too when the lab is asleep for good: a lab that should
    # have ended (-n 2 reached, SIGTERM caught) but sleeps on in recv().
    quiet_start "$watch"
    until has_exited "$pid"; do
        now_us
        if ((NOW_US >= deadline)) || asleep_for_good; then
            show_lab_output
            fail "$(wait_failure "process $pid did not exit" "$WAIT_SECONDS")"
        fi
        sleep "$POLL_INTERVAL"
    done
    LAB_STATUS=0
    wait "$pid" || LAB_STATUS=$?
}

# stop_lab [SIGNAL] [PID]: send SIGNAL (default TERM) to the lab, then wait
# for it to exit and set LAB_STATUS.
_stop_lab() {
    local signal=${1:-TERM} pid=${2:-$LAB_PID}
    kill -s "$signal" "$pid" || fail "cannot signal process $pid"
    wait_for_exit "$pid"
}

# signal_started SIGNAL PID: send SIGNAL to a process this test started,
# and to its whole process group when it leads one, as `timeout` does (it
# calls setpgid(0, 0) before it forks the command). Not to `timeout` alone:
# coreutils 9.1's timeout installs its TERM handler before fork() and learns
# the child's pid only when fork() returns in the parent; under load the
# child (nc, say) can connect, and the test signal timeout, before that
# happens, and then timeout exits at once and leaves the child running, its
# connection open. The group's members get the signal straight away.
signal_started() {
    local stat
    { IFS= read -r stat <"/proc/$2/stat"; } 2>/dev/null || return 0
    stat=${stat##*) }    # after the command name: state ppid pgrp ...
    read -r _ _ stat _ <<<"$stat"
    if [[ $stat == "$2" ]]; then
        kill -s "$1" -- "-$2" 2>/dev/null || true
    else
        kill -s "$1" "$2" 2>/dev/null || true
    fi
}

# teardown: end every process this test started (with its process group,
# see signal_started). TERM first, then KILL after a bounded wait; then reap
# them so that none outlives the test.
_teardown() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        signal_started TERM "$pid"
    done
    for pid in "${STARTED_PIDS[@]}"; do
        if ! poll_until 2 has_exited "$pid"; then
            signal_started KILL "$pid"
        fi
        wait "$pid" 2>/dev/null || true
    done
}

# datagram_to ADDR PORT BYTES: one UDP datagram, through bash's own
# /dev/udp (one write, one datagram). Not `printf | nc -u -w0`: under load
# nc -w0 can give up before printf has written, and send nothing.
datagram_to() {
    printf '%s' "$3" >"/dev/udp/$1/$2"
}

# skip_unless_ipv6: the loopback has ::1 (IPv6 can be disabled on a host).
_skip_unless_ipv6() {
    local line
    if [[ -r /proc/net/if_inet6 ]]; then
        while read -r line; do
            [[ $line == 00000000000000000000000000000001\ * ]] && return 0
        done </proc/net/if_inet6
    fi
    skip "no IPv6 loopback (::1) on this host"
}

# ---- Clients in the background, and the kernel's view of a listener -------

# hold_connection ADDR PORT: a client that connects and then holds the
# connection open, sending nothing and printing what the server sends
# (nc -v -d), in the background until the server closes the connection or
# teardown ends it. Sets PEER_PID and PEER_OUT (nc's messages and what it
# received). It does not wait for the handshake: follow it with
# wait_for_connected, or show that the "succeeded" line never comes.
hold_connection() {
    PEER_OUT="$BATS_TEST_TMPDIR/client.${#STARTED_PIDS[@]}.out"
    start_peer "$PEER_OUT" timeout 60 nc -v -d "$1" "$2"
}

# wait_for_connected [FILE] [SECONDS]: wait until nc -v says its connect()
# returned: "Connection to ADDR PORT port [tcp/*] succeeded!"
wait_for_connected() {
    wait_for_line '^Connection to .* succeeded!$' "${1:-$PEER_OUT}" "${2:-$WAIT_SECONDS}"
}

# reset_connection [--after-fin] ADDR PORT [COUNT]: COUNT times (default 1)
# connect to ADDR:PORT and abort the connection at once: SO_LINGER with a
# zero timeout makes close() send a RST instead of a FIN, as when a client
# crashes or gives up. The server's next write() fails with ECONNRESET.
# --after-fin first sends a FIN (shutdown(SHUT_WR)), so the server's side
# is in CLOSE-WAIT when the RST lands: its next write() then fails with
# EPIPE and raises SIGPIPE. Returns once every RST is sent; fails if a
# connect() fails. (Perl: part of every Debian system, and it starts fast.)
reset_connection() {
    local after_fin=0
    if [[ $1 == --after-fin ]]; then
        after_fin=1
        shift
    fi
    # shellcheck disable=SC2016 # the quoted text is Perl, not shell
    timeout "$WAIT_SECONDS" perl -MSocket=:all -e '
        my ($host, $port, $count, $after_fin) = @ARGV;
        my ($error, $server) = getaddrinfo($host, $port,
            { flags => AI_NUMERICHOST, socktype => SOCK_STREAM });
        die "getaddrinfo: $error\n" if $error;
        for (1 .. $count) {
            socket(my $client, $server->{family}, SOCK_STREAM, 0) or die "socket: $!\n";
            connect($client, $server->{addr}) or die "connect: $!\n";
            shutdown($client, SHUT_WR) or die "shutdown: $!\n" if $after_fin;
            setsockopt($client, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0))
                or die "setsockopt: $!\n";
            close($client);
        }' "$1" "$2" "${3:-1}" "$after_fin" 3>&- 4>&-
}

# suspend_lab [PID]: SIGSTOP the process (default: the last started lab) and
# wait until the kernel shows it stopped (state T). A stopped server cannot
# accept, so clients that connect now wait in its queue. The wait matters: a
# server woken in accept() by the signal but not yet run would still take one
# connection that arrived in between. resume_lab [PID]: SIGCONT.
_suspend_lab() {
    local pid=${1:-$LAB_PID}
    kill -STOP "$pid" || fail "cannot stop process $pid"
    poll_until "$WAIT_SECONDS" process_in_state "$pid" T ||
        fail "process $pid did not stop: state $(process_state "$pid")"
}

resume_lab() {
    kill -CONT "${1:-$LAB_PID}" || fail "cannot continue process ${1:-$LAB_PID}"
}

# assert_stopped_in CALL...: the lab, stopped (suspend_lab), was stopped
# inside one of these calls: /proc/PID/syscall still names it (a stop
# signal does not end the call; SIGCONT goes on with it). A lab stopped
# after it left the call shows another number, or none.
assert_stopped_in() {
    local numbers number PROC_STATE PROC_EXIT SYSCALL_LINE
    syscall_numbers_of numbers "$@"
    read_stat "$LAB_PID" && [[ $PROC_STATE == T ]] || fail "process $LAB_PID is not stopped"
    read_syscall "$LAB_PID"
    for number in "${numbers[@]}"; do
        [[ ${SYSCALL_LINE%% *} == "$number" ]] && return 0
    done
    fail "process $LAB_PID was stopped outside $* (numbers ${numbers[*]}): syscall $SYSCALL_LINE"
}

# local_end PORT [ADDR], remote_end PORT [ADDR]: ss filters for the sockets
# whose local (remote) end is ADDR:PORT, ADDR 127.0.0.1 unless given. A port
# number is unique per address, not per machine: a test on [::1] and one on
# 127.0.0.1 running side by side may both get port 40000 from the kernel, so
# every look at ss names the address too, never the port alone.
local_end() { echo "src $(ss_address "${2:-127.0.0.1}"):$1"; }
remote_end() { echo "dst $(ss_address "${2:-127.0.0.1}"):$1"; }
ss_address() { [[ $1 == *:* ]] && echo "[$1]" || echo "$1"; }

# end_filter VAR src|dst PORT [ADDR]: VAR=the same filter as local_end or
# remote_end, made without a subshell.
end_filter() {
    local address=${4:-127.0.0.1}
    [[ $address == *:* ]] && address="[$address]"
    printf -v "$1" '%s %s:%s' "$2" "$address" "$3"
}

# ss_lines VAR SS-ARGUMENTS...: VAR=(ss's lines, no header): one process.
ss_lines() {
    local -n ss_into=$1
    shift
    mapfile -t ss_into < <(ss -H "$@")
}

# accept_queue PORT [ADDR]: the TCP socket listening on ADDR:PORT as ss
# shows it, "QUEUED BACKLOG". On a listening socket ss's Recv-Q column is
# the number of connections waiting for accept(), and Send-Q is the backlog.
_accept_queue() {
    local filter found _state queued backlog _rest
    end_filter filter src "$@"
    ss_lines found -ltn "$filter"
    ((${#found[@]})) || return 0
    read -r _state queued backlog _rest <<<"${found[0]}"
    echo "$queued $backlog"
}

# ---- Checking a finished run (after `run --separate-stderr run_lab ...`) ----

# assert_usage_error VALUE: bad usage. Exit 2, nothing on stdout, and stderr
# shows the usage and names the bad VALUE ("abc", "-x", '' as '' or "") in
# the program's own words, outside the usage text (helpers-grading.bash):
# "port 'abc' is not a number" and "bad port: abc" both pass.
assert_usage_error() {
    local value=$1
    ((status != 124)) || fail "the lab did not exit (usage error expected: $value): $stderr"
    assert_equal "$status" 2
    assert_equal "$output" ""
    [[ ${stderr,,} == *usage* ]] || fail "stderr shows no usage: $stderr"
    local words
    own_words_into words "$stderr"
    names_value "$words" "$value" ||
        fail "stderr does not name the bad value '$value' (outside the usage text): $stderr"
}

# assert_help LAB NAME: -h prints the usage ("usage: NAME", in either case)
# on stdout, nothing on stderr, and exits 0.
assert_help() {
    run --separate-stderr run_lab "$1" -h
    ((status != 124)) || fail "the lab did not exit after -h: $stderr"
    assert_equal "$status" 0
    [[ ${output,,} == *"usage: $2"* ]] || fail "no 'usage: $2' on stdout: $output"
    assert_stderr_empty
}

# assert_rejects_bad_address_and_port LAB: what every lab that takes -a and
# -p refuses with exit 2 and a message naming the value: ports that are not
# numbers or out of range, addresses that are not numeric IPv4/IPv6, missing
# values, an unknown option, an extra argument.
assert_rejects_bad_address_and_port() {
    local lab=$1 value
    for value in abc '' 12x 70000 -1 99999999999999999999; do
        run --separate-stderr run_lab "$lab" -p "$value"
        assert_usage_error "$value"
    done
    for value in 999.1.1.1 localhost ''; do
        run --separate-stderr run_lab "$lab" -a "$value"
        assert_usage_error "$value"
    done
    for value in a p; do
        run --separate-stderr run_lab "$lab" "-$value"
        assert_usage_error "-$value"
    done
    run --separate-stderr run_lab "$lab" -x
    assert_usage_error -x
    run --separate-stderr run_lab "$lab" 2017
    assert_usage_error 2017
}

# assert_last_line TEXT: the lab's narration so far ends with exactly this
# line (nothing came after it).
_assert_last_line() {
    local line last=''
    while IFS= read -r line || [[ -n $line ]]; do
        last=$line
    done <"$LAB_OUT"
    [[ $last == "$1" ]] || { show_lab_output; fail "last line is '$last', expected '$1'"; }
}

# assert_stderr_contains TEXT: after `run --separate-stderr`.
assert_stderr_contains() {
    [[ $stderr == *"$1"* ]] || fail "stderr does not contain '$1': $stderr"
}

# assert_stderr_matches ERE: after `run --separate-stderr`.
assert_stderr_matches() {
    [[ $stderr =~ $1 ]] || fail "stderr does not match /$1/: $stderr"
}

assert_stderr_empty() {
    [[ -z $stderr ]] || fail "stderr is not empty: $stderr"
}

# assert_call_failed CALL ERRNO: a failed system call. Exit 1 and a line on
# stderr that names the call and the errno symbol, e.g.
#   bind: bind(3, 127.0.0.1:80) = -1 EACCES (Permission denied)
# Of CALL ("bind(3, 127.0.0.1:80)" or "bind") only the name counts: the
# arguments shown and the wording around them are the program's own.
assert_call_failed() {
    local call=${1%%(*} errno_symbol=$2 line
    assert_equal "$status" 1
    while IFS= read -r line; do
        names_value "$line" "$call" && names_value "$line" "$errno_symbol" && return 0
    done <<<"$stderr"
    fail "no line of stderr names $call and $errno_symbol: $stderr"
}

# read_lab_output: put the lab's narration so far into $output/$lines, so
# that assert_line and assert_output can check it.
_read_lab_output() {
    output=''
    IFS= read -r -d '' output <"${1:-$LAB_OUT}" || true
    while [[ $output == *$'\n' ]]; do output=${output%$'\n'}; done
    status=0
    bats_separate_lines lines output
}

# ---- A client in the test's own shell (06-send-recv, 07-udp) --------------

# open_client tcp|udp PORT: connect a socket of this shell to 127.0.0.1:PORT
# through bash's /dev/tcp or /dev/udp (both call connect(); for UDP that only
# fixes the peer address). Sets CLIENT_FD. The test then writes with
# `printf ... >&"$CLIENT_FD"` and reads with `read ... <&"$CLIENT_FD"`; it
# never reads unless it says so, which makes a client that does not read.
# Programs started after this inherit the descriptor: start the lab first.
open_client() {
    local protocol=$1 port=$2
    exec {CLIENT_FD}<>"/dev/$protocol/127.0.0.1/$port" ||
        fail "cannot open a $protocol client to 127.0.0.1:$port"
}

# close_client: close it. Over TCP this sends FIN, or RST when bytes that
# arrived were never read.
close_client() {
    exec {CLIENT_FD}>&-
}

# ---- Hostile clients: what every server must survive ----------------------

# end_peer [PID]: a background client (default: the last started) goes
# away: TERM to it and its process group (the client under `timeout`: see
# signal_started), then reap it. Its kernel closes its socket: the server
# sees FIN, or RST if bytes sent to it were never read. With hold_connection
# this is the client that connects, never sends, and leaves.
_end_peer() {
    local pid=${1:-$PEER_PID}
    signal_started TERM "$pid"
    poll_until "$WAIT_SECONDS" has_exited "$pid" || fail "client $pid did not end"
    wait "$pid" 2>/dev/null || true
}

# connected_on PORT: how many connections the server's side of PORT still
# has, accepted or queued alike: established, or in CLOSE-WAIT after the
# client's FIN. A connection the client reset is gone from the list.
_connected_on() {
    local filter found
    end_filter filter src "$1"
    ss_lines found -tn state established state close-wait "$filter"
    echo "${#found[@]}"
}

# in_time_wait PORT [ADDR]: a finished connection whose local end is
# ADDR:PORT is in TIME_WAIT: this end closed first.
_in_time_wait() {
    local filter found
    end_filter filter src "$@"
    ss_lines found -tn state time-wait "$filter"
    ((${#found[@]} > 0))
}

# in_close_wait PORT [ADDR]: a connection whose local end is ADDR:PORT is in
# CLOSE-WAIT: the peer's FIN has arrived, this end has not closed yet.
_in_close_wait() {
    local filter found
    end_filter filter src "$@"
    ss_lines found -tn state close-wait "$filter"
    ((${#found[@]} > 0))
}

# queued_and_connected PORT QUEUED CONNECTED: the listener on PORT holds
# QUEUED connections, and CONNECTED are still there (see connected_on).
_queued_and_connected() {
    local filter found _state queued _rest
    end_filter filter src "$1"
    ss_lines found -ltn "$filter"
    ((${#found[@]})) || return 1
    read -r _state queued _rest <<<"${found[0]}"
    [[ $queued == "$2" ]] || return 1
    ss_lines found -tn state established state close-wait "$filter"
    ((${#found[@]} == $3))
}

# start_hostile_clients ADDR PORT [KIND...]: clients that misbehave, in the
# background (sets PEER_PID and HOSTILE_OUT). All connect first, in the order
# given (a server takes them in that order), then each does its part:
#   random         sends 3000 random bytes, then closes
#   garbage        sends 1 MiB of random bytes, reading what comes back
#                  meanwhile (an echo server cannot stall it), then closes;
#                  a server that closes first ends it early (EPIPE, ECONNRESET)
#   reset          resets at once (SO_LINGER 0: RST), like reset_connection
#   request-reset  sends "GET / HTTP/1.1\r\n\r\n", shuts down its sending
#                  side (FIN), then resets: the server's socket is in
#                  CLOSE-WAIT when the RST lands, so answering fails with
#                  EPIPE and raises SIGPIPE
#   half-close     shuts down its sending side at once (FIN), then reads
#                  until the server closes
# Default: all five. It returns at once: wait_for_hostile_clients waits until
# all have connected and random, reset and request-reset are done; garbage
# and half-close go on until the server has dealt with them. Each client
# prints one line when done, e.g.
#   half-close: sent 0 bytes, received 13 "Hello there.\n", then EOF
# ending in EOF, closed, reset (RST), or the errno that ended it. The
# process exits 0 once all are done, 1 if a connect() failed. For a client
# that connects and never sends, use hold_connection, then end_peer.
start_hostile_clients() {
    HOSTILE_OUT="$BATS_TEST_TMPDIR/hostile.${#STARTED_PIDS[@]}.out"
    # shellcheck disable=SC2016 # the quoted text is Perl, not shell
    start_peer "$HOSTILE_OUT" timeout 60 perl -e '
        use strict;
        use warnings;
        use Errno;
        use Socket qw(:all);
        $| = 1;
        $SIG{PIPE} = "IGNORE";        # a server that closes first: EPIPE, not death
        my ($host, $port, @kinds) = @ARGV;
        @kinds = qw(random garbage reset request-reset half-close) unless @kinds;
        my ($error, $server) = getaddrinfo($host, $port,
            { flags => AI_NUMERICHOST, socktype => SOCK_STREAM });
        die "getaddrinfo: $error\n" if $error;
        srand 2017;                   # the same "random" bytes every run
        my $random = pack "C*", map { int rand 256 } 1 .. 3000;
        my $garbage = (pack "C*", map { int rand 256 } 1 .. 65536) x 16;

        sub errno_name { my ($name) = grep { $!{$_} } keys %!; $name // "errno " . ($! + 0) }

        # One line per client, written at once (the clients share the output file).
        sub report {
            my ($kind, $sent, $received, $end) = @_;
            my $shown = substr $received, 0, 64;
            $shown =~ s/([\\"])/\\$1/g;
            $shown =~ s/\n/\\n/g;
            $shown =~ s/\r/\\r/g;
            $shown =~ s/([^\x20-\x7e])/sprintf "\\%o", ord $1/ge;
            syswrite STDOUT, sprintf "%s: sent %d bytes, received %d \"%s\", then %s\n",
                $kind, $sent, length $received, $shown, $end;
        }

        sub reset_now {
            my ($client) = @_;
            setsockopt $client, SOL_SOCKET, SO_LINGER, pack "ii", 1, 0 or die "setsockopt: $!\n";
            close $client;
        }

        sub send_all {
            my ($client, $bytes) = @_;
            my $sent = 0;
            while ($sent < length $bytes) {
                my $count = send $client, substr($bytes, $sent), 0;
                return (0, errno_name()) unless defined $count;
                $sent += $count;
            }
            return ($sent, "closed");
        }

        sub half_close {
            my ($kind, $client) = @_;
            shutdown $client, SHUT_WR or die "shutdown: $!\n";
            my ($received, $end) = ("", "EOF");
            while (1) {
                my $chunk;
                unless (defined recv $client, $chunk, 65536, 0) { $end = errno_name(); last }
                last if $chunk eq "";
                $received .= $chunk;
            }
            report($kind, 0, $received, $end);
        }

        # Send and read at the same time: wait with select() until the socket can
        # take more or has something to read.
        sub garbage {
            my ($kind, $client) = @_;
            my ($sent, $received, $end, $eof) = (0, "", "closed", 0);
            while ($sent < length $garbage) {
                my ($readable, $writable) = ("", "");
                vec($readable, fileno $client, 1) = 1 unless $eof;
                vec($writable, fileno $client, 1) = 1;
                next if select($readable, $writable, undef, undef) == -1 && $!{EINTR};
                if (vec $readable, fileno $client, 1) {
                    my $chunk;
                    unless (defined recv $client, $chunk, 65536, MSG_DONTWAIT) { $end = errno_name(); last }
                    $received .= $chunk;
                    $eof = $chunk eq "";
                }
                if (vec $writable, fileno $client, 1) {
                    my $count = send $client, substr($garbage, $sent, 65536), MSG_DONTWAIT;
                    if (!defined $count) { next if $!{EAGAIN}; $end = errno_name(); last }
                    $sent += $count;
                }
            }
            close $client;
            report($kind, $sent, $received, $end);
        }

        # Connect them all first, in order: the server takes them in this order.
        my @clients;
        for my $kind (@kinds) {
            socket my $client, $server->{family}, SOCK_STREAM, 0 or die "socket: $!\n";
            unless (connect $client, $server->{addr}) {
                syswrite STDOUT, "$kind: connect: " . errno_name() . "\n";
                exit 1;
            }
            push @clients, [$kind, $client];
        }
        my @waiting;
        for (@clients) {
            my ($kind, $client) = @$_;
            if ($kind eq "random") {
                my ($sent, $end) = send_all($client, $random);
                close $client;
                report($kind, $sent, "", $end);
            } elsif ($kind eq "reset") {
                reset_now($client);
                report($kind, 0, "", "reset (RST)");
            } elsif ($kind eq "request-reset") {
                my ($sent) = send_all($client, "GET / HTTP/1.1\r\n\r\n");
                shutdown $client, SHUT_WR or die "shutdown: $!\n";
                reset_now($client);
                report($kind, $sent, "", "reset (RST)");
            } elsif ($kind eq "garbage" or $kind eq "half-close") {
                push @waiting, $_;
            } else {
                die "unknown kind: $kind\n";
            }
        }
        # The two that wait on the server, each in a process of its own. A child
        # keeps only its own socket: a copy left open would hold the connection.
        for my $index (0 .. $#waiting) {
            my ($kind, $client) = @{ $waiting[$index] };
            my $pid = fork // die "fork: $!\n";
            if ($pid == 0) {
                close $_->[1] for @waiting[$index + 1 .. $#waiting];
                $kind eq "garbage" ? garbage($kind, $client) : half_close($kind, $client);
                exit 0;
            }
            close $client;
        }
        syswrite STDOUT, "ready: " . @clients . " connected\n";
        1 while wait != -1;
' "$@"
}

# wait_for_hostile_clients [FILE]: until the hostile clients (default: the
# last started) have all connected and those that wait for nothing are done.
wait_for_hostile_clients() {
    wait_for_line '^ready: [0-9]+ connected$' "${1:-$HOSTILE_OUT}"
}

# hostile_datagrams ADDR PORT: datagrams a UDP server must survive, from a
# socket that is closed at once (the echoes go to a port where nothing
# listens): ten of random bytes and random sizes, one of 65507 bytes (the
# most an IPv4 datagram can carry), and an empty one. Prints how many: 12.
hostile_datagrams() {
    # shellcheck disable=SC2016 # the quoted text is Perl, not shell
    timeout "$WAIT_SECONDS" perl -MSocket=:all -e '
        my ($host, $port) = @ARGV;
        my ($error, $server) = getaddrinfo($host, $port,
            { flags => AI_NUMERICHOST, socktype => SOCK_DGRAM });
        die "getaddrinfo: $error\n" if $error;
        srand 2017;
        my @datagrams = map { pack "C*", map { int rand 256 } 1 .. 1 + int rand 1500 } 1 .. 10;
        push @datagrams, pack("C*", map { int rand 256 } 1 .. 65507), "";
        socket my $sender, $server->{family}, SOCK_DGRAM, 0 or die "socket: $!\n";
        for my $datagram (@datagrams) {
            defined send($sender, $datagram, 0, $server->{addr}) or die "sendto: $!\n";
        }
        close $sender;
        print scalar @datagrams, "\n";' "$1" "$2" 3>&- 4>&-
}

# ---- Helpers run untraced ---------------------------------------------------

# Bats runs a DEBUG trap before every command of a test and of every
# function it calls (set -T), to know where a failure happened: a few
# hundred microseconds each time, which made a wait loop written in bash
# dearer than one that starts grep. The helpers run without it: untraced
# COMMAND... turns function tracing off for COMMAND. A failure inside is
# reported at the test's line that called the helper. (Under set -e a
# failure ends the test here, as it would have anyway.)
# setup: bats calls it at the start of each test, inside the test's
# function. Tracing off from here on: the test's own lines still run the
# DEBUG trap (the function is already running with it), so a failure is
# still reported at the test's line, but the helpers and the bats-assert
# functions it calls do not, and run several times faster. A test file
# that defines its own setup should call this one first: helpers_setup.
helpers_setup() {
    set +T
}
setup() {
    helpers_setup
}

untraced() {
    # (Every return says its status: a bare `return` in a function run from
    # a trap, as bats runs teardown, would return the status from before it.)
    if [[ $- != *T* ]]; then
        "$@"
        return "$?"
    fi
    set +T
    "$@"
    local untraced_status=$?
    set -T
    return "$untraced_status"
}

start_lab() { untraced _start_lab "$@"; }
start_peer() { untraced _start_peer "$@"; }
start_traced_lab() { untraced _start_traced_lab "$@"; }
strace_lab() { untraced _strace_lab "$@"; }
poll_until() { untraced _poll_until "$@"; }
process_state() { untraced _process_state "$@"; }
process_in_state() { untraced _process_in_state "$@"; }
has_exited() { untraced _has_exited "$@"; }
wait_for_line() { untraced _wait_for_line "$@"; }
wait_for_lines() { untraced _wait_for_lines "$@"; }
count_lines() { untraced _count_lines "$@"; }
at_least() { untraced _at_least "$@"; }
wait_for_port() { untraced _wait_for_port "$@"; }
assert_blocked_in() { untraced _assert_blocked_in "$@"; }
fd_count() { untraced _fd_count "$@"; }
wait_for_exit() { untraced _wait_for_exit "$@"; }
stop_lab() { untraced _stop_lab "$@"; }
teardown() { untraced _teardown "$@"; }
skip_unless_ipv6() { untraced _skip_unless_ipv6 "$@"; }
accept_queue() { untraced _accept_queue "$@"; }
connected_on() { untraced _connected_on "$@"; }
in_time_wait() { untraced _in_time_wait "$@"; }
in_close_wait() { untraced _in_close_wait "$@"; }
queued_and_connected() { untraced _queued_and_connected "$@"; }
suspend_lab() { untraced _suspend_lab "$@"; }
end_peer() { untraced _end_peer "$@"; }
assert_last_line() { untraced _assert_last_line "$@"; }
read_lab_output() { untraced _read_lab_output "$@"; }

# ---- bats' `run --separate-stderr`, no mktemp ------------------------------

# bats 1.8's `run --separate-stderr` makes its stderr file with
# `mktemp DIR/separate-stderr-XXXXXX`, one process each time: a test that
# runs a lab twenty times with bad options starts twenty. That form (one
# argument, a path ending in XXXXXX) is made here by bash itself: a name
# no file has yet, created with noclobber so that two never get the same.
# Any other use is the real mktemp's.
mktemp() {
    if (($# != 1)) || [[ $1 != /*XXXXXX || $1 == -* ]]; then
        command mktemp "$@"
        return "$?"
    fi
    local base=${1%XXXXXX} name attempt made=1 noclobber=+C
    [[ $- == *C* ]] && noclobber=-C
    set -C
    for ((attempt = 0; attempt < 100; attempt++)); do
        printf -v name '%s%06d' "$base" $(((RANDOM << 15 | RANDOM) % 1000000))
        if { : >"$name"; } 2>/dev/null; then
            made=0
            break
        fi
    done
    set "$noclobber"
    ((made == 0)) || { command mktemp "$@"; return "$?"; }
    printf '%s\n' "$name"
}

# ---- bats' `run`, one process cheaper --------------------------------------

# bats 1.8's `run` runs its command inside $(...) through one of these two
# functions, which then starts the command as a child of that subshell: two
# processes for `run nc ...`. When the command is a program (not a function
# or a builtin) and nothing follows it in the subshell, exec it instead:
# the same program, output and status, one process fewer. (With
# --keep-empty-lines, run adds a marker after the command: no exec then.)
# run_exec_target NAME: NAME is a program found in PATH (or a path).
run_exec_target() {
    ((BASH_SUBSHELL > 0)) && [[ -z ${keep_empty_lines:-} ]] || return 1
    declare -F -- "$1" >/dev/null && return 1
    if [[ $1 == */* ]]; then
        [[ -x $1 ]]
        return "$?"
    fi
    hash -- "$1" 2>/dev/null && [[ -n ${BASH_CMDS[$1]:-} ]]
}
if declare -F bats_merge_stdout_and_stderr >/dev/null &&
    declare -F bats_redirect_stderr_into_file >/dev/null; then
    bats_merge_stdout_and_stderr() {
        if run_exec_target "$1"; then exec "$@" 2>&1; fi
        "$@" 2>&1
    }
    bats_redirect_stderr_into_file() {
        # shellcheck disable=SC2154 # run's local
        if run_exec_target "$1"; then exec "$@" 2>>"$bats_run_separate_stderr_file"; fi
        "$@" 2>>"$bats_run_separate_stderr_file"
    }
fi

# Fair grading: peers from the reference, patterns for the lines a correct
# program may print in more than one right way.
source "${BASH_SOURCE[0]%/*}/helpers-grading.bash"
