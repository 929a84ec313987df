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
#
# Labs come from $LABS_DIR (default: this checkout's labs/), laid out like
# labs/: LABS_DIR/02-bind/bind. An instructor points it at students' builds.

bats_load_library bats-support
bats_load_library bats-assert

LABS_DIR=${LABS_DIR:-$BATS_TEST_DIRNAME/../labs}

# Tests match other programs' messages (bash's "Connection refused"): in
# English, whatever the user's locale. And curl talks to loopback directly,
# whatever proxy the user's environment names.
export LC_ALL=C
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY

# Every wait is bounded: this many seconds unless a test says otherwise.
WAIT_SECONDS=${WAIT_SECONDS:-5}
# How often a wait looks again. Waits poll because the events they await
# (a line in a file, a process state in /proc) have no notification.
POLL_INTERVAL=0.02

# The background processes this test started, for teardown.
STARTED_PIDS=()

# The path of a lab's binary: 02-bind -> $LABS_DIR/02-bind/bind
lab_binary() {
    local lab=$1
    printf '%s/%s/%s\n' "$LABS_DIR" "$lab" "${lab#[0-9][0-9]-}"
}

# start_lab LAB ARGS...
# Starts the lab with bats' fds 3 and 4 closed (an inherited copy would make
# bats wait for it) and its output in log files, never the test's stdout.
# (No setsid: under job control it forks, and $! would not be the lab.) Sets:
#   LAB_PID   its process id
#   LAB_OUT   the file with its stdout (the narration)
#   LAB_ERR   the file with its stderr
start_lab() {
    local lab=$1
    shift
    local binary
    binary=$(lab_binary "$lab")
    [[ -x $binary ]] || fail "no lab binary at $binary (build it: make -C labs/$lab)"
    LAB_OUT="$BATS_TEST_TMPDIR/$lab.${#STARTED_PIDS[@]}.out"
    LAB_ERR="$BATS_TEST_TMPDIR/$lab.${#STARTED_PIDS[@]}.err"
    "$binary" "$@" >"$LAB_OUT" 2>"$LAB_ERR" </dev/null 3>&- 4>&- &
    LAB_PID=$!
    STARTED_PIDS+=("$LAB_PID")
}

# start_peer OUTFILE COMMAND...: start a helper program (an nc client, say)
# in the background, its output in OUTFILE; sets PEER_PID. Teardown ends it.
start_peer() {
    local out=$1
    shift
    "$@" >"$out" 2>&1 </dev/null 3>&- 4>&- &
    PEER_PID=$!
    STARTED_PIDS+=("$PEER_PID")
}

# run_lab LAB ARGS...: run a lab to completion under bats' `run`, bounded.
# Use as: run -2 run_lab 02-bind -p abc    (or --separate-stderr)
run_lab() {
    local lab=$1
    shift
    timeout "$WAIT_SECONDS" "$(lab_binary "$lab")" "$@" 3>&- 4>&-
}

# strace_lab CALLS LAB ARGS...: run a lab under strace, tracing CALLS (e.g.
# socket,close). Writes the kernel's view to $BATS_TEST_TMPDIR/trace and the
# lab's narration to $BATS_TEST_TMPDIR/narration. (A sanitized build cannot
# check for leaks under ptrace: LeakSanitizer is turned off for this run.)
strace_lab() {
    local calls=$1 lab=$2
    shift 2
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        timeout "$WAIT_SECONDS" strace -o "$BATS_TEST_TMPDIR/trace" -e "trace=$calls" \
        "$(lab_binary "$lab")" "$@" >"$BATS_TEST_TMPDIR/narration" 3>&- 4>&-
}

