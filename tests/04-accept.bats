#!/usr/bin/env bats
# 04-accept: accept() sleeps until a connection is queued, then returns a new
# socket for it; the greeting server serves its clients one at a time.

bats_require_minimum_version 1.5.0
load helpers

# start_server ARGS...: start ./accept on a kernel-chosen port and wait until
# it has printed "accept(3) ...". Sets PORT.
start_server() {
    start_lab 04-accept -p 0 "$@"
    PORT=$(wait_for_port)
    wait_for_line '^accept\(3\) \.\.\.$'
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

@test "before any client it prints accept(3) ... and sleeps inside accept; a client wakes it with the result line" {
    start_server
    read_lab_output
    assert_line --index 0 "socket(AF_INET, SOCK_STREAM, 0) = 3"
    assert_line --index 1 "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"
    assert_line --index 2 "bind(3, 127.0.0.1:0) = 0"
    assert_line --index 3 "getsockname(3) = 127.0.0.1:$PORT"
    assert_line --index 4 "listen(3, 10) = 0"
    assert_line --index 5 "accept(3) ..."
    assert_blocked_in accept accept4
    read_lab_output
    refute_line --regexp '^accept\(3\) = '
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    wait_for_line '^accept\(3\) = 4  peer 127\.0\.0\.1:[0-9]+$'
}

@test "nc receives exactly \"Hello there.\\n\", then EOF as the server closes the connection" {
    start_server
    # nc -d exits when it reads EOF: the server closed its socket.
    timeout 5 nc -d 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/received" 3>&- 4>&-
    run -0 cmp "$BATS_TEST_TMPDIR/received" <(printf 'Hello there.\n')
    wait_for_line '^close\(4\) = 0$'
    read_lab_output
    assert_line 'write(4, "Hello there.\n", 13) = 13'
}

@test "the peer port it prints is the client's own port (nc -p)" {
    start_server
    greeted_from_free_port
    assert_equal "$status" 0
    assert_output "Hello there."
    wait_for_line "^accept\\(3\\) = 4  peer 127\\.0\\.0\\.1:$SOURCE_PORT\$"
}

@test "every client gets a new socket, fd 4 each time, and the listening socket stays fd 3" {
    start_server
    local fds_before
    fds_before=$(fd_count "$LAB_PID")
    for _ in 1 2 3; do
        run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
        assert_output "Hello there."
    done
    wait_for_lines 3 '^close\(4\) = 0$'
    assert_equal "$(count_lines '^accept\(3\) = 4  peer ')" 3
    assert_equal "$(count_lines '^accept\(3\) = ')" 3
    # Still listening, on fd 3, with no descriptor left over from the clients.
    run -0 ss -Hltnp "$(local_end "$PORT")"
    assert_output --partial "pid=$LAB_PID,fd=3"
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
    assert_blocked_in accept accept4
}

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
    WAIT_SECONDS=2 wait_for_lines 10 '^close\(4\) = 0$'
    for output in "${outputs[@]}"; do
        wait_for_line '^Hello there\.$' "$output"
    done
    # The same ten clients, each accepted on fd 4 ...
    local served_ports
    served_ports=$(sed -nE 's/^accept\(3\) = 4  peer 127\.0\.0\.1:([0-9]+)$/\1/p' "$LAB_OUT" |
        sort -n | paste -sd ' ')
    assert_equal "$served_ports" "$waiting_ports"
    # ... one at a time: accept, write, close, then the next accept.
    run -0 grep -E '^(accept\(3\) = |write\(|close\()' "$LAB_OUT"
    local line kinds=""
    for line in "${lines[@]}"; do kinds+=${line%%(*}" "; done
    assert_equal "$kinds" "$(printf 'accept write close %.0s' {1..10})"
    assert_equal "$(accept_queue "$PORT")" "0 10"
    assert_blocked_in accept accept4
}

@test "-m MESSAGE: each client gets that message and a newline, shown escaped in the write line" {
    local message=$'Good bye.\tSee you "soon".'
    start_server -m "$message"
    timeout 5 nc -d 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/received" 3>&- 4>&-
    run -0 cmp "$BATS_TEST_TMPDIR/received" <(printf '%s\n' "$message")
    wait_for_line '^close\(4\) = 0$'
    read_lab_output
    assert_line 'write(4, "Good bye.\tSee you \"soon\".\n", 26) = 26'
}

@test "-m '': an empty message sends just the newline" {
    start_server -m ''
    timeout 5 nc -d 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/received" 3>&- 4>&-
    run -0 cmp "$BATS_TEST_TMPDIR/received" <(printf '\n')
}

@test "-n 2: it serves two clients, closes the listening socket and exits 0" {
    start_server -n 2
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
    wait_for_line '^close\(4\) = 0$'
    # After one client it is back in accept, waiting for the second.
    assert_blocked_in accept accept4
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --index -1 "close(3) = 0"
    assert_equal "$(count_lines '^accept\(3\) \.\.\.$')" 2
    assert_equal "$(count_lines '^accept\(3\) = 4  peer ')" 2
    # Nothing listens on the port any more.
    run -1 timeout 5 nc -z 127.0.0.1 "$PORT"
}

@test "SIGTERM while in accept prints accept(3) = -1 EINTR, closes fd 3 and exits 0" {
    start_server
    assert_blocked_in accept accept4
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line "accept(3) = -1 EINTR (Interrupted system call)"
    assert_line --index -1 "close(3) = 0"
}

@test "SIGINT (Ctrl-C) while in accept ends it the same way" {
    start_server
    assert_blocked_in accept accept4
    stop_lab INT
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line "accept(3) = -1 EINTR (Interrupted system call)"
    assert_line --index -1 "close(3) = 0"
}

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
    wait_for_line '^write\(4, "Hello there\.\\n", 13\) = -1 EPIPE \(Broken pipe\)$'
    wait_for_line '^close\(4\) = 0$'
    # Alive, back in accept, and serving.
    assert_blocked_in accept accept4
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
}

