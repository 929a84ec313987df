#!/usr/bin/env bats
# 06-send-recv: recv() returns what has arrived, as soon as anything has;
# send() blocks only while the buffers are full; TCP carries bytes, not messages.

bats_require_minimum_version 1.5.0
load helpers

# Start ./send-recv with ARGS and wait until it listens; sets PORT and L,
# the listening socket's descriptor, from the lab's own listen line.
start_server() {
    start_lab 06-send-recv "$@"
    PORT=$(wait_for_port)
    wait_for_line '^listen\([0-9]+, [0-9]+\) = 0$'
    L=$(listening_fd)
}

# wait_for_accepted: until the lab has accepted its client; sets C, the
# connection's descriptor, from the "accept(L) = C  peer ..." line.
wait_for_accepted() {
    wait_for_line "^accept\\($L\\) = [0-9]+  peer "
    C=$(accepted_fd)
}

# received BYTES SIZE RESULT, sent BYTES LEFT RESULT: EREs for a whole
# result line on the connection: recv(C, BYTES, SIZE, 0) = RESULT (or
# read's), then maybe a comment. The arguments are EREs.
received() { printf '^%s = %s( .*)?$' "$(data_received "$C" "$1" "$2")" "$3"; }
sent() { printf '^%s = %s( .*)?$' "$(data_sent "$C" "$1" "$2")" "$3"; }

# stderr_names FILE CALLS ERRNO: a line of FILE names one of the calls
# (an ERE such as 'recv|read') and the errno symbol, as words of their own.
stderr_names() {
    grep -qE "(^|[^[:alnum:]])($2)([^[:alnum:]]|\$).*(^|[^[:alnum:]])$3([^[:alnum:]]|\$)" "$1" ||
        fail "stderr names no call among '$2' with $3: $(cat "$1")"
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

# hint: Accept ONE client (print "accept(L) ..." before and "accept(L) = C  peer
#   ADDR:PORT" after), then close() the listening socket at once: this lab
#   serves one client, and a second one must be refused. See accept(2).
@test "it accepts one client, prints the client's address, and stops listening" {
    start_server -p 0
    open_client tcp "$PORT"
    wait_for_line "^close\\($L\\) = 0"
    # The kernel's view of the client's own port, from the client's side.
    local client_port
    client_port=$(ss -Htn state established "$(remote_end "$PORT")" | awk '{ split($3, a, ":"); print a[2] }')
    read_lab_output
    assert_line --regexp "^accept\\($L\\) = [0-9]+  peer 127\\.0\\.0\\.1:$client_port\$"
    # The listening socket is closed: a second client is refused ...
    run -1 timeout 5 nc -z 127.0.0.1 "$PORT"
    # ... and the first connection is untouched: the lab waits on it in recv.
    assert_blocked_in recvfrom recv read
}

# hint: Print "recv(C, ..." BEFORE calling recv(): recv() sleeps while nothing
#   has arrived, and the line shows where. After it returns print
#   'recv(C, "BYTES", SIZE, 0) = N', the bytes through print_escaped().
#   See recv(2).
@test "recv blocks until data arrives: asleep in recvfrom, no result until the client sends" {
    start_server -p 0
    open_client tcp "$PORT"
    wait_for_accepted
    wait_for_line "$(data_waiting "$C")"
    assert_blocked_in recvfrom recv read
    [[ $(tail -n 1 "$LAB_OUT") =~ $(data_waiting "$C") ]] || fail "last line: $(tail -n 1 "$LAB_OUT")"
    printf 'abc' >&"$CLIENT_FD"
    wait_for_line "$(received '"abc"' '[0-9]+' 3)"
}

# hint: Echo what each recv() returned right away, with send(), and recv()
#   again: do not wait for EOF or collect a whole "message" first.
@test "recv returns as soon as bytes arrive, without waiting for EOF (the notes said it waits for EOF)" {
    start_server -p 0
    open_client tcp "$PORT"
    wait_for_accepted
    wait_for_line "$(data_waiting "$C")"
    # Three bytes, and the connection stays open: no FIN, so no EOF.
    printf 'abc' >&"$CLIENT_FD"
    wait_for_line "$(received '"abc"' '[0-9]+' 3)"
    # The echo comes back while the connection is still open ...
    local echoed
    read -r -t 5 -N 3 echoed <&"$CLIENT_FD" || fail "no echo within 5 s"
    assert_equal "$echoed" "abc"
    # ... and the lab is waiting in recv again, on the same open connection.
    wait_for_line "$(sent '"abc"' 3 3)"
    assert_blocked_in recvfrom recv read
    [[ $(tail -n 1 "$LAB_OUT") =~ $(data_waiting "$C") ]] || fail "last line: $(tail -n 1 "$LAB_OUT")"
    run -0 ss -Htn state established "$(local_end "$PORT")"
    assert_output --partial "127.0.0.1:$PORT"
    read_lab_output
    refute_line --regexp "$(received '""' '[0-9]+' 0)"
}

# hint: Bytes are bytes, not a C string: a 0 byte is data too. Echo exactly the
#   count recv() returned (never strlen()), and print them with
#   print_escaped(), which shows the first 32 as strace does, then "...".
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
    C=$(accepted_fd)
    read_lab_output
    assert_line --regexp "$(received "$(ere '"\0\1\2\3\4\5\6\7\10\t\n\v\f\r\16\17\20\21\22\23\24\25\26\27\30\31\32\33\34\35\36\37"...')" '[0-9]+' 256)"
}

