# shellcheck shell=bash disable=SC2034,SC2154
# tests/helpers-poll.bash - what the tests of 09-nonblock and 10-poll add to
# helpers.bash (which they load first): the kernel's view of a process that
# should sleep in poll() and nowhere else, of its descriptors' O_NONBLOCK
# flag, and peers that a non-blocking connect() meets.
#
#   cpu_ticks PID               its CPU time so far (user + system), in clock ticks
#   assert_idle_in_poll [-p PID]   asleep in poll/ppoll, and it stays asleep:
#                               next to no CPU time over a second, no new line
#   assert_nonblocking PID FD   the kernel shows O_NONBLOCK on that descriptor
#   socket_fds PID              the descriptors of PID that are sockets
#   hold_closed_port            a port that is bound but not listening
#                               (connect: ECONNREFUSED); sets CLOSED_PORT
#   start_full_listener         a listener whose queue is full (connect: SYNs
#                               dropped, the handshake waits); sets FULL_PORT

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks
# (fields 14 and 15 of /proc/PID/stat; getconf CLK_TCK ticks a second).
cpu_ticks() {
    local stat fields
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # The command name (field 2) may hold spaces: count from after ')'.
    read -r -a fields <<<"${stat##*) }"
    # fields[0] is field 3 (the state): utime is field 14, stime 15.
    echo $((fields[11] + fields[12]))
}

# The most CPU time (in ticks; 100 a second on Linux) a process asleep in
# poll() may use over the one-second look below. A correct lab uses 0; a lab
# that spins on EAGAIN uses tens even on a busy machine.
IDLE_TICKS=${IDLE_TICKS:-3}

