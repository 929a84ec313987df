#!/usr/bin/env bats
# 09-nonblock: on a non-blocking socket accept, recv, send and connect never
# sleep: they return -1 EAGAIN (EINPROGRESS for connect), and the lab sleeps
# in poll() instead, until the socket is ready. Never a busy loop.

bats_require_minimum_version 1.5.0
load helpers
load helpers-poll

# start_server ARGS...: start ./nonblock on a kernel-chosen port and wait
# until it sleeps in poll() for its first client. Sets PORT.
start_server() {
    start_lab 09-nonblock -p 0 "$@"
    PORT=$(wait_for_port)
    wait_for_line '^poll\(\[\{fd=3, events=POLLIN\}\], 1, -1\) \.\.\.$'
}

# accepted_fd: the descriptor of the accepted client, from the lab's own
# "accept(3) = FD  peer ..." line (it is 4 unless the lab opened more).
accepted_fd() {
    wait_for_line '^accept\(3\) = [0-9]+  peer '
    sed -nE 's/^accept\(3\) = ([0-9]+)  peer .*/\1/p' "$LAB_OUT" | head -n 1
}

# Bytes waiting in the kernel for the lab's connection, as ss shows them:
# the lab's Send-Q (sent, not yet acknowledged) and the client's Recv-Q
# (arrived, not yet read).
lab_send_queue() {
    ss -Htn state established "$(local_end "$PORT")" | awk 'NR == 1 { print $2 }'
}
client_recv_queue() {
    ss -Htn state established "$(remote_end "$PORT")" | awk 'NR == 1 { print $1 }'
}
# taken_before_eagain [first]: the bytes the kernel had taken at the lab's
# latest (or first) EAGAIN, the first number after the errno text on its
# send line.
taken_before_eagain() {
    sed -nE 's/^send\([0-9]+, .*\) = -1 EAGAIN \([^)]*\)[^0-9]*([0-9]+).*$/\1/p' "$LAB_OUT" |
        if [[ ${1:-} == first ]]; then head -n 1; else tail -n 1; fi
}
# kernel_holds_what_was_taken: the lab sleeps after an EAGAIN, and the two
# queues together hold exactly what that EAGAIN line says. (While the
# client does not read, its kernel may still shrink its buffer's overhead
# and take a little more; then the lab sends again, and says so.)
kernel_holds_what_was_taken() {
    local sent received taken
    taken=$(taken_before_eagain)
    [[ $(tail -n 1 "$LAB_OUT") == poll\(* ]] || return 1
    sent=$(lab_send_queue) received=$(client_recv_queue)
    [[ -n $sent && -n $received && -n $taken ]] && ((sent + received == taken))
}

# More than the largest send buffer and the largest receive buffer TCP may
# grow to (the third numbers of tcp_wmem and tcp_rmem): send() must meet a
# full buffer on any host.
bytes_to_fill_buffers() {
    local wmem_max rmem_max
    read -r _ _ wmem_max </proc/sys/net/ipv4/tcp_wmem
    read -r _ _ rmem_max </proc/sys/net/ipv4/tcp_rmem
    echo $((wmem_max + rmem_max + 1048576))
}

# line_after REGEX: the line that follows the first line matching REGEX.
line_after() {
    grep -A1 -m1 -E -- "$1" "$LAB_OUT" | sed -n 2p
}

@test "the listening socket is made non-blocking: accept() returns EAGAIN at once, then the lab sleeps in poll() for POLLIN" {
    start_server
    read_lab_output
    assert_line --index 4 "listen(3, 1) = 0"
    assert_line --regexp '^fcntl\(3, F_SETFL, ([A-Z_]+\|)*O_NONBLOCK(\|[A-Z_]+)*\) = 0$'
    assert_line "accept(3) = -1 EAGAIN (Resource temporarily unavailable)"
    # poll comes after the EAGAIN, and nothing after it: the lab waits.
    assert_equal "$(line_after '^accept\(3\) = -1 EAGAIN ')" "poll([{fd=3, events=POLLIN}], 1, -1) ..."
    assert_last_line "poll([{fd=3, events=POLLIN}], 1, -1) ..."
    # The kernel's view: fd 3 carries O_NONBLOCK ...
    assert_nonblocking "$LAB_PID" 3
    # ... and the lab sleeps in poll, using no CPU: no busy loop.
    assert_idle_in_poll
}

@test "a client wakes poll() with POLLIN on the listener; accept() then succeeds, and the new socket is made non-blocking too" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_line '^poll\(\[\{fd=3, events=POLLIN\}\], 1, -1\) = 1 \(\[\{fd=3, revents=POLLIN\}\]\)$'
    local fd
    fd=$(accepted_fd)
    assert_equal "$(line_after '^poll\(.*\) = 1 ')" "$(grep -m1 '^accept(3) = [0-9]' "$LAB_OUT")"
    # accept() does not pass O_NONBLOCK on: the lab sets it on the new socket.
    wait_for_line "^fcntl\\($fd, F_SETFL, ([A-Z_]+\\|)*O_NONBLOCK(\\|[A-Z_]+)*\\) = 0\$"
    assert_nonblocking "$LAB_PID" "$fd"
    # The client says nothing: recv() returns EAGAIN and the lab sleeps in
    # poll() on the client's socket.
    wait_for_line "^recv\\($fd, .*\\) = -1 EAGAIN \\(Resource temporarily unavailable\\)\$"
    wait_for_line "^poll\\(\\[\\{fd=$fd, events=POLLIN\\}\\], 1, -1\\) \\.\\.\\.\$"
    assert_last_line "poll([{fd=$fd, events=POLLIN}], 1, -1) ..."
    assert_idle_in_poll
}