# hint: recv() = 0 means EOF: the client shut down its sending side. Print the
#   line (with "  EOF: the peer closed its side" after the result), stop
#   reading, close() the connection, print it, and exit 0.
@test "recv returns 0 at the client's shutdown (EOF); the lab closes and exits 0" {
    start_server -p 0
    # nc -N: at the end of its input nc calls shutdown(SHUT_WR), sending
    # FIN, but keeps reading: the echo still reaches it (a half-close).
    run -0 timeout 5 nc -N 127.0.0.1 "$PORT" <<<"hello"
    assert_output "hello"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    C=$(accepted_fd)
    read_lab_output
    assert_line --regexp "$(received '"hello\\n"' '[0-9]+' 6)"
    assert_in_order "$(received '""' '[0-9]+' 0)" "^close\\($C\\) = 0\$"
    assert_last_line "close($C) = 0"
}

# hint: -d MS: before each recv(), print "nanosleep(MS ms) ..." and sleep with
#   nanosleep() (then "nanosleep(MS ms) = 0"). What the client sends
#   meanwhile piles up in the kernel, and one recv() takes it all.
#   See nanosleep(2).
@test "-d: three separate sends wait in the buffer and one recv returns all 3 bytes (no message boundaries)" {
    # The lab sleeps 1 s before its recv; once it is seen asleep there, a
    # stop signal holds it inside the sleep while the test writes and looks,
    # however long that takes on a busy machine, and SIGCONT lets it sleep
    # out the rest of its second. (Only the look-and-stop must fit in it.)
    start_server -p 0 -d 1000
    open_client tcp "$PORT"
    # (Its "..." line, in the lab's form or strace's: the sleep's argument
    # is written as the program likes.)
    wait_for_line '^(clock_)?nanosleep\(.*\) \.\.\.$'
    assert_blocked_in clock_nanosleep nanosleep
    suspend_lab
    assert_stopped_in clock_nanosleep nanosleep
    # Three writes, three TCP segments: the kernel's queue grows 1, 2, 3.
    printf 'a' >&"$CLIENT_FD"
    poll_until 2 queue_is lab 1 || fail "Recv-Q is $(recv_queue lab), not 1"
    printf 'b' >&"$CLIENT_FD"
    poll_until 2 queue_is lab 2 || fail "Recv-Q is $(recv_queue lab), not 2"
    printf 'c' >&"$CLIENT_FD"
    poll_until 2 queue_is lab 3 || fail "Recv-Q is $(recv_queue lab), not 3"
    # All three arrived while the lab was inside its sleep: no recv yet.
    [[ $(tail -n 1 "$LAB_OUT") =~ ^(clock_)?nanosleep\(.*\)\ \.\.\.$ ]] ||
        fail "the last line is not the sleep's \"...\" line: $(tail -n 1 "$LAB_OUT")"
    resume_lab
    C=$(accepted_fd)
    wait_for_line "$(received '"abc"' '[0-9]+' 3)"
    read_lab_output
    refute_line --regexp "$(received '"[abc]{1,2}"' '[0-9]+' '[0-9]+')"
}