# assert_idle_in_poll [-p PID]: the process (default: the lab) sleeps in
# poll or ppoll (state S, the call's number in /proc/PID/syscall), and over
# one second of the clock it uses next to no CPU and prints nothing: it
# waits for an event, it does not spin. (A second is the measure here, not
# a wait for an event: CPU time is counted in ticks of 10 ms.)
assert_idle_in_poll() {
    local pid=$LAB_PID
    if [[ $1 == -p ]]; then
        pid=$2
    fi
    assert_blocked_in -p "$pid" poll ppoll
    local lines_before ticks_before ticks_after started
    lines_before=$(wc -l <"$LAB_OUT")
    ticks_before=$(cpu_ticks "$pid") || fail "process $pid is gone"
    started=${EPOCHREALTIME//[!0-9]/}
    sleep 1
    ticks_after=$(cpu_ticks "$pid") || fail "process $pid is gone"
    ((${EPOCHREALTIME//[!0-9]/} - started >= 1000000)) || fail "the look lasted under a second"
    if ((ticks_after - ticks_before > IDLE_TICKS)); then
        fail "process $pid used $((ticks_after - ticks_before)) ticks of CPU in a second while it should sleep in poll (at most $IDLE_TICKS)"
    fi
    [[ $(wc -l <"$LAB_OUT") == "$lines_before" ]] ||
        fail "$(show_lab_output)the lab printed $(($(wc -l <"$LAB_OUT") - lines_before)) lines while it should sleep in poll"
    assert_blocked_in -p "$pid" poll ppoll
}

# assert_nonblocking PID FD: the file status flags the kernel shows for FD
# (octal, "flags:" in /proc/PID/fdinfo/FD) include O_NONBLOCK (04000).
assert_nonblocking() {
    local flags
    flags=$(awk '/^flags:/ { print $2 }' "/proc/$1/fdinfo/$2" 2>/dev/null)
    [[ -n $flags ]] || fail "no fdinfo for fd $2 of process $1"
    (((8#$flags & 8#4000) != 0)) || fail "fd $2 of process $1 is blocking: flags $flags"
}

# socket_fds PID: the numbers of PID's descriptors that are sockets, one a line.
socket_fds() {
    local link
    for link in "/proc/$1/fd/"*; do
        [[ $(readlink "$link" 2>/dev/null) == socket:* ]] && echo "${link##*/}"
    done
    return 0
}

# hold_closed_port: a TCP port on 127.0.0.1 that nothing listens on and that
# stays ours while the test runs: a socket bound to port 0 (the kernel picks
# a free port) that never listens. connect() to it is refused (RST), and no
# other test can take it meanwhile. Sets CLOSED_PORT.
hold_closed_port() {
    local out="$BATS_TEST_TMPDIR/closed-port.out"
    # shellcheck disable=SC2016 # the quoted text is Perl, not shell
    start_peer "$out" timeout 60 perl -MSocket=:all -e '
        $| = 1;
        socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
        bind($s, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die "bind: $!\n";
        my ($port) = unpack_sockaddr_in(getsockname($s));
        print "$port\n";
        sleep 60;'
    wait_for_line '^[0-9]+$' "$out"
    CLOSED_PORT=$(head -n 1 "$out")
}

# start_full_listener: a listener on 127.0.0.1 (kernel-chosen port) with
# backlog 0, which never accepts, and one connection from this shell that
# fills its queue (Linux admits backlog + 1). The next client's SYNs are
# dropped: its handshake does not complete while this lasts. Sets FULL_PORT
# and FILLER_FD (close it with exec {FILLER_FD}>&-).
start_full_listener() {
    local out="$BATS_TEST_TMPDIR/full-listener.out"
    # shellcheck disable=SC2016 # the quoted text is Perl, not shell
    start_peer "$out" timeout 60 perl -MSocket=:all -e '
        $| = 1;
        socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
        bind($s, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die "bind: $!\n";
        listen($s, 0) or die "listen: $!\n";
        my ($port) = unpack_sockaddr_in(getsockname($s));
        print "$port\n";
        sleep 60;'
    wait_for_line '^[0-9]+$' "$out"
    FULL_PORT=$(head -n 1 "$out")
    exec {FILLER_FD}<>"/dev/tcp/127.0.0.1/$FULL_PORT" ||
        fail "cannot fill the queue of 127.0.0.1:$FULL_PORT"
    poll_until "$WAIT_SECONDS" queue_length_is "$FULL_PORT" 1 ||
        fail "the listener's queue holds $(accept_queue "$FULL_PORT"), not 1"
}

# queue_length_is PORT N: the listener on 127.0.0.1:PORT has N connections
# waiting for accept().
queue_length_is() {
    [[ $(accept_queue "$1") == "$2 "* ]]
}

# ---- 08-server and 10-poll: many clients --------------------------------

# head_of_line_scene PORT: the scene that 08-server and 10-poll are both put
# through. A client connects and says nothing (nc -d: SILENT_PID); once it
# is connected, another sends half a request and stops (HALF_FD, a socket
# of this shell: printf '\r\n' >&"$HALF_FD" completes the request); then
# curl asks for / (CURL_PID, in the background, bounded). CURL_OUT gets
# curl's body, then a line "time_total SECONDS" (curl's own measure).
head_of_line_scene() {
    local port=$1
    hold_connection 127.0.0.1 "$port"
    SILENT_PID=$PEER_PID
    wait_for_connected
    exec {HALF_FD}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to 127.0.0.1:$port"
    # One write (bash's printf would write a line at a time).
    printf 'GET / HTTP/1.1\r\nHost: half\r\n' >"$BATS_TEST_TMPDIR/half-request"
    cat "$BATS_TEST_TMPDIR/half-request" >&"$HALF_FD"
    CURL_OUT="$BATS_TEST_TMPDIR/curl.out"
    start_peer "$CURL_OUT" timeout 20 curl -sS -w 'time_total %{time_total}\n' "http://127.0.0.1:$port/"
    CURL_PID=$PEER_PID
}

# start_many_clients PORT COUNT: COUNT clients in one background process
# (python3), each with its own connection to 127.0.0.1:PORT. All connect,
# then it prints "connected COUNT" and waits (bounded) until the file
# $BATS_TEST_TMPDIR/go exists; then every client sends a request, and the
# process reads all the answers as they come (select()) and prints
# "answered N of COUNT": N got exactly 08's 97-byte "Hello there." answer,
# then EOF. Sets PEER_PID and MANY_OUT. Each connection is a descriptor of
# that process: COUNT must stay under its `ulimit -n`.
start_many_clients() {
    MANY_OUT="$BATS_TEST_TMPDIR/many.out"
    start_peer "$MANY_OUT" timeout 60 python3 -c '
import os, selectors, socket, sys, time
port, count, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
expected = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
            b"Connection: close\r\n\r\nHello there.\n")
clients = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(count)]
print("connected", count, flush=True)
deadline = time.monotonic() + 40
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("no go")
    time.sleep(0.02)
for client in clients:
    client.sendall(b"GET / HTTP/1.1\r\nHost: many\r\n\r\n")
selector = selectors.DefaultSelector()
answers = {}
for client in clients:
    client.setblocking(False)
    selector.register(client, selectors.EVENT_READ)
    answers[client] = b""
answered, open_count = 0, count
while open_count and time.monotonic() < deadline:
    for key, _ in selector.select(timeout=1):
        chunk = key.fileobj.recv(65536)
        if chunk:
            answers[key.fileobj] += chunk
            continue
        selector.unregister(key.fileobj)
        key.fileobj.close()
        open_count -= 1
        answered += answers[key.fileobj] == expected
print("answered", answered, "of", count, flush=True)
' "$1" "$2" "$BATS_TEST_TMPDIR/go"
}

# sleeps_only_in_poll PID WHILE_PID: until WHILE_PID ends (bounded), look at
# PID again and again: whenever it sleeps (state S), it must be in poll or
# ppoll. Prints the number of looks that found it asleep; fails naming the
# call if it ever slept in another.
sleeps_only_in_poll() {
    local pid=$1 while_pid=$2 numbers number state asleep=0 looks=0
    mapfile -t numbers <"$(syscall_numbers_file poll ppoll)"
    local deadline=$((${EPOCHREALTIME//[!0-9]/} + 30000000))
    while ! has_exited "$while_pid" && ((${EPOCHREALTIME//[!0-9]/} < deadline)); do
        looks=$((looks + 1))
        state=$(process_state "$pid") || break
        if [[ $state == S ]] && { read -r number _ <"/proc/$pid/syscall"; } 2>/dev/null; then
            [[ $number == running ]] && continue
            [[ " ${numbers[*]} " == *" $number "* ]] ||
                fail "process $pid slept in system call $number, not in poll (${numbers[*]})"
            asleep=$((asleep + 1))
        fi
    done
    echo "$asleep"
}

# ---- Grading fairly (09-nonblock, 10-poll) -------------------------------
# The narration of poll() is the lesson: which descriptors it watches for
# which events, and which came back with which revents. Its timeout
# argument and whether the program called poll() or its twin ppoll() (which
# sleeps the same way) are the program's own choice.

# poll_call ENTRIES N: an ERE (no anchors) for "poll([ENTRIES], N, -1)" or
# "ppoll([ENTRIES], N, NULL, NULL, 8)": ENTRIES is an ERE (see entry).
poll_call() {
    printf 'p?poll\\(\\[%s\\], %s, [^()]*\\)' "$1" "$2"
}

# entry FD EVENTS [KEY]: the ERE of one pollfd as strace prints it:
# {fd=FD, events=EVENTS} (KEY revents: {fd=FD, revents=EVENTS}).
entry() {
    printf '\\{fd=%s, %s=%s\\}' "$1" "${3:-events}" "$2"
}

# either A B: the ERE of two entries A and B, in either order (which comes
# first in the array is the program's choice).
either() {
    printf '(%s, %s|%s, %s)' "$1" "$2" "$2" "$1"
}

# waiting_in_poll ENTRIES N: the ERE of the whole line printed before poll()
# sleeps: "poll([ENTRIES], N, -1) ...".
waiting_in_poll() {
    printf '^%s \\.\\.\\.$' "$(poll_call "$1" "$2")"
}

# polled ENTRIES N READY REVENTS: the ERE of the whole result line:
# "poll([ENTRIES], N, -1) = READY ([REVENTS])".
polled() {
    printf '^%s = %s \\(\\[%s\\]\\)$' "$(poll_call "$1" "$2")" "$3" "$4"
}

# assert_last_line_matches ERE: the lab's latest line matches ERE.
assert_last_line_matches() {
    local last
    last=$(tail -n 1 "$LAB_OUT")
    [[ $last =~ $1 ]] || { show_lab_output; fail "last line is '$last', not /$1/"; }
}
