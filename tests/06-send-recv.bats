#!/usr/bin/env bats
# 06-send-recv: recv() returns what has arrived, as soon as anything has;
# send() blocks only while the buffers are full; TCP carries bytes, not messages.

bats_require_minimum_version 1.5.0
load helpers

# Start ./send-recv with ARGS and wait until it listens; sets PORT.
start_server() {
    start_lab 06-send-recv "$@"
    PORT=$(wait_for_port)
    wait_for_line '^listen\(3, 1\) = 0$'
}

# recv_queue LOCAL|PEER: bytes waiting unread in the lab's connected socket
# (LOCAL: local port is the lab's) or in the client's (PEER), as ss shows
# them in Recv-Q. Send-Q with send_queue.
socket_queue() {
    local side=$1 column=$2 filter
    [[ $side == lab ]] && filter="$(local_end "$PORT")" || filter="$(remote_end "$PORT")"
    ss -Htn state established "$filter" | awk -v c="$column" 'NR == 1 { print $c }'
}
recv_queue() { socket_queue "$1" 1; }
send_queue() { socket_queue "$1" 2; }

# queue_is SIDE BYTES: the Recv-Q of that side holds exactly BYTES.
queue_is() { [[ $(recv_queue "$1") == "$2" ]]; }

# The byte count to send with -f so that send() must block on this host:
# more than the largest send buffer plus the largest receive buffer that
# TCP's autotuning may grow to (the third field of each sysctl).
bytes_to_fill_buffers() {
    local wmem_max rmem_max
    read -r _ _ wmem_max </proc/sys/net/ipv4/tcp_wmem
    read -r _ _ rmem_max </proc/sys/net/ipv4/tcp_rmem
    echo $((wmem_max + rmem_max + 1048576))
}

@test "it accepts one client, prints the client's address, and stops listening" {
    start_server -p 0
    open_client tcp "$PORT"
    wait_for_line '^close\(3\) = 0'
    # The kernel's view of the client's own port, from the client's side.
    local client_port
    client_port=$(ss -Htn state established "$(remote_end "$PORT")" | awk '{ split($3, a, ":"); print a[2] }')
    read_lab_output
    assert_line "accept(3) = 4  peer 127.0.0.1:$client_port"
    # The listening socket is closed: a second client is refused ...
    run -1 timeout 5 nc -z 127.0.0.1 "$PORT"
    # ... and the first connection is untouched: the lab waits on it in recv.
    assert_blocked_in recvfrom recv read
}

@test "recv blocks until data arrives: asleep in recvfrom, no result until the client sends" {
    start_server -p 0
    open_client tcp "$PORT"
    wait_for_line '^recv\(4, \.\.\.$'
    assert_blocked_in recvfrom recv read
    assert_last_line "recv(4, ..."
    printf 'abc' >&"$CLIENT_FD"
    wait_for_line '^recv\(4, "abc", 1024, 0\) = 3$'
}

@test "recv returns as soon as bytes arrive, without waiting for EOF (the notes said it waits for EOF)" {
    start_server -p 0
    open_client tcp "$PORT"
    wait_for_line '^recv\(4, \.\.\.$'
    # Three bytes, and the connection stays open: no FIN, so no EOF.
    printf 'abc' >&"$CLIENT_FD"
    wait_for_line '^recv\(4, "abc", 1024, 0\) = 3$'
    # The echo comes back while the connection is still open ...
    local echoed
    read -r -t 5 -N 3 echoed <&"$CLIENT_FD" || fail "no echo within 5 s"
    assert_equal "$echoed" "abc"
    # ... and the lab is waiting in recv again, on the same open connection.
    wait_for_line '^send\(4, "abc", 3, 0\) = 3$'
    assert_blocked_in recvfrom recv read
    assert_last_line "recv(4, ..."
    run -0 ss -Htn state established "$(local_end "$PORT")"
    assert_output --partial "127.0.0.1:$PORT"
    read_lab_output
    refute_line --partial " = 0  EOF"
}

@test "all 256 byte values are echoed exactly and printed as C escapes" {
    start_server -p 0
    local sent=$BATS_TEST_TMPDIR/bytes
    # shellcheck disable=SC2059 # the format is the point: 256 octal escapes
    printf "$(printf '\\%03o' {0..255})" >"$sent"
    assert_equal "$(wc -c <"$sent")" 256
    timeout 5 nc -N 127.0.0.1 "$PORT" <"$sent" >"$BATS_TEST_TMPDIR/echoed"
    run -0 cmp "$sent" "$BATS_TEST_TMPDIR/echoed"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    # strace's escapes for the first 32 bytes, then "..." for the rest
    read_lab_output
    assert_line 'recv(4, "\0\1\2\3\4\5\6\7\10\t\n\v\f\r\16\17\20\21\22\23\24\25\26\27\30\31\32\33\34\35\36\37"..., 1024, 0) = 256'
}