# hint: -b BUFSIZE is the size you pass recv(): it never returns more than
#   that, so a longer message takes several calls. Print the size you asked
#   for in each line: 'recv(C, "hell", 4, 0) = 4'.
@test "-b 4: a 12-byte line takes at least three recvs of at most 4 bytes" {
    start_server -p 0 -b 4
    run -0 timeout 5 nc -N 127.0.0.1 "$PORT" <<<"hello world"
    assert_output "hello world"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    C=$(accepted_fd)
    local pieces
    pieces=$(sed -nE "s/^(recv\\($C, \"(.*)\", 4, [A-Z_|0]+\\)|read\\($C, \"(.*)\", 4\\)) = [1-4]( .*)?\$/\\2\\3/p" "$LAB_OUT")
    (($(wc -l <<<"$pieces") >= 3)) || fail "fewer than three recvs: $pieces"
    assert_equal "$(tr -d '\n' <<<"$pieces")" 'hello world\n'
    read_lab_output
    assert_line --regexp "$(received '""' 4 0)"
}

# hint: -f BYTES: send() BYTES in chunks, printing 'send(C, "BYTES"..., N, 0) ...'
#   BEFORE each call and its result after. Once the client's receive buffer
#   and your send buffer are full, send() sleeps: the "..." line shows
#   where. Do not make the socket non-blocking. See send(2), tcp(7).
@test "-f: send blocks once the buffers are full while the client does not read; then every byte arrives" {
    local bytes
    bytes=$(bytes_to_fill_buffers)
    start_server -p 0 -f "$bytes"
    open_client tcp "$PORT"
    wait_for_accepted
    wait_for_line "$(sent '"x+"\.\.\.' '[0-9]+' '[0-9]+')"
    assert_blocked_in sendto send write
    [[ $(tail -n 1 "$LAB_OUT") =~ ^(send|write)\($C,\ \"x+\"\.\.\.,\ [0-9]+(,\ [A-Z_|0]+)?\)\ \.\.\.$ ]] ||
        fail "the last line is not a send's \"...\" line: $(tail -n 1 "$LAB_OUT")"
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
    assert_last_line "close($C) = 0"
}

# hint: Ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)), so that send() on a
#   connection the client reset fails with ECONNRESET or EPIPE instead of
#   killing the lab; then die() naming the call (exit 1). See signal(7).
@test "a client that resets the connection while send blocks: exit 1 naming the errno, no death by SIGPIPE" {
    start_server -p 0 -f "$(bytes_to_fill_buffers)"
    open_client tcp "$PORT"
    wait_for_accepted
    wait_for_line "^(send|write)\\($C, .*\\.\\.\\.\$"
    assert_blocked_in sendto send write
    # Closing with unread bytes makes the client's kernel send RST, not FIN.
    close_client
    wait_for_exit
    assert_equal "$LAB_STATUS" 1
    stderr_names "$LAB_ERR" 'send|write' '(ECONNRESET|EPIPE)'
}

# hint: recv() fails with ECONNRESET when the client resets the connection (it
#   closed with data unread): that is not EOF. die() naming the call: the
#   errno symbol on stderr, exit 1. See recv(2), tcp(7).
@test "a client that resets the connection while recv waits: exit 1 naming ECONNRESET" {
    start_server -p 0
    open_client tcp "$PORT"
    printf 'abc' >&"$CLIENT_FD"
    wait_for_accepted
    wait_for_line "$(sent '"abc"' 3 3)"
    # The echo waits unread in the client's buffer; the lab waits in recv.
    poll_until 2 queue_is client 3 || fail "the client's Recv-Q is $(recv_queue client), not 3"
    assert_blocked_in recvfrom recv read
    close_client
    wait_for_exit
    assert_equal "$LAB_STATUS" 1
    stderr_names "$LAB_ERR" 'recv|read' ECONNRESET
}

# hint: With SIGPIPE ignored, a send() to a client that has closed and reset
#   fails with EPIPE: die() naming the call and its errno, exit 1. With
#   SIGPIPE's default action the kernel kills the lab silently (status 141).
@test "sending to a client that has closed gives EPIPE: exit 1, where an unhandled SIGPIPE would kill the lab" {
    # Stopped in accept(), the lab takes nothing while the client connects
    # (the kernel completes the handshake), sends and closes. -b 2: the lab
    # then echoes "ab", which the closed client answers with RST; -d 300:
    # the RST has landed before the next recv; the lab echoes "cd" into the
    # reset connection: EPIPE, and SIGPIPE unless ignored.
    start_server -p 0 -d 300 -b 2
    wait_for_line '^accept\([0-9]+\) \.\.\.$'
    suspend_lab
    open_client tcp "$PORT"
    printf 'abcdef' >&"$CLIENT_FD"
    close_client
    # Both arrived before the lab took the connection: it is in CLOSE-WAIT.
    poll_until 2 in_close_wait "$PORT" || fail "no connection in CLOSE-WAIT on port $PORT"
    resume_lab
    wait_for_exit
    assert_equal "$LAB_STATUS" 1    # 141 would be death by SIGPIPE
    C=$(accepted_fd)
    read_lab_output
    assert_line --regexp "$(sent '"ab"' 2 2)"
    stderr_names "$LAB_ERR" 'send|write' EPIPE
}

# hint: The stop signals are caught without SA_RESTART (catch_stop_signals()):
#   recv() returns -1 with EINTR. narrate_failure() it, leave the loop,
#   close the connection and exit 0: being asked to stop is no error.
@test "SIGTERM while recv blocks: recv returns EINTR, the lab closes and exits 0" {
    start_server -p 0
    open_client tcp "$PORT"
    wait_for_accepted
    wait_for_line "$(data_waiting "$C")"
    assert_blocked_in recvfrom recv read
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^(recv|read)\\($C, .*\\) = -1 EINTR \\(Interrupted system call\\)\$" "^close\\($C\\) = 0\$"
    assert_last_line "close($C) = 0"
}

# hint: accept() too returns -1 with EINTR when a stop signal arrives:
#   narrate_failure() it, close the listening socket, exit 0.
@test "SIGINT while accept blocks: accept returns EINTR, the lab exits 0" {
    start_server -p 0
    wait_for_line "^accept\\($L\\) \\.\\.\\.\$"
    assert_blocked_in accept accept4
    stop_lab INT
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^accept\\($L\\) = -1 EINTR \\(Interrupted system call\\)\$" "^close\\($L\\) = 0\$"
}

# hint: The listening socket's family follows the address (AF_INET6 for ::1);
#   accept() into a struct sockaddr_storage, which holds an IPv6 peer too.
@test "IPv6: -a ::1 echoes over an AF_INET6 connection" {
    skip_unless_ipv6
    start_server -a ::1 -p 0
    run -0 timeout 5 nc -N ::1 "$PORT" <<<"six"
    assert_output "six"
    read_lab_output
    assert_line --regexp "$(socket_line AF_INET6 SOCK_STREAM)"
    assert_line --regexp "^accept\\($L\\) = [0-9]+  peer \\[::1\\]:[0-9]+\$"
}

# hint: Parse every option strictly (parse_port(), parse_number() with the
#   right minimum, parse_address()): on a bad value print a message naming
#   it and the usage on stderr, and exit 2 (usage_error()).
@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 06-send-recv
    local option value
    for value in 0 4k '' 99999999999999999999; do
        run --separate-stderr run_lab 06-send-recv -b "$value"
        assert_usage_error "$value"
    done
    for value in 0 -5 soon ''; do
        run --separate-stderr run_lab 06-send-recv -d "$value"
        assert_usage_error "$value"
    done
    for value in 0 lots '' -1; do
        run --separate-stderr run_lab 06-send-recv -f "$value"
        assert_usage_error "$value"
    done
    for option in b d f; do
        run --separate-stderr run_lab 06-send-recv "-$option"
        assert_usage_error "-$option"
    done
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 06-send-recv send-recv
}

# hint: Whatever a client does (garbage, a reset, a half-close, silence), the
#   lab ends with exit 0, or 1 naming the failed call's errno: never killed
#   by a signal. Ignore SIGPIPE; check every call; die() on a failure.
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
        wait_for_line '^accept\([0-9]+\) \.\.\.$' "${outs[i]}"
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
    wait_for_line "$(data_waiting '[0-9]+')" "${outs[5]}"
    assert_blocked_in -p "${pids[5]}" recvfrom recv read
    end_peer
    for i in "${!kinds[@]}"; do
        wait_for_exit "${pids[i]}"
        statuses+=("$LAB_STATUS")
        case $LAB_STATUS in
        0) ;;
        1) grep -qE '(^|[^[:alnum:]])E[A-Z]+([^[:alnum:]]|$)' "${errs[i]}" ||
            fail "${kinds[i]}: exit 1 without naming the errno: $(cat "${errs[i]}")" ;;
        *) fail "${kinds[i]}: exit status $LAB_STATUS (128 + a signal's number: SIGPIPE is 13)" ;;
        esac
    done
    # The runs whose end is certain: the answer to a client that reset after
    # its FIN fails with EPIPE, where an unhandled SIGPIPE would kill the lab.
    assert_equal "${statuses[*]:2}" "1 1 0 0"
    stderr_names "${errs[2]}" 'recv|read' ECONNRESET
    stderr_names "${errs[3]}" 'send|write' EPIPE
}

