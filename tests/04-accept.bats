#!/usr/bin/env bats
# 04-accept: accept() sleeps until a connection is queued, then returns a new
# socket for it; the greeting server serves its clients one at a time.

bats_require_minimum_version 1.5.0
load helpers

# start_server ARGS...: start ./accept on a kernel-chosen port and wait until
# it has printed "accept(L) ...". Sets PORT and L, the listening socket's
# descriptor, read from the lab's own listen line: which number it is
# depends on what else the program opened, and is not this lab's lesson.
start_server() {
    start_lab 04-accept -p 0 "$@"
    PORT=$(wait_for_port)
    wait_for_line '^listen\([0-9]+, [0-9]+\) = 0$'
    L=$(listening_fd)
    wait_for_line "^accept\\($L\\) \\.\\.\\.\$"
}

# wait_for_accepted: until the server has accepted a client; sets C, the
# new socket's descriptor, from its "accept(L) = C  peer ..." line.
wait_for_accepted() {
    wait_for_line "^accept\\($L\\) = [0-9]+  peer "
    C=$(accepted_fd)
}

# hello_sent FD: an ERE for the line of the call that sent the whole
# greeting on FD: write(FD, "Hello there.\n", 13) = 13, or send()'s.
hello_sent() {
    printf '^%s = 13$' "$(data_sent "$1" '"Hello there\.\\n"' 13)"
}

# open_readers N: N clients of this shell connect to PORT (READERS: their
# descriptors); readers_greeted WHAT: each reads one line, "Hello there.",
# and closes. (Functions: loops in a test's body run bats' DEBUG trap on
# every turn.)
open_readers() {
    local i
    READERS=()
    for ((i = 0; i < $1; i++)); do
        open_client tcp "$PORT"
        READERS+=("$CLIENT_FD")
    done
}
readers_greeted() {
    local fd line
    for fd in "${READERS[@]}"; do
        read -r -t 5 line <&"$fd" || fail "$1: a reader got nothing"
        assert_equal "$line" "Hello there."
        CLIENT_FD=$fd close_client
    done
}