@test "recv returns 0 at the client's shutdown (EOF); the lab closes and exits 0" {
    start_server -p 0
    # nc -N: at the end of its input nc calls shutdown(SHUT_WR), sending
    # FIN, but keeps reading: the echo still reaches it (a half-close).
    run -0 timeout 5 nc -N 127.0.0.1 "$PORT" <<<"hello"
    assert_output "hello"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line 'recv(4, "hello\n", 1024, 0) = 6'
    assert_line --index -2 'recv(4, "", 1024, 0) = 0  EOF: the peer closed its side'
    assert_line --index -1 "close(4) = 0"
}

@test "-d: three separate sends wait in the buffer and one recv returns all 3 bytes (no message boundaries)" {
    # 1.5 s: everything below up to the last nanosleep check must happen
    # while the lab sleeps; that takes 0.1-0.3 s on a loaded 2-core machine.
    start_server -p 0 -d 1500
    open_client tcp "$PORT"
    wait_for_line '^nanosleep\(1500 ms\) \.\.\.$'
    assert_blocked_in clock_nanosleep nanosleep
    # Three writes, three TCP segments: the kernel's queue grows 1, 2, 3.
    printf 'a' >&"$CLIENT_FD"
    poll_until 2 queue_is lab 1 || fail "Recv-Q is $(recv_queue lab), not 1"
    printf 'b' >&"$CLIENT_FD"
    poll_until 2 queue_is lab 2 || fail "Recv-Q is $(recv_queue lab), not 2"
    printf 'c' >&"$CLIENT_FD"
    poll_until 2 queue_is lab 3 || fail "Recv-Q is $(recv_queue lab), not 3"
    # All three arrived while the lab still slept: it has not called recv yet.
    assert_blocked_in clock_nanosleep nanosleep
    assert_last_line "nanosleep(1500 ms) ..."
    wait_for_line '^recv\(4, "abc", 1024, 0\) = 3$'
    read_lab_output
    refute_line --regexp '^recv\(4, "[abc]{1,2}", '
}

@test "-b 4: a 12-byte line takes at least three recvs of at most 4 bytes" {
    start_server -p 0 -b 4
    run -0 timeout 5 nc -N 127.0.0.1 "$PORT" <<<"hello world"
    assert_output "hello world"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    local pieces
    pieces=$(sed -nE 's/^recv\(4, "(.*)", 4, 0\) = [1-4]$/\1/p' "$LAB_OUT")
    (($(wc -l <<<"$pieces") >= 3)) || fail "fewer than three recvs: $pieces"
    assert_equal "$(tr -d '\n' <<<"$pieces")" 'hello world\n'
    read_lab_output
    assert_line 'recv(4, "", 4, 0) = 0  EOF: the peer closed its side'
}

@test "-f: send blocks once the buffers are full while the client does not read; then every byte arrives" {
    local bytes
    bytes=$(bytes_to_fill_buffers)
    start_server -p 0 -f "$bytes"
    open_client tcp "$PORT"
    wait_for_line '^send\(4, "x+"\.\.\., 65536, 0\) = 65536  \([0-9]+ sent in all\)$'
    assert_blocked_in sendto send write
    assert_last_line 'send(4, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"..., 65536, 0) ...'
    # The kernel holds what was sent: unread in the client's receive buffer,
    # not yet acknowledged in the lab's send buffer.
    (($(recv_queue client) > 0)) || fail "the client's Recv-Q is empty"
    (($(send_queue lab) > 0)) || fail "the lab's Send-Q is empty"
    # Now the client reads, to EOF: every byte arrives, and the lab ends.
    local received
    received=$(timeout 10 cat <&"$CLIENT_FD" | wc -c)
    assert_equal "$received" "$bytes"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    assert_last_line "close(4) = 0"
}

@test "a client that resets the connection while send blocks: exit 1 naming the errno, no death by SIGPIPE" {
    start_server -p 0 -f "$(bytes_to_fill_buffers)"
    open_client tcp "$PORT"
    wait_for_line '^send\(4, .*\.\.\.$'
    assert_blocked_in sendto send write
    # Closing with unread bytes makes the client's kernel send RST, not FIN.
    close_client
    wait_for_exit
    assert_equal "$LAB_STATUS" 1
    run -0 cat "$LAB_ERR"
    assert_output --regexp '^send-recv: send\(4, \.\.\., [0-9]+, 0\) = -1 (ECONNRESET \(Connection reset by peer\)|EPIPE \(Broken pipe\))$'
}