# hint: send() may return less than you asked (here a stop signal cut it
#   short): that is not an error. Print the count it returned ("  partial:
#   N bytes not sent yet" after it) and send the rest, from where it stopped.
@test "a send() that SIGSTOP cuts short returns a partial count, and the lab sends the rest: every byte arrives" {
    # One 16 MiB send() into empty buffers while the client does not read:
    # the kernel copies what fits, then sleeps. A stop signal wakes it, and
    # a send() that has copied bytes returns their count, not an error. No
    # handler runs and nothing asks the lab to stop: the rest is its job.
    local bytes=16777216
    start_server -p 0 -f "$bytes" -b "$bytes"
    open_client tcp "$PORT"
    wait_for_accepted
    wait_for_line "^$(data_sent "$C" '"x+"\.\.\.' 16777216) \\.\\.\\.\$"
    assert_blocked_in sendto send write
    suspend_lab
    resume_lab
    # The cut-short call returned a count below what it was asked for.
    wait_for_line "$(sent '"x+"\.\.\.' 16777216 '[0-9]+')"
    local count
    count=$(sed -nE "s/^$(data_sent "$C" '"x+"\.\.\.' 16777216) = ([0-9]+)( .*)?\$/\\2/p" "$LAB_OUT" | head -n 1)
    ((count < 16777216)) || fail "the send was not cut short: $(grep -E '16777216' "$LAB_OUT")"
    local received
    received=$(timeout 10 cat <&"$CLIENT_FD" | wc -c)
    assert_equal "$received" "$bytes"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
}
