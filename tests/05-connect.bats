#!/usr/bin/env bats
# 05-connect: connect() returns when the handshake is done, not when the
# server accepts; it blocks only while the handshake cannot complete.

bats_require_minimum_version 1.5.0
load helpers

# start_server LAB ARGS...: start a server lab (the reference's: a peer) on
# a kernel-chosen port and wait until it listens. Sets SERVER_PID,
# SERVER_OUT and PORT.
start_server() {
    start_reference_lab "$@" -p 0
    SERVER_PID=$LAB_PID
    SERVER_OUT=$LAB_OUT
    PORT=$(wait_for_port)
    wait_for_line '^listen\([0-9]+, [0-9]+\) = 0$'
}

# The milliseconds printed on the client's "connect(...) = 0  after N ms" line.
connect_milliseconds() {
    sed -nE 's/^connect\([0-9]+, .*\) = 0  after ([0-9]+)\.[0-9]+ ms$/\1/p' "$1"
}

# The local port on the client's "getsockname(FD) = 127.0.0.1:PORT" line.
local_port() {
    sed -nE 's/^getsockname\([0-9]+\) = 127\.0\.0\.1:([0-9]+)( .*)?$/\1/p' "$1"
}

# hint: connect() returns once the handshake is done, which the server's
#   KERNEL completes: nobody needs to call accept(). Print "connect(FD,
#   ADDR:PORT) ..." before the call and "connect(FD, ADDR:PORT) = 0  after
#   MS ms" after it, then "recv(FD, ..." before you wait for data.
#   See connect(2).
@test "connect returns at once against a server that never calls accept (03-listen)" {
    start_server 03-listen
    start_lab 05-connect -p "$PORT"
    wait_for_line "^connect\\([0-9]+, 127\\.0\\.0\\.1:$PORT\\) = 0  after [0-9.]+ ms$"
    # It got past connect and now waits for data from a server that will
    # never send: asleep in recv (recvfrom), not in connect.
    wait_for_line "$(data_waiting '[0-9]+')"
    assert_blocked_in recvfrom recv read
    (($(connect_milliseconds "$LAB_OUT") < 500)) || fail "connect took a SYN retry: $(cat "$LAB_OUT")"
    # The server's kernel queued the connection; the server never accepted:
    # the kernel's listener still holds it, and the server sleeps in poll.
    wait_for_line '^accept queue: 1 pending' "$SERVER_OUT"
    assert_equal "$(accept_queue "$PORT")" "1 10"
    assert_blocked_in -p "$SERVER_PID" poll ppoll
}

# hint: After connect(), getsockname() gives the address the kernel chose for
#   your end (the implicit bind) and getpeername() the server's: print both,
#   "getsockname(FD) = ADDR:PORT" and "getpeername(FD) = ADDR:PORT".
#   See getsockname(2), getpeername(2).
@test "the local port the kernel chose is the peer port the server sees" {
    start_server 04-accept -n 1
    run -0 run_lab 05-connect -p "$PORT"
    local local_port
    local_port=$(local_port <(printf '%s\n' "$output"))
    [[ -n $local_port ]] || fail "no getsockname line: $output"
    assert_line --regexp "^getpeername\\([0-9]+\\) = 127\\.0\\.0\\.1:$PORT$"
    wait_for_line "^accept\\(3\\) = 4  peer 127\\.0\\.0\\.1:$local_port$" "$SERVER_OUT"
}

# hint: Do not call bind() in a client: connect() picks a free local port from
#   net.ipv4.ip_local_port_range by itself. Print getsockname() after
#   connect() to show it.
@test "the implicit bind: each connection gets its own port, from ip_local_port_range" {
    start_server 03-listen
    local ports=() low high
    read -r low high </proc/sys/net/ipv4/ip_local_port_range
    for _ in 1 2; do
        # Both stay connected (03 never sends), so neither port is free.
        start_lab 05-connect -p "$PORT"
        wait_for_line "$(data_waiting '[0-9]+')"
        run grep -c '^bind(' "$LAB_OUT"
        assert_output 0
        ports+=("$(local_port "$LAB_OUT")")
        ((ports[-1] >= low && ports[-1] <= high)) || fail "port '${ports[-1]}' is outside $low-$high"
    done
    [[ ${ports[0]} != "${ports[1]}" ]] || fail "both connections use port ${ports[0]}"
}