@test "a client that resets the connection while recv waits: exit 1 naming ECONNRESET" {
    start_server -p 0
    open_client tcp "$PORT"
    printf 'abc' >&"$CLIENT_FD"
    wait_for_line '^send\(4, "abc", 3, 0\) = 3$'
    # The echo waits unread in the client's buffer; the lab waits in recv.
    poll_until 2 queue_is client 3 || fail "the client's Recv-Q is $(recv_queue client), not 3"
    assert_blocked_in recvfrom recv read
    close_client
    wait_for_exit
    assert_equal "$LAB_STATUS" 1
    run -0 cat "$LAB_ERR"
    assert_output 'send-recv: recv(4, ..., 1024, 0) = -1 ECONNRESET (Connection reset by peer)'
}

@test "sending to a client that has closed gives EPIPE: exit 1, where an unhandled SIGPIPE would kill the lab" {
    # -d: the client sends and closes while the lab sleeps; -b 2: the lab
    # echoes "ab", which the closed client answers with RST, then echoes
    # "cd" into the reset connection: EPIPE, and SIGPIPE unless ignored.
    # The sleep outlasts the checks made during it many times over.
    start_server -p 0 -d 1000 -b 2
    open_client tcp "$PORT"
    wait_for_line '^nanosleep\(1000 ms\) \.\.\.$'
    printf 'abcdef' >&"$CLIENT_FD"
    close_client
    # Both arrived while it slept: the lab's socket is in CLOSE-WAIT.
    assert_blocked_in clock_nanosleep nanosleep
    run -0 ss -Htn state close-wait "$(local_end "$PORT")"
    assert_output --partial "127.0.0.1:$PORT"
    wait_for_exit
    assert_equal "$LAB_STATUS" 1    # 141 would be death by SIGPIPE
    read_lab_output
    assert_line 'send(4, "ab", 2, 0) = 2'
    run -0 cat "$LAB_ERR"
    assert_output 'send-recv: send(4, ..., 2, 0) = -1 EPIPE (Broken pipe)'
}

@test "SIGTERM while recv blocks: recv returns EINTR, the lab closes and exits 0" {
    start_server -p 0
    open_client tcp "$PORT"
    wait_for_line '^recv\(4, \.\.\.$'
    assert_blocked_in recvfrom recv read
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --index -2 "recv(4, ..., 1024, 0) = -1 EINTR (Interrupted system call)"
    assert_line --index -1 "close(4) = 0"
}

@test "SIGINT while accept blocks: accept returns EINTR, the lab exits 0" {
    start_server -p 0
    wait_for_line '^accept\(3\) \.\.\.$'
    assert_blocked_in accept accept4
    stop_lab INT
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line "accept(3) = -1 EINTR (Interrupted system call)"
    assert_line --index -1 "close(3) = 0"
}

@test "IPv6: -a ::1 echoes over an AF_INET6 connection" {
    skip_unless_ipv6
    start_lab 06-send-recv -a ::1 -p 0
    PORT=$(wait_for_port)
    wait_for_line '^listen\(3, 1\) = 0$'
    run -0 timeout 5 nc -N ::1 "$PORT" <<<"six"
    assert_output "six"
    read_lab_output
    assert_line --index 0 "socket(AF_INET6, SOCK_STREAM, 0) = 3"
    assert_line --regexp '^accept\(3\) = 4  peer \[::1\]:[0-9]+$'
}