@test "recv: EAGAIN while the client is silent; poll() wakes with POLLIN when bytes come; recv() returns them and they are echoed" {
    start_server
    open_client tcp "$PORT"
    local fd
    fd=$(accepted_fd)
    wait_for_line "^poll\\(\\[\\{fd=$fd, events=POLLIN\\}\\], 1, -1\\) \\.\\.\\.\$"
    assert_blocked_in poll ppoll
    printf 'abc' >&"$CLIENT_FD"
    wait_for_line "^recv\\($fd, \"abc\", 1024, 0\\) = 3\$"
    # The order: EAGAIN, the wait, POLLIN, then the bytes.
    assert_equal "$(line_after "^poll\\(\\[\\{fd=$fd, events=POLLIN\\}\\], 1, -1\\) \\.\\.\\.\$")" \
        "poll([{fd=$fd, events=POLLIN}], 1, -1) = 1 ([{fd=$fd, revents=POLLIN}])"
    assert_equal "$(line_after "^poll\\(\\[\\{fd=$fd, events=POLLIN\\}\\], 1, -1\\) = 1 ")" \
        "recv($fd, \"abc\", 1024, 0) = 3"
    local echoed
    read -r -t 5 -N 3 echoed <&"$CLIENT_FD" || fail "no echo within 5 s"
    assert_equal "$echoed" "abc"
    # Then recv() again: EAGAIN, and back to sleep in poll().
    wait_for_lines 2 "^recv\\($fd, .*\\) = -1 EAGAIN "
    wait_for_lines 2 "^poll\\(\\[\\{fd=$fd, events=POLLIN\\}\\], 1, -1\\) \\.\\.\\.\$"
    assert_blocked_in poll ppoll
}

@test "recv() = 0 is still EOF: the client's shutdown ends the lab, exit 0" {
    start_server
    run -0 timeout 5 nc -N 127.0.0.1 "$PORT" <<<"hello"
    assert_output "hello"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --regexp '^recv\([0-9]+, "hello\\n", 1024, 0\) = 6$'
    assert_line --index -2 --regexp '^recv\([0-9]+, "", 1024, 0\) = 0  EOF: the peer closed its side$'
    assert_line --index -1 --regexp '^close\([0-9]+\) = 0$'
}