# hint: Loop on recv() until it returns 0 (EOF: the server closed), printing
#   each call as 'recv(FD, "BYTES", SIZE, 0) = N' with the bytes through
#   print_escaped(), then close the socket and print "close(FD) = 0".
@test "what the server sends is printed escaped, then recv = 0 at EOF, then exit 0" {
    start_server 04-accept -n 1 -m $'tab\there "quoted"'
    run -0 run_lab 05-connect -p "$PORT"
    assert_line --regexp "^$(data_received '[0-9]+' '"tab\\there \\"quoted\\"\\n"' '[0-9]+') = 18$"
    assert_line --regexp "^$(data_received '[0-9]+' '""' '[0-9]+') = 0( .*)?$"
    assert_line --index -1 --regexp '^close\([0-9]+\) = 0$'
}

# hint: When connect() fails, die() naming the call: it prints the errno's
#   symbol (ECONNREFUSED: nothing listens there, the peer answered with a
#   reset) and exits 1. See connect(2), ERRORS.
@test "a port that is bound but not listening (02-bind) refuses: ECONNREFUSED and exit 1" {
    start_reference_lab 02-bind -p 0
    PORT=$(wait_for_port)
    run --separate-stderr run_lab 05-connect -p "$PORT"
    assert_call_failed "connect(3, 127.0.0.1:$PORT)" ECONNREFUSED
    assert_line --regexp "^connect\\([0-9]+, 127\\.0\\.0\\.1:$PORT\\) \\.\\.\\.$"
    refute_line --regexp '^connect\(.*\) = 0'
}

# hint: Print the "connect(FD, ADDR:PORT) ..." line BEFORE calling connect(),
#   and the "= 0  after MS ms" line only once it has returned: measure the
#   time around the call itself (clock_gettime(CLOCK_MONOTONIC)).
@test "connect blocks while the server's accept queue is full, and completes on the SYN retry once it frees" {
    # 04 with backlog 0 has room for one finished connection. Stopped, it
    # cannot accept: one held client fills the queue.
    start_server 04-accept -b 0
    wait_for_line '^accept\(3\) \.\.\.$'
    suspend_lab "$SERVER_PID"
    hold_connection 127.0.0.1 "$PORT"
    wait_for_connected

    start_lab 05-connect -p "$PORT"
    wait_for_line "^connect\\([0-9]+, 127\\.0\\.0\\.1:$PORT\\) \\.\\.\\.$"
    assert_blocked_in connect
    run grep -c ' = 0  after' "$LAB_OUT"
    assert_output 0

    # The server runs again and empties its queue; our kernel's next SYN
    # (1 s after the first) is answered and connect returns.
    resume_lab "$SERVER_PID"
    wait_for_line "^connect\\([0-9]+, 127\\.0\\.0\\.1:$PORT\\) = 0  after [0-9.]+ ms$"
    (($(connect_milliseconds "$LAB_OUT") >= 500)) || fail "connect did not wait for a SYN retry: $(cat "$LAB_OUT")"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(count_lines "^$(data_received '[0-9]+' '"Hello there\.\\n"' '[0-9]+') = 13$")" 1
}

# hint: -w SECONDS: before connect(), set TCP_USER_TIMEOUT (milliseconds) with
#   setsockopt(fd, IPPROTO_TCP, ...): the kernel then gives up on the
#   unanswered SYNs and connect() fails with ETIMEDOUT. See tcp(7).
@test "-w 1 against a full accept queue gives up with ETIMEDOUT in about a second" {
    start_server 03-listen -b 0
    hold_connection 127.0.0.1 "$PORT"
    wait_for_line '^accept queue: 1 pending' "$SERVER_OUT"
    local started=$EPOCHREALTIME
    run --separate-stderr run_lab 05-connect -p "$PORT" -w 1
    local elapsed_ms=$(( (${EPOCHREALTIME/./} - ${started/./}) / 1000 ))
    assert_call_failed "connect(3, 127.0.0.1:$PORT)" ETIMEDOUT
    ((elapsed_ms >= 900 && elapsed_ms < 3000)) || fail "gave up after ${elapsed_ms} ms"
}