@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 06-send-recv
    run --separate-stderr run_lab 06-send-recv -b 0
    assert_usage_error "buffer size '0' is out of range"
    run --separate-stderr run_lab 06-send-recv -b 4k
    assert_usage_error "buffer size '4k' is not a number"
    run --separate-stderr run_lab 06-send-recv -d 0
    assert_usage_error "delay '0' is out of range"
    run --separate-stderr run_lab 06-send-recv -d -5
    assert_usage_error "delay '-5' is out of range"
    run --separate-stderr run_lab 06-send-recv -f 0
    assert_usage_error "byte count '0' is out of range"
    run --separate-stderr run_lab 06-send-recv -f lots
    assert_usage_error "byte count 'lots' is not a number"
    run --separate-stderr run_lab 06-send-recv -b
    assert_usage_error "option -b needs a value"
    run --separate-stderr run_lab 06-send-recv -b ''
    assert_usage_error "buffer size '' is not a number"
    run --separate-stderr run_lab 06-send-recv -b 16777217
    assert_usage_error "buffer size '16777217' is out of range"
    run --separate-stderr run_lab 06-send-recv -d soon
    assert_usage_error "delay 'soon' is not a number"
    run --separate-stderr run_lab 06-send-recv -d ''
    assert_usage_error "delay '' is not a number"
    run --separate-stderr run_lab 06-send-recv -f ''
    assert_usage_error "byte count '' is not a number"
    run --separate-stderr run_lab 06-send-recv -f -1
    assert_usage_error "byte count '-1' is out of range"
    for option in d f; do
        run --separate-stderr run_lab 06-send-recv "-$option"
        assert_usage_error "option -$option needs a value"
    done
}

@test "-h prints the usage on stdout and exits 0" {
    assert_help 06-send-recv send-recv
}

@test "hostile clients, one per run (random bytes, 1 MiB of garbage, a reset, a request then a reset, a half-close, a silent one): each exits 0, or 1 naming the errno, never by a signal" {
    local kinds=(random garbage reset request-reset half-close silent) i
    local pids=() outs=() errs=() ports=() hostile=() statuses=()
    # One lab per kind, all at once.
    for i in "${!kinds[@]}"; do
        start_lab 06-send-recv -p 0
        pids+=("$LAB_PID") outs+=("$LAB_OUT") errs+=("$LAB_ERR")
    done
    for i in "${!kinds[@]}"; do
        ports+=("$(wait_for_port "${outs[i]}")")
        wait_for_line '^accept\(3\) \.\.\.$' "${outs[i]}"
    done
    # Stopped, a lab reads nothing: the client's bytes, FIN and RST are all
    # in before its first recv().
    for i in 0 1 2 3 4; do
        suspend_lab "${pids[i]}"
        start_hostile_clients 127.0.0.1 "${ports[i]}" "${kinds[i]}"
        hostile+=("$HOSTILE_OUT")
    done
    for i in 0 1 2 3 4; do
        wait_for_hostile_clients "${hostile[i]}"
        # Queued, and a reset has landed: that connection is gone.
        poll_until 5 queued_and_connected "${ports[i]}" 1 "$([[ ${kinds[i]} == *reset ]] && echo 0 || echo 1)" ||
            fail "${kinds[i]}: queue $(accept_queue "${ports[i]}"), $(connected_on "${ports[i]}") connected"
        resume_lab "${pids[i]}"
    done
    # The silent one connects, the lab sleeps in recv() on it, and it leaves.
    hold_connection 127.0.0.1 "${ports[5]}"
    wait_for_line '^recv\(4, \.\.\.$' "${outs[5]}"
    assert_blocked_in -p "${pids[5]}" recvfrom recv read
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
    # The runs whose end is certain: the answer to a client that reset after
    # its FIN fails with EPIPE, where an unhandled SIGPIPE would kill the lab.
    assert_equal "${statuses[*]:2}" "1 1 0 0"
    run -0 cat "${errs[2]}"
    assert_output 'send-recv: recv(4, ..., 1024, 0) = -1 ECONNRESET (Connection reset by peer)'
    run -0 cat "${errs[3]}"
    assert_output 'send-recv: send(4, ..., 18, 0) = -1 EPIPE (Broken pipe)'
}

@test "a send() that SIGSTOP cuts short returns a partial count, and the lab sends the rest: every byte arrives" {
    # One 16 MiB send() into empty buffers while the client does not read:
    # the kernel copies what fits, then sleeps. A stop signal wakes it, and
    # a send() that has copied bytes returns their count, not an error. No
    # handler runs and nothing asks the lab to stop: the rest is its job.
    local bytes=16777216
    start_server -p 0 -f "$bytes" -b "$bytes"
    open_client tcp "$PORT"
    wait_for_line '^send\(4, "x+"\.\.\., 16777216, 0\) \.\.\.$'
    assert_blocked_in sendto send write
    assert_last_line 'send(4, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"..., 16777216, 0) ...'
    suspend_lab
    resume_lab
    wait_for_line '^send\(4, "x+"\.\.\., 16777216, 0\) = [0-9]+  partial: [0-9]+ bytes not sent yet'
    local received
    received=$(timeout 10 cat <&"$CLIENT_FD" | wc -c)
    assert_equal "$received" "$bytes"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
}