@test "the narration is what the kernel saw: strace shows the same fcntl, accept, poll, recv, send and close calls, in order" {
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 start_peer "$BATS_TEST_TMPDIR/narration" \
        strace -o "$BATS_TEST_TMPDIR/trace" \
        -e trace=socket,setsockopt,bind,getsockname,listen,fcntl,accept,accept4,poll,ppoll,recvfrom,sendto,close \
        "$(lab_binary 09-nonblock)" -p 0
    local strace_pid=$PEER_PID port
    port=$(wait_for_port "$BATS_TEST_TMPDIR/narration")
    wait_for_line '^poll\(.*\) \.\.\.$' "$BATS_TEST_TMPDIR/narration"
    exec {client}<>"/dev/tcp/127.0.0.1/$port"
    wait_for_line '^recv\(.*\) = -1 EAGAIN ' "$BATS_TEST_TMPDIR/narration"
    printf 'ping' >&"$client"
    local echoed
    read -r -t 5 -N 4 echoed <&"$client" || fail "no echo within 5 s"
    assert_equal "$echoed" "ping"
    exec {client}>&-     # all read: FIN, not RST
    wait_for_exit "$strace_pid"
    assert_equal "$LAB_STATUS" 0
    # Call names with their results, from the first socket() on. strace
    # says recvfrom/sendto for recv/send, accept4 and ppoll where the C
    # library uses them, and -1 for a failed call.
    sed -nE '/^socket\(/,$ s/^([a-z0-9]+)\(.*\) += (0x[0-9a-f]+|-?[0-9]+).*$/\1 \2/p' "$BATS_TEST_TMPDIR/trace" |
        sed -E 's/^recvfrom /recv /; s/^sendto /send /; s/^accept4 /accept /; s/^ppoll /poll /' >"$BATS_TEST_TMPDIR/kernel"
    sed -E 's/^(getsockname\([0-9]+\)) = .*$/\1 = 0/' "$BATS_TEST_TMPDIR/narration" |
        sed -nE 's/^([a-z]+)\(.*\) = (0x[0-9a-f]+|-?[0-9]+)( .*)?$/\1 \2/p' >"$BATS_TEST_TMPDIR/printed"
    run -0 diff "$BATS_TEST_TMPDIR/kernel" "$BATS_TEST_TMPDIR/printed"
    # and the lesson is in it: accept and recv failed (EAGAIN) before poll.
    run -0 grep -cE '^accept -1$' "$BATS_TEST_TMPDIR/printed"
    run -0 grep -cE '^recv -1$' "$BATS_TEST_TMPDIR/printed"
    run -0 grep -E 'EAGAIN' "$BATS_TEST_TMPDIR/trace"
}

@test "-f: send() takes bytes until EAGAIN, the line says how many, and that is exactly what the kernel holds" {
    local bytes
    bytes=$(bytes_to_fill_buffers)
    start_server -f "$bytes"
    open_client tcp "$PORT"    # and never reads, for now
    local fd
    fd=$(accepted_fd)
    wait_for_line "^send\\($fd, \"x+\"\\.\\.\\., [0-9]+, 0\\) = -1 EAGAIN \\(Resource temporarily unavailable\\)"
    # The first number after the errno text: bytes taken before EAGAIN,
    # which is what the send() calls before it returned, added up.
    local taken summed
    taken=$(taken_before_eagain first)
    [[ -n $taken ]] || fail "$(show_lab_output)the EAGAIN line does not say how many bytes the kernel took"
    echo "# bytes before EAGAIN: $taken (tcp_wmem: $(cat /proc/sys/net/ipv4/tcp_wmem))" >&3
    summed=$(sed -nE "/^send\\(.* = -1 EAGAIN /q; s/^send\\($fd, .*\\) = ([0-9]+)( .*)?\$/\\1/p" "$LAB_OUT" | awk '{ s += $1 } END { print s }')
    assert_equal "$summed" "$taken"
    # The kernel holds all of it: in the lab's send buffer, not yet
    # acknowledged, and in the client's receive buffer, not yet read.
    poll_until "$WAIT_SECONDS" kernel_holds_what_was_taken ||
        fail "$(show_lab_output)lab Send-Q $(lab_send_queue) + client Recv-Q $(client_recv_queue) is not $(taken_before_eagain)"
    # The lab waits for POLLOUT, asleep, and POLLOUT does not come while the
    # client does not read.
    wait_for_line "^poll\\(\\[\\{fd=$fd, events=POLLOUT\\}\\], 1, -1\\) \\.\\.\\.\$"
    assert_last_line "poll([{fd=$fd, events=POLLOUT}], 1, -1) ..."
    assert_idle_in_poll
    # The client reads, to EOF: POLLOUT comes, the rest is sent, every byte
    # arrives, and the lab ends.
    local received
    received=$(timeout 20 cat <&"$CLIENT_FD" | wc -c)
    assert_equal "$received" "$bytes"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line "poll([{fd=$fd, events=POLLOUT}], 1, -1) = 1 ([{fd=$fd, revents=POLLOUT}])"
    assert_last_line "close($fd) = 0"
}