# poll_until SECONDS COMMAND...: run COMMAND until it succeeds; fail once
# SECONDS (e.g. 5 or 0.9) have passed by the clock, however long each try
# took. Returns COMMAND's success, never loops for ever.
poll_until() {
    # $EPOCHREALTIME without its decimal point: now, in microseconds.
    local deadline=$((${EPOCHREALTIME//[!0-9]/} + $(microseconds "$1")))
    shift
    until "$@"; do
        ((${EPOCHREALTIME//[!0-9]/} < deadline)) || return 1
        sleep "$POLL_INTERVAL"
    done
}

# microseconds SECONDS: "0.9" -> 900000, "5" -> 5000000.
microseconds() {
    local whole=${1%.*} fraction=000000
    [[ $1 == *.* ]] && fraction=${1#*.}000000
    echo $((10#${whole:-0} * 1000000 + 10#${fraction:0:6}))
}

# Show what a lab printed: for failure messages.
show_lab_output() {
    local out=${1:-$LAB_OUT} err=${2:-$LAB_ERR}
    printf -- '--- lab stdout (%s)\n%s\n--- lab stderr\n%s\n---\n' \
        "$out" "$(cat "$out" 2>/dev/null)" "$(cat "$err" 2>/dev/null)"
}

# wait_for_line REGEX [FILE] [SECONDS]: wait until FILE (default: the last
# started lab's stdout) has a line matching the extended REGEX.
wait_for_line() {
    local regex=$1 file=${2:-$LAB_OUT} seconds=${3:-$WAIT_SECONDS}
    # Each look is bounded too: a wrong lab that floods its log must not
    # stretch one grep past the wait.
    if ! poll_until "$seconds" timeout "$seconds" grep -qE -- "$regex" "$file"; then
        show_lab_output "$file" "${file%.out}.err"
        fail "no line matching /$regex/ in $file within ${seconds}s"
    fi
}

# count_lines REGEX [FILE]: how many lines of FILE (default: the lab's
# stdout) match. Bounded, in case a wrong lab floods its log.
count_lines() {
    timeout 5 grep -cE -- "$1" "${2:-$LAB_OUT}" || true
}

# at_least N REGEX: the lab's stdout has N or more lines matching.
at_least() {
    (($(count_lines "$2") >= $1))
}

# wait_for_lines N REGEX: wait (bounded) until N or more lines match.
wait_for_lines() {
    poll_until "$WAIT_SECONDS" at_least "$1" "$2" ||
        fail "$(show_lab_output)only $(count_lines "$2") lines match /$2/, not $1"
}

# wait_for_port [FILE]: wait for "getsockname(FD) = ADDR:PORT" and print PORT.
wait_for_port() {
    local file=${1:-$LAB_OUT}
    wait_for_line '^getsockname\([0-9]+\) = .*:[0-9]+$' "$file"
    sed -nE 's/^getsockname\([0-9]+\) = .*:([0-9]+)$/\1/p' "$file" | head -n 1
}

# syscall_numbers NAME...: this machine's numbers for these system calls,
# read from the C library's headers (they differ between architectures).
# Names this architecture does not have (pause on arm64) are left out.
syscall_numbers() {
    local name
    for name in "$@"; do printf 'SYS_%s\n' "$name"; done |
        "${CC:-cc}" -E -P -include sys/syscall.h - 2>/dev/null |
        grep -E '^[0-9]+$'
}

# syscall_numbers_file NAME...: a file of syscall_numbers NAME..., worked
# out once per test file: running the preprocessor takes tens of
# milliseconds, and some tests must look while a lab's short sleep lasts.
syscall_numbers_file() {
    local IFS=-
    local file="$BATS_FILE_TMPDIR/syscall-numbers.$*"
    if [[ ! -s $file ]]; then
        syscall_numbers "$@" >"$file.new" && mv "$file.new" "$file"
    fi
    printf '%s\n' "$file"
}

# The state letter of a process (R running, S sleeping, Z zombie ...).
process_state() {
    # The command name in field 2 may contain spaces: take what follows ')'.
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    printf '%s\n' "${stat%% *}"
}

# True when PID is asleep (state S) in a system call whose number is in
# the remaining arguments.
asleep_in_syscall() {
    local pid=$1
    shift
    local state number
    state=$(process_state "$pid") || return 1
    [[ $state == S ]] || return 1
    # Read by this shell itself, an ancestor of the lab: under Yama's
    # ptrace_scope 1 (Ubuntu's default) only an ancestor may read
    # /proc/PID/syscall, and a `cut` or `$(...)` would be the lab's sibling.
    { read -r number _ <"/proc/$pid/syscall"; } 2>/dev/null || return 1
    local wanted
    for wanted in "$@"; do
        [[ $number == "$wanted" ]] && return 0
    done
    return 1
}

# assert_blocked_in [-p PID] CALL...: the process (default: the last started
# lab) is asleep in one of the named system calls, e.g.
#   assert_blocked_in accept accept4
# It waits (bounded) because the lab prints its "..." line just *before* it
# enters the call. On failure it prints what the kernel shows instead.
assert_blocked_in() {
    local pid=$LAB_PID
    if [[ $1 == -p ]]; then
        pid=$2
        shift 2
    fi
    local numbers
    local numbers_file
    numbers_file=$(syscall_numbers_file "$@")
    mapfile -t numbers <"$numbers_file"
    ((${#numbers[@]} > 0)) || fail "no system call numbers found for: $*"
    if ! poll_until "$WAIT_SECONDS" asleep_in_syscall "$pid" "${numbers[@]}"; then
        show_lab_output
        fail "$(printf 'process %s is not asleep in %s (numbers %s)\n  state:   %s\n  syscall: %s\n  wchan:   %s' \
            "$pid" "$*" "${numbers[*]}" "$(process_state "$pid")" \
            "$(cat "/proc/$pid/syscall" 2>/dev/null)" "$(cat "/proc/$pid/wchan" 2>/dev/null)")"
    fi
}

# fd_count PID: the number of open file descriptors of a process.
fd_count() {
    local fds=("/proc/$1/fd/"*)
    printf '%s\n' "${#fds[@]}"
}

# has_exited PID: the process has ended (it is gone, or a zombie waiting for
# us to collect its status; `kill -0` would still succeed on a zombie).
has_exited() {
    local state
    state=$(process_state "$1") || return 0
    [[ $state == Z ]]
}

# wait_for_exit [PID]: wait (bounded) for the process to end by itself, then
# collect its exit status into LAB_STATUS.
wait_for_exit() {
    local pid=${1:-$LAB_PID}
    if ! poll_until "$WAIT_SECONDS" has_exited "$pid"; then
        show_lab_output
        fail "process $pid did not exit within ${WAIT_SECONDS}s"
    fi
    LAB_STATUS=0
    wait "$pid" || LAB_STATUS=$?
}

# stop_lab [SIGNAL] [PID]: send SIGNAL (default TERM) to the lab, then wait
# for it to exit and set LAB_STATUS.
stop_lab() {
    local signal=${1:-TERM} pid=${2:-$LAB_PID}
    kill -s "$signal" "$pid" || fail "cannot signal process $pid"
    wait_for_exit "$pid"
}

# teardown: end every process this test started. TERM first, then KILL
# after a bounded wait; then reap them so that none outlives the test.
teardown() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        if ! poll_until 2 has_exited "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
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
skip_unless_ipv6() {
    grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null || skip "no IPv6 loopback (::1) on this host"
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
suspend_lab() {
    local pid=${1:-$LAB_PID}
    kill -STOP "$pid" || fail "cannot stop process $pid"
    poll_until "$WAIT_SECONDS" process_in_state "$pid" T ||
        fail "process $pid did not stop: state $(process_state "$pid")"
}

resume_lab() {
    kill -CONT "${1:-$LAB_PID}" || fail "cannot continue process ${1:-$LAB_PID}"
}

# process_in_state PID LETTER: /proc/PID/stat shows that state.
process_in_state() {
    [[ $(process_state "$1") == "$2" ]]
}

# local_end PORT [ADDR], remote_end PORT [ADDR]: ss filters for the sockets
# whose local (remote) end is ADDR:PORT, ADDR 127.0.0.1 unless given. A port
# number is unique per address, not per machine: a test on [::1] and one on
# 127.0.0.1 running side by side may both get port 40000 from the kernel, so
# every look at ss names the address too, never the port alone.
local_end() { echo "src $(ss_address "${2:-127.0.0.1}"):$1"; }
remote_end() { echo "dst $(ss_address "${2:-127.0.0.1}"):$1"; }
ss_address() { [[ $1 == *:* ]] && echo "[$1]" || echo "$1"; }

# accept_queue PORT [ADDR]: the TCP socket listening on ADDR:PORT as ss
# shows it, "QUEUED BACKLOG". On a listening socket ss's Recv-Q column is
# the number of connections waiting for accept(), and Send-Q is the backlog.
accept_queue() {
    ss -Hltn "$(local_end "$@")" | awk '{ print $2, $3; exit }'
}

# ---- Checking a finished run (after `run --separate-stderr run_lab ...`) ----

# assert_usage_error VALUE: bad usage. Exit 2, nothing on stdout, and stderr
# shows the usage and names the bad VALUE ("abc", "-x", '' as '' or "") in
# the program's own words, outside the usage text (helpers-grading.bash):
# "port 'abc' is not a number" and "bad port: abc" both pass.
assert_usage_error() {
    local value=$1
    assert_equal "$status" 2
    assert_equal "$output" ""
    [[ ${stderr,,} == *usage* ]] || fail "stderr shows no usage: $stderr"
    names_value "$(own_words "$stderr")" "$value" ||
        fail "stderr does not name the bad value '$value' (outside the usage text): $stderr"
}

# assert_help LAB NAME: -h prints the usage ("usage: NAME", in either case)
# on stdout, nothing on stderr, and exits 0.
assert_help() {
    run --separate-stderr run_lab "$1" -h
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
assert_last_line() {
    local last
    last=$(tail -n 1 "$LAB_OUT")
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
read_lab_output() {
    run cat "${1:-$LAB_OUT}"
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
# away: TERM, then reap it. Its kernel closes its socket: the server sees
# FIN, or RST if bytes sent to it were never read. With hold_connection this
# is the client that connects, never sends, and leaves.
end_peer() {
    local pid=${1:-$PEER_PID}
    kill -TERM "$pid" 2>/dev/null || true
    poll_until "$WAIT_SECONDS" has_exited "$pid" || fail "client $pid did not end"
    wait "$pid" 2>/dev/null || true
}

# connected_on PORT: how many connections the server's side of PORT still
# has, accepted or queued alike: established, or in CLOSE-WAIT after the
# client's FIN. A connection the client reset is gone from the list.
connected_on() {
    ss -Htn state established state close-wait "$(local_end "$1")" | wc -l
}

# in_time_wait PORT [ADDR]: a finished connection whose local end is
# ADDR:PORT is in TIME_WAIT: this end closed first.
in_time_wait() {
    [[ -n $(ss -Htn state time-wait "$(local_end "$@")") ]]
}

# queued_and_connected PORT QUEUED CONNECTED: the listener on PORT holds
# QUEUED connections, and CONNECTED are still there (see connected_on).
queued_and_connected() {
    [[ $(accept_queue "$1") == "$2 "* && $(connected_on "$1") == "$3" ]]
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

# Fair grading: peers from the reference, patterns for the lines a correct
# program may print in more than one right way.
source "${BASH_SOURCE[0]%/*}/helpers-grading.bash"