# free_port: a port that no socket holds now: the kernel picks it for a
# socket bound to port 0, which is then closed.
free_port() {
    perl -MSocket=:all -e '
        socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
        bind($s, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die "bind: $!\n";
        my ($port) = unpack_sockaddr_in(getsockname($s));
        print "$port\n";'
}

# greeted_from_free_port: nc -d to the server from a source port that
# free_port found (sets SOURCE_PORT; the result is run's). Between the two
# a test running alongside may take that very port (nc: bind failed:
# Address already in use): then another port, at most 3 times.
greeted_from_free_port() {
    local attempt
    for attempt in 1 2 3; do
        SOURCE_PORT=$(free_port)
        run timeout 5 nc -d -p "$SOURCE_PORT" 127.0.0.1 "$PORT"
        [[ $status == 1 && $output == *"Address already in use"* ]] || return 0
        echo "# attempt $attempt: port $SOURCE_PORT was taken meanwhile" >&3
    done
}

# hint: Before calling accept() print "accept(L) ..." (L: the listening
#   socket's fd); accept() then sleeps until a client is queued. After it
#   returns print "accept(L) = C  peer ADDR:PORT": the NEW fd and the
#   client's address (pass accept() a sockaddr_storage and its length, then
#   format_address()). See accept(2).
@test "before any client it prints accept(3) ... and sleeps inside accept; a client wakes it with the result line" {
    start_server
    # The set-up, in the order that makes a server (socket, the option,
    # bind, the port, listen), then the wait for a client.
    assert_in_order "$(socket_line AF_INET SOCK_STREAM)" \
        "^setsockopt\\($L, SOL_SOCKET, SO_REUSEADDR, \\[1\\], 4\\) = 0\$" \
        "^bind\\($L, 127\\.0\\.0\\.1:0\\) = 0\$" \
        "^getsockname\\($L\\) = 127\\.0\\.0\\.1:$PORT\$" \
        "^listen\\($L, [0-9]+\\) = 0\$" \
        "^accept\\($L\\) \\.\\.\\.\$"
    assert_blocked_in accept accept4
    read_lab_output
    refute_line --regexp "^accept\\($L\\) = "
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    wait_for_line "^accept\\($L\\) = [0-9]+  peer 127\\.0\\.0\\.1:[0-9]+\$"
}

# hint: Send the message AND a newline: 13 bytes, "Hello there.\n". Loop until
#   write() (or send()) has taken them all, print each call as
#   'write(C, "Hello there.\n", 13) = 13', then close() the client's socket:
#   that is what makes nc see EOF. See write(2), close(2).
@test "nc receives exactly \"Hello there.\\n\", then EOF as the server closes the connection" {
    start_server
    # nc -d exits when it reads EOF: the server closed its socket.
    timeout 5 nc -d 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/received" 3>&- 4>&-
    run -0 cmp "$BATS_TEST_TMPDIR/received" <(printf 'Hello there.\n')
    wait_for_accepted
    wait_for_line "^close\\($C\\) = 0\$"
    read_lab_output
    assert_line --regexp "$(hello_sent "$C")"
}

# hint: The peer is what accept() wrote into the address you passed it: the
#   client's own address and port. Format THAT (format_address()), not the
#   listening address, and pass the length as a socklen_t set to its size.
@test "the peer port it prints is the client's own port (nc -p)" {
    start_server
    greeted_from_free_port
    assert_equal "$status" 0
    assert_output "Hello there."
    wait_for_line "^accept\\($L\\) = [0-9]+  peer 127\\.0\\.0\\.1:$SOURCE_PORT\$"
}

# hint: close() each client's socket when you are done with it: the next
#   accept() then gets the same (lowest free) fd, and the process never holds
#   more than one client's socket. Never close or reuse the listening socket.
@test "every client gets a new socket, fd 4 each time, and the listening socket stays fd 3" {
    start_server
    local fds_before
    fds_before=$(fd_count "$LAB_PID")
    for _ in 1 2 3; do
        run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
        assert_output "Hello there."
    done
    wait_for_accepted
    wait_for_lines 3 "^close\\($C\\) = 0\$"
    # A new socket each time, and each time the same number: the last one
    # was closed (the kernel gives the lowest free descriptor).
    assert_equal "$(count_lines "^accept\\($L\\) = $C  peer ")" 3
    assert_equal "$(count_lines "^accept\\($L\\) = ")" 3
    [[ $C != "$L" ]] || fail "the client got the listening socket's descriptor"
    # Still listening, on its own descriptor, with none left over from the clients.
    run -0 ss -Hltnp "$(local_end "$PORT")"
    assert_output --partial "pid=$LAB_PID,fd=$L)"
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
    assert_blocked_in accept accept4
}

# hint: An iterative server: accept one client, write, close, and only then
#   accept the next, with no sleep between. The kernel queues the others
#   meanwhile: accept() takes them in their turn. See listen(2), accept(2).
@test "ten clients connecting at once all connect, wait in the queue, and are served in turn" {
    start_server
    assert_blocked_in accept accept4
    # Stopped, the server cannot accept: whatever connects now waits in the queue.
    suspend_lab
    local outputs=() output
    for _ in {1..10}; do
        hold_connection 127.0.0.1 "$PORT"
        outputs+=("$PEER_OUT")
    done
    # Every connect() returned, although nobody accepted.
    for output in "${outputs[@]}"; do
        wait_for_connected "$output"
    done
    assert_equal "$(accept_queue "$PORT")" "10 10"
    # 10 clients, 11 sockets on the server's port: the listener, plus one
    # established connection per client, all on port PORT: no new port.
    assert_equal "$(ss -Htln "$(local_end "$PORT")" | wc -l)" 1
    assert_equal "$(connected_on "$PORT")" 10
    local waiting_ports
    waiting_ports=$(ss -Htn state established "$(remote_end "$PORT")" |
        awk '{ sub(/.*:/, "", $3); print $3 }' | sort -n | paste -sd ' ')

    resume_lab
    # With no pause between clients (the notes' server slept 1 s after
    # each), the whole queue is served in well under 2 s.
    WAIT_SECONDS=2 wait_for_lines 10 '^close\([0-9]+\) = 0$'
    wait_for_accepted
    for output in "${outputs[@]}"; do
        wait_for_line '^Hello there\.$' "$output"
    done
    # The same ten clients, each accepted on the same descriptor ...
    local served_ports
    served_ports=$(sed -nE "s/^accept\\($L\\) = $C  peer 127\\.0\\.0\\.1:([0-9]+)\$/\\1/p" "$LAB_OUT" |
        sort -n | paste -sd ' ')
    assert_equal "$served_ports" "$waiting_ports"
    # ... one at a time: accept, write (or send), close, then the next accept.
    # (Result lines only: a "send(...) ..." line before the call is as right.)
    run -0 grep -E "^(accept\\($L\\) = |(write|send)\\($C, .*\\) = -?[0-9]+|close\\($C\\))" "$LAB_OUT"
    local line kinds=""
    for line in "${lines[@]}"; do kinds+=${line%%(*}" "; done
    kinds=${kinds//send/write}
    assert_equal "$kinds" "$(printf 'accept write close %.0s' {1..10})"
    assert_equal "$(accept_queue "$PORT")" "0 10"
    assert_blocked_in accept accept4
}

# hint: -m MESSAGE replaces "Hello there." (the newline stays). Print the bytes
#   you write with print_escaped(): a tab as \t, a quote as \", the newline
#   as \n, as strace shows them.
@test "-m MESSAGE: each client gets that message and a newline, shown escaped in the write line" {
    local message=$'Good bye.\tSee you "soon".'
    start_server -m "$message"
    timeout 5 nc -d 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/received" 3>&- 4>&-
    run -0 cmp "$BATS_TEST_TMPDIR/received" <(printf '%s\n' "$message")
    wait_for_accepted
    wait_for_line "^close\\($C\\) = 0\$"
    read_lab_output
    assert_line --regexp "^$(data_sent "$C" "$(ere '"Good bye.\tSee you \"soon\".\n"')" 26) = 26\$"
}

# hint: An empty -m is allowed: the reply is then just "\n", one byte.
@test "-m '': an empty message sends just the newline" {
    start_server -m ''
    timeout 5 nc -d 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/received" 3>&- 4>&-
    run -0 cmp "$BATS_TEST_TMPDIR/received" <(printf '\n')
}

# hint: -n COUNT: count the clients you served and leave the accept loop after
#   COUNT of them; then close() the listening socket, print it, return 0.
@test "-n 2: it serves two clients, closes the listening socket and exits 0" {
    start_server -n 2
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
    wait_for_accepted
    wait_for_line "^close\\($C\\) = 0\$"
    # After one client it is back in accept, waiting for the second.
    assert_blocked_in accept accept4
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line "close($L) = 0"
    assert_equal "$(count_lines "^accept\\($L\\) \\.\\.\\.\$")" 2
    assert_equal "$(count_lines "^accept\\($L\\) = $C  peer ")" 2
    # Nothing listens on the port any more.
    run -1 timeout 5 nc -z 127.0.0.1 "$PORT"
}

# hint: catch_stop_signals() installs the handler without SA_RESTART: the
#   signal makes accept() return -1 with errno EINTR. Narrate it
#   (narrate_failure()), leave the loop (stop_requested is set), close the
#   listening socket, print "close(L) = 0" and return 0. See signal(7).
@test "SIGTERM while in accept prints accept(3) = -1 EINTR, closes fd 3 and exits 0" {
    start_server
    assert_blocked_in accept accept4
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^accept\\($L\\) = -1 EINTR \\(Interrupted system call\\)\$" "^close\\($L\\) = 0\$"
}

# hint: SIGINT is caught like SIGTERM (catch_stop_signals()): the same EINTR
#   line, the same close, exit 0.
@test "SIGINT (Ctrl-C) while in accept ends it the same way" {
    start_server
    assert_blocked_in accept accept4
    stop_lab INT
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^accept\\($L\\) = -1 EINTR \\(Interrupted system call\\)\$" "^close\\($L\\) = 0\$"
}

# hint: Ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)): writing to a client that
#   has gone then fails with EPIPE instead of killing the process. Narrate the
#   failed write (narrate_failure()), close that client, accept the next.
@test "a client that hangs up and resets before it is served: write fails with EPIPE, and SIGPIPE does not kill the server" {
    start_server
    assert_blocked_in accept accept4
    suspend_lab
    # FIN, then RST, while the connection waits in the queue: the server's
    # write() will fail with EPIPE, and the kernel will raise SIGPIPE.
    reset_connection --after-fin 127.0.0.1 "$PORT"
    # Still queued, and gone from the connections: the RST has landed.
    poll_until 5 queued_and_connected "$PORT" 1 0 ||
        fail "the reset connection is not queued: $(accept_queue "$PORT")"
    resume_lab
    wait_for_accepted
    wait_for_line "^$(data_sent "$C" '.*' 13) = -1 EPIPE \\(Broken pipe\\)\$"
    wait_for_line "^close\\($C\\) = 0\$"
    # Alive, back in accept, and serving.
    assert_blocked_in accept accept4
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
}

# hint: A failed write (ECONNRESET: the client reset) ends that client only:
#   narrate it, still close() its socket (or the fds leak), and go back to
#   accept(). die() is for errors that concern the server itself.
@test "300 clients, a third of them resetting without reading: no descriptor leaks, and it still serves" {
    start_server -b 64
    # Room for each round's 30: else a connect below would wait out the
    # kernel's SYN retries (minutes), as bash's /dev/tcp has no time limit.
    assert_equal "$(accept_queue "$PORT")" "0 64"
    local fds_before round
    fds_before=$(fd_count "$LAB_PID")
    # Ten rounds. In each, while the server is stopped, 20 clients connect
    # (from this shell, through /dev/tcp) and 10 connect and reset; then the
    # server runs and serves all 30 from its queue. The resets have all
    # landed before it accepts them, so each of their writes fails.
    for round in {1..10}; do
        suspend_lab
        open_readers 20
        reset_connection 127.0.0.1 "$PORT" 10
        poll_until 5 queued_and_connected "$PORT" 30 20 ||
            fail "round $round: queue $(accept_queue "$PORT"), $(connected_on "$PORT") connected"
        resume_lab
        [[ -n ${C:-} ]] || wait_for_accepted
        wait_for_lines $((round * 30)) "^close\\($C\\) = 0\$"
        readers_greeted "round $round"
    done
    assert_equal "$(count_lines "^accept\\($L\\) = $C  peer ")" 300
    assert_equal "$(count_lines "$(hello_sent "$C")")" 200
    assert_equal "$(count_lines "^$(data_sent "$C" '.*' '[0-9]+') = -1 ECONNRESET \\(Connection reset by peer\\)\$")" 100
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
    assert_blocked_in accept accept4
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
}

# hint: The server closes first, so its side of each connection waits in
#   TIME_WAIT on the server's port. Set SO_REUSEADDR on the listening socket
#   before bind() (open_listening_socket() does), or a restart gets
#   EADDRINUSE for 60 s. See socket(7), tcp(7).
@test "it restarts on the same port right after serving a client, though the port is in TIME_WAIT" {
    start_server -n 1
    greeted_from_free_port
    assert_equal "$status" 0
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    # The server closed first, so the server's side holds the connection in
    # TIME_WAIT, on the server's own port: accept() used no other port.
    poll_until 5 in_time_wait "$PORT" || fail "no TIME_WAIT on port $PORT"
    run -0 ss -Htn state time-wait "$(local_end "$PORT")"
    assert_output --regexp "127\\.0\\.0\\.1:$PORT +127\\.0\\.0\\.1:$SOURCE_PORT"
    # A plain bind() would now fail with EADDRINUSE; SO_REUSEADDR gets past it.
    start_lab 04-accept -p "$PORT" -n 1
    wait_for_line '^accept\([0-9]+\) \.\.\.$'
    read_lab_output
    assert_line --regexp "^getsockname\\([0-9]+\\) = 127\\.0\\.0\\.1:$PORT\$"
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
}

# hint: accept() fills a struct sockaddr_storage: big enough for an IPv6 peer
#   too. format_address() prints it as [::1]:PORT.
@test "IPv6: -a ::1 serves on [::1]:PORT and prints the peer as [::1]:PORT" {
    skip_unless_ipv6
    start_server -a ::1
    read_lab_output
    assert_line --regexp "$(socket_line AF_INET6 SOCK_STREAM)"
    assert_line "getsockname($L) = [::1]:$PORT"
    run -0 timeout 5 nc -d ::1 "$PORT"
    assert_output "Hello there."
    wait_for_line "^accept\\($L\\) = [0-9]+  peer \\[::1\\]:[0-9]+\$"
}

# hint: Parse every option strictly (parse_port(), parse_number() with the
#   right range, parse_address()): on a bad value print a message naming it
#   and the usage on stderr, and exit 2 (usage_error()).
@test "bad usage exits 2 naming the bad value" {
    assert_rejects_bad_address_and_port 04-accept
    local value option
    for value in abc -1 '' 99999999999; do
        run --separate-stderr run_lab 04-accept -b "$value"
        assert_usage_error "$value"
    done
    for value in 0 -1 three '' 99999999999999999999; do
        run --separate-stderr run_lab 04-accept -n "$value"
        assert_usage_error "$value"
    done
    for option in b n m; do
        run --separate-stderr run_lab 04-accept "-$option"
        assert_usage_error "-$option"
    done
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 04-accept accept
}

# hint: Clients that send garbage, reset or vanish must cost one line each,
#   never the server: ignore SIGPIPE, narrate a failed write and go on,
#   close every client's socket whatever happened.
@test "hostile clients (random bytes, 1 MiB of garbage, resets, a half-close, a silent one) neither kill it nor leak a descriptor, and it serves on" {
    start_server
    local fds_before
    fds_before=$(fd_count "$LAB_PID")
    # Stopped, it accepts nothing: every client's bytes, FIN and RST land
    # before the server touches the connection, so each error path is taken.
    suspend_lab
    hold_connection 127.0.0.1 "$PORT"      # the silent one
    wait_for_connected
    start_hostile_clients 127.0.0.1 "$PORT"
    wait_for_hostile_clients
    # All six queued, and the two resets have landed: those are gone.
    poll_until 5 queued_and_connected "$PORT" 6 4 ||
        fail "queue $(accept_queue "$PORT"), $(connected_on "$PORT") connected"
    resume_lab
    wait_for_exit "$PEER_PID"
    assert_equal "$LAB_STATUS" 0
    run -0 cat "$HOSTILE_OUT"
    assert_line 'half-close: sent 0 bytes, received 13 "Hello there.\n", then EOF'
    wait_for_accepted
    wait_for_lines 6 "^close\\($C\\) = 0\$"
    # The reset and the reset after a FIN: ECONNRESET, then EPIPE, where an
    # unhandled SIGPIPE would have killed it.
    read_lab_output
    assert_line --regexp "^$(data_sent "$C" '.*' 13) = -1 ECONNRESET "
    assert_line --regexp "^$(data_sent "$C" '.*' 13) = -1 EPIPE "
    # Alive, back in accept with the descriptors it had, and serving.
    assert_blocked_in accept accept4
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
}

# hint: SO_REUSEADDR lets bind() past TIME_WAIT, never past a socket that
#   listens: the second server's bind() fails with EADDRINUSE, and die()
#   reports it (the call and the errno symbol on stderr, exit 1).
@test "SO_REUSEADDR never lets two servers listen on one port: the second gets EADDRINUSE" {
    start_lab 04-accept -p 0
    local port
    port=$(wait_for_port)
    wait_for_line '^listen\([0-9]+, [0-9]+\) = 0$'
    run --separate-stderr run_lab 04-accept -p "$port"
    assert_line --regexp '^setsockopt\([0-9]+, SOL_SOCKET, SO_REUSEADDR, \[1\], 4\) = 0$'
    assert_call_failed "bind(3, 127.0.0.1:$port)" EADDRINUSE
}