@test "-c: connect() returns EINPROGRESS at once, poll() reports POLLOUT when the handshake is done, and SO_ERROR 0 says connected" {
    start_server
    run --separate-stderr run_lab 09-nonblock -c -p "$PORT"
    assert_equal "$status" 0
    assert_stderr_empty
    local fd
    fd=$(sed -nE 's/^connect\(([0-9]+), .*/\1/p' <<<"$output" | head -n 1)
    [[ -n $fd ]] || fail "no connect line: $output"
    assert_line --regexp "^fcntl\\($fd, F_SETFL, ([A-Z_]+\\|)*O_NONBLOCK(\\|[A-Z_]+)*\\) = 0\$"
    assert_line "connect($fd, 127.0.0.1:$PORT) = -1 EINPROGRESS (Operation now in progress)"
    assert_line "poll([{fd=$fd, events=POLLOUT}], 1, -1) ..."
    assert_line "poll([{fd=$fd, events=POLLOUT}], 1, -1) = 1 ([{fd=$fd, revents=POLLOUT}])"
    assert_line "getsockopt($fd, SOL_SOCKET, SO_ERROR, [0], [4]) = 0"
    # The server accepted exactly that client: its port is the client's own.
    local client_port
    client_port=$(sed -nE "s/^getsockname\\($fd\\) = 127\\.0\\.0\\.1:([0-9]+).*/\\1/p" <<<"$output")
    [[ -n $client_port ]] || fail "no getsockname line after the connect: $output"
    wait_for_line "^accept\\(3\\) = [0-9]+  peer 127\\.0\\.0\\.1:$client_port\$"
}

@test "-c against a closed port: POLLOUT comes all the same, SO_ERROR says ECONNREFUSED, and the lab reports connect() failed, exit 1" {
    hold_closed_port
    run --separate-stderr run_lab 09-nonblock -c -p "$CLOSED_PORT"
    assert_call_failed "connect(3, 127.0.0.1:$CLOSED_PORT)" ECONNREFUSED
    assert_line "connect(3, 127.0.0.1:$CLOSED_PORT) = -1 EINPROGRESS (Operation now in progress)"
    assert_line --regexp '^poll\(\[\{fd=3, events=POLLOUT\}\], 1, -1\) = 1 \(\[\{fd=3, revents=[A-Z|]*POLLERR[A-Z|]*\}\]\)$'
    assert_line "getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0"
    refute_line --partial "connected"
}

@test "-c while the handshake cannot complete: the lab sleeps in poll(), not connect(), the socket is SYN-SENT; SIGTERM: EINTR, exit 0" {
    start_full_listener
    start_lab 09-nonblock -c -p "$FULL_PORT"
    wait_for_line "^connect\\(3, 127\\.0\\.0\\.1:$FULL_PORT\\) = -1 EINPROGRESS \\(Operation now in progress\\)\$"
    wait_for_line '^poll\(\[\{fd=3, events=POLLOUT\}\], 1, -1\) \.\.\.$'
    assert_idle_in_poll
    run -0 ss -Htn state syn-sent "$(remote_end "$FULL_PORT")"
    assert_output --partial "127.0.0.1:$FULL_PORT"
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --index -2 "poll([{fd=3, events=POLLOUT}], 1, -1) = -1 EINTR (Interrupted system call)"
    assert_line --index -1 "close(3) = 0"
    exec {FILLER_FD}>&-
}

@test "SIGTERM while it sleeps in poll() for a client: EINTR, close(3), exit 0" {
    start_server
    assert_blocked_in poll ppoll
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --index -2 "poll([{fd=3, events=POLLIN}], 1, -1) = -1 EINTR (Interrupted system call)"
    assert_line --index -1 "close(3) = 0"
}

@test "IPv6: -a ::1 echoes over an AF_INET6 connection" {
    skip_unless_ipv6
    start_lab 09-nonblock -a ::1 -p 0
    PORT=$(wait_for_port)
    wait_for_line '^poll\('
    run -0 timeout 5 nc -N ::1 "$PORT" <<<"six"
    assert_output "six"
    read_lab_output
    assert_line --index 0 "socket(AF_INET6, SOCK_STREAM, 0) = 3"
    assert_line --regexp '^accept\(3\) = [0-9]+  peer \[::1\]:[0-9]+$'
}