@test "300 clients, a third of them resetting without reading: no descriptor leaks, and it still serves" {
    start_server -b 64
    # Room for each round's 30: else a connect below would wait out the
    # kernel's SYN retries (minutes), as bash's /dev/tcp has no time limit.
    assert_equal "$(accept_queue "$PORT")" "0 64"
    local fds_before readers=() round fd line
    fds_before=$(fd_count "$LAB_PID")
    # Ten rounds. In each, while the server is stopped, 20 clients connect
    # (from this shell, through /dev/tcp) and 10 connect and reset; then the
    # server runs and serves all 30 from its queue. The resets have all
    # landed before it accepts them, so each of their writes fails.
    for round in {1..10}; do
        suspend_lab
        readers=()
        for _ in {1..20}; do
            open_client tcp "$PORT"
            readers+=("$CLIENT_FD")
        done
        reset_connection 127.0.0.1 "$PORT" 10
        poll_until 5 queued_and_connected "$PORT" 30 20 ||
            fail "round $round: queue $(accept_queue "$PORT"), $(connected_on "$PORT") connected"
        resume_lab
        wait_for_lines $((round * 30)) '^close\(4\) = 0$'
        for fd in "${readers[@]}"; do
            read -r -t 5 line <&"$fd" || fail "round $round: a reader got nothing"
            assert_equal "$line" "Hello there."
            CLIENT_FD=$fd close_client
        done
    done
    assert_equal "$(count_lines '^accept\(3\) = 4  peer ')" 300
    assert_equal "$(count_lines '^write\(4, "Hello there\.\\n", 13\) = 13$')" 200
    assert_equal "$(count_lines '^write\(4, .*\) = -1 ECONNRESET \(Connection reset by peer\)$')" 100
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
    assert_blocked_in accept accept4
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
}

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
    wait_for_line '^accept\(3\) \.\.\.$'
    read_lab_output
    assert_line "getsockname(3) = 127.0.0.1:$PORT"
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
}

@test "IPv6: -a ::1 serves on [::1]:PORT and prints the peer as [::1]:PORT" {
    skip_unless_ipv6
    start_server -a ::1
    read_lab_output
    assert_line --index 0 "socket(AF_INET6, SOCK_STREAM, 0) = 3"
    assert_line "getsockname(3) = [::1]:$PORT"
    run -0 timeout 5 nc -d ::1 "$PORT"
    assert_output "Hello there."
    wait_for_line '^accept\(3\) = 4  peer \[::1\]:[0-9]+$'
}

@test "bad usage exits 2 naming the bad value" {
    assert_rejects_bad_address_and_port 04-accept
    run --separate-stderr run_lab 04-accept -b abc
    assert_usage_error "backlog 'abc' is not a number"
    run --separate-stderr run_lab 04-accept -b -1
    assert_usage_error "backlog '-1' is out of range"
    run --separate-stderr run_lab 04-accept -b ''
    assert_usage_error "backlog '' is not a number"
    run --separate-stderr run_lab 04-accept -b
    assert_usage_error "option -b needs a value"
    run --separate-stderr run_lab 04-accept -n 0
    assert_usage_error "count '0' is out of range"
    run --separate-stderr run_lab 04-accept -n -1
    assert_usage_error "count '-1' is out of range"
    run --separate-stderr run_lab 04-accept -n three
    assert_usage_error "count 'three' is not a number"
    run --separate-stderr run_lab 04-accept -n ''
    assert_usage_error "count '' is not a number"
    run --separate-stderr run_lab 04-accept -n
    assert_usage_error "option -n needs a value"
    run --separate-stderr run_lab 04-accept -m
    assert_usage_error "option -m needs a value"
    run --separate-stderr run_lab 04-accept -b 99999999999
    assert_usage_error "backlog '99999999999' is out of range"
    run --separate-stderr run_lab 04-accept -n 99999999999999999999
    assert_usage_error "count '99999999999999999999' is out of range"
}

@test "-h prints the usage on stdout and exits 0" {
    assert_help 04-accept accept
}

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
    wait_for_lines 6 '^close\(4\) = 0$'
    # The reset and the reset after a FIN: ECONNRESET, then EPIPE, where an
    # unhandled SIGPIPE would have killed it.
    read_lab_output
    assert_line --regexp '^write\(4, "Hello there\.\\n", 13\) = -1 ECONNRESET '
    assert_line --regexp '^write\(4, "Hello there\.\\n", 13\) = -1 EPIPE '
    # Alive, back in accept with the descriptors it had, and serving.
    assert_blocked_in accept accept4
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
    run -0 timeout 5 nc -d 127.0.0.1 "$PORT"
    assert_output "Hello there."
}

@test "SO_REUSEADDR never lets two servers listen on one port: the second gets EADDRINUSE" {
    start_lab 04-accept -p 0
    local port
    port=$(wait_for_port)
    wait_for_line '^listen\(3, [0-9]+\) = 0$'
    run --separate-stderr run_lab 04-accept -p "$port"
    assert_line "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"
    assert_call_failed "bind(3, 127.0.0.1:$port)" EADDRINUSE
}