# hint: -m MESSAGE: send() all of it (loop on partial sends), printing
#   'send(FD, "BYTES", LEFT, 0) = N', then shutdown(fd, SHUT_WR) so that the
#   server reads EOF; keep reading its answer after that. See shutdown(2).
@test "-m sends the message and half-closes: the server reads it, then EOF" {
    start_peer "$BATS_TEST_TMPDIR/nc-server" nc -lvn 127.0.0.1 0
    local nc_pid=$PEER_PID
    wait_for_line '^Listening on 127\.0\.0\.1 [0-9]+$' "$BATS_TEST_TMPDIR/nc-server"
    PORT=$(sed -nE 's/^Listening on 127\.0\.0\.1 ([0-9]+)$/\1/p' "$BATS_TEST_TMPDIR/nc-server")
    start_lab 05-connect -p "$PORT" -m 'ping 1 2 3'
    wait_for_line '^shutdown\([0-9]+, SHUT_WR\) = 0'
    read_lab_output
    assert_line --regexp "^$(data_sent '[0-9]+' '"ping 1 2 3"' 10) = 10$"
    # nc -l prints what it got and, at EOF from the client, closes: the
    # client then reads EOF too and both exit.
    wait_for_exit "$nc_pid"
    wait_for_line '^ping 1 2 3' "$BATS_TEST_TMPDIR/nc-server"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
}

# hint: A reset is an error, not an EOF: when shutdown() or recv() fails,
#   die() naming the call, and exit 1 (ENOTCONN or ECONNRESET here).
@test "a server that closes with our message unread resets the connection: exit 1 naming the reset" {
    # 04 never reads: "hi" is still in its receive buffer when it closes,
    # so its kernel sends RST instead of FIN. The RST throws away whatever
    # we had not read yet; the next call fails: shutdown (ENOTCONN) when the
    # RST came first, else recv (ECONNRESET) after the greeting.
    start_server 04-accept -n 1
    run --separate-stderr run_lab 05-connect -p "$PORT" -m hi
    assert_equal "$status" 1
    local line named=0
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr
    while IFS= read -r line; do
        if { names_value "$line" shutdown && names_value "$line" ENOTCONN; } ||
            { { names_value "$line" recv || names_value "$line" read; } && names_value "$line" ECONNRESET; }; then
            named=1
        fi
    done <<<"$stderr"
    ((named)) || fail "stderr names neither shutdown and ENOTCONN nor recv and ECONNRESET: $stderr"
    refute_line --regexp "^$(data_received '[0-9]+' '""' '[0-9]+') = 0"
}

# hint: catch_stop_signals() installs the handler without SA_RESTART, so a
#   signal ends the wait in connect() with -1 EINTR: narrate_failure() it,
#   close the socket and return 0 (not die(): being asked to stop is no error).
@test "SIGTERM while connect waits prints connect = -1 EINTR and exits 0" {
    start_server 03-listen -b 0
    hold_connection 127.0.0.1 "$PORT"
    wait_for_line '^accept queue: 1 pending' "$SERVER_OUT"
    start_lab 05-connect -p "$PORT"
    assert_blocked_in connect
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --regexp "^connect\\([0-9]+, 127\\.0\\.0\\.1:$PORT\\) = -1 EINTR( |$)"
}

# hint: Make the socket of the server address's family (AF_INET6 for ::1) and
#   pass connect() the length parse_address() returned.
@test "IPv6: connects to [::1] from an IPv6 ephemeral port" {
    skip_unless_ipv6
    start_reference_lab 04-accept -a ::1 -p 0 -n 1
    PORT=$(wait_for_port)
    wait_for_line '^listen\('
    run -0 run_lab 05-connect -a ::1 -p "$PORT"
    assert_line --regexp "$(socket_line AF_INET6 SOCK_STREAM)"
    assert_line --regexp '^getsockname\([0-9]+\) = \[::1\]:[0-9]+( |$)'
    assert_line --regexp "^$(data_received '[0-9]+' '"Hello there\.\\n"' '[0-9]+') = 13$"
}

# hint: Parse every option strictly (parse_port(), parse_number(optarg,
#   "seconds", 1, 3600), parse_address()): on a bad value print a message
#   naming it and the usage on stderr, and exit 2 (usage_error()).
@test "bad usage exits 2 naming the bad value" {
    assert_rejects_bad_address_and_port 05-connect
    local value
    for value in 0 soon '' -1 3601; do
        run --separate-stderr run_lab 05-connect -w "$value"
        assert_usage_error "$value"
    done
    run --separate-stderr run_lab 05-connect -m
    assert_usage_error -m
    run --separate-stderr run_lab 05-connect -w
    assert_usage_error -w
    run --separate-stderr run_lab 05-connect extra
    assert_usage_error extra
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 05-connect connect
}