@test "hostile clients, one per run (random bytes, 1 MiB of garbage, a reset, a request then a reset, a half-close, a silent one): each exits 0, or 1 naming the errno, never by a signal" {
    local kinds=(random garbage reset request-reset half-close silent) i
    local pids=() outs=() errs=() ports=() hostile=() statuses=()
    for i in "${!kinds[@]}"; do
        start_lab 09-nonblock -p 0
        pids+=("$LAB_PID") outs+=("$LAB_OUT") errs+=("$LAB_ERR")
    done
    for i in "${!kinds[@]}"; do
        ports+=("$(wait_for_port "${outs[i]}")")
        wait_for_line '^poll\(' "${outs[i]}"
    done
    # Stopped, a lab reads nothing: each client's bytes, FIN and RST are all
    # in before its first recv().
    for i in 0 1 2 3 4; do
        suspend_lab "${pids[i]}"
        start_hostile_clients 127.0.0.1 "${ports[i]}" "${kinds[i]}"
        hostile+=("$HOSTILE_OUT")
    done
    for i in 0 1 2 3 4; do
        wait_for_hostile_clients "${hostile[i]}"
        poll_until 5 queued_and_connected "${ports[i]}" 1 "$([[ ${kinds[i]} == *reset ]] && echo 0 || echo 1)" ||
            fail "${kinds[i]}: queue $(accept_queue "${ports[i]}"), $(connected_on "${ports[i]}") connected"
        resume_lab "${pids[i]}"
    done
    # The silent one connects, the lab sleeps in poll() on it, and it leaves.
    hold_connection 127.0.0.1 "${ports[5]}"
    wait_for_line '^recv\([0-9]+, .*\) = -1 EAGAIN ' "${outs[5]}"
    assert_blocked_in -p "${pids[5]}" poll ppoll
    end_peer
    for i in "${!kinds[@]}"; do
        wait_for_exit "${pids[i]}"
        statuses+=("$LAB_STATUS")
        case $LAB_STATUS in
        0) ;;
        1) grep -qE '\) = -1 E[A-Z]+ \(' "${errs[i]}" ||
            fail "${kinds[i]}: exit 1 without naming the errno: $(cat "${errs[i]}")" ;;
        *) fail "${kinds[i]}: exit status $LAB_STATUS (128 + a signal's number: SIGPIPE is 13)" ;;
        esac
    done
    # The runs whose end is certain: a reset while it reads, ECONNRESET; the
    # echo to a client that reset after its FIN, EPIPE (not death by SIGPIPE).
    assert_equal "${statuses[*]:2}" "1 1 0 0"
    run -0 cat "${errs[2]}"
    assert_output --regexp '^nonblock: recv\([0-9]+, .*\) = -1 ECONNRESET \(Connection reset by peer\)$'
    run -0 cat "${errs[3]}"
    assert_output --regexp '^nonblock: send\([0-9]+, .*\) = -1 EPIPE \(Broken pipe\)$'
}

@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 09-nonblock
    run --separate-stderr run_lab 09-nonblock -b 0
    assert_usage_error "buffer size '0' is out of range"
    run --separate-stderr run_lab 09-nonblock -b 4k
    assert_usage_error "buffer size '4k' is not a number"
    run --separate-stderr run_lab 09-nonblock -b ''
    assert_usage_error "buffer size '' is not a number"
    run --separate-stderr run_lab 09-nonblock -f 0
    assert_usage_error "byte count '0' is out of range"
    run --separate-stderr run_lab 09-nonblock -f -1
    assert_usage_error "byte count '-1' is out of range"
    run --separate-stderr run_lab 09-nonblock -f lots
    assert_usage_error "byte count 'lots' is not a number"
    run --separate-stderr run_lab 09-nonblock -f ''
    assert_usage_error "byte count '' is not a number"
    run --separate-stderr run_lab 09-nonblock -c -f 10
    assert_usage_error "-f"
    run --separate-stderr run_lab 09-nonblock -c x
    assert_usage_error "unexpected argument 'x'"
    for option in b f; do
        run --separate-stderr run_lab 09-nonblock "-$option"
        assert_usage_error "option -$option needs a value"
    done
}

@test "-h prints the usage on stdout and exits 0" {
    assert_help 09-nonblock nonblock
}
