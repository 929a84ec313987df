#!/usr/bin/env bats
# 09-nonblock: on a non-blocking socket accept, recv, send and connect never
# sleep: they return -1 EAGAIN (EINPROGRESS for connect), and the lab sleeps
# in poll() instead, until the socket is ready. Never a busy loop.

bats_require_minimum_version 1.5.0
load helpers
load helpers-poll

# start_server ARGS...: start ./nonblock on a kernel-chosen port and wait
# until it sleeps in poll() for its first client. Sets PORT and L, the
# listening socket's descriptor, read from the lab's own listen line (which
# fd it is depends on what else the program opened).
start_server() {
    start_lab 09-nonblock -p 0 "$@"
    PORT=$(wait_for_port)
    wait_for_line '^listen\([0-9]+, -?[0-9]+\) = 0$'
    L=$(listening_fd)
    wait_for_line "$(waiting_in_poll "$(entry "$L" POLLIN)" 1)"
}

# wait_for_accepted: until the lab has accepted its client; sets C, the new
# socket's descriptor, from the lab's own "accept(L) = C  peer ..." line.
wait_for_accepted() {
    wait_for_line "^accept\\($L\\) = [0-9]+( .*)?\$"
    C=$(accepted_fd)
}

# received_eagain FD, sent_eagain FD: the ERE of a data call on FD that
# failed with EAGAIN: recv or read, send or write alike.
received_eagain() {
    printf '^(recv|read)\\(%s, .*\\) = -1 EAGAIN( .*)?$' "$1"
}
sent_eagain() {
    printf '^(send|write)\\(%s, .*\\) = -1 EAGAIN( .*)?$' "$1"
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
    sed -nE 's/^(send|write)\([0-9]+, .*\) = -1 EAGAIN \([^)]*\)[^0-9]*([0-9]+).*$/\2/p' "$LAB_OUT" |
        if [[ ${1:-} == first ]]; then head -n 1; else tail -n 1; fi
}
# kernel_holds_what_was_taken: the lab sleeps after an EAGAIN, and the two
# queues together hold exactly what that EAGAIN line says. (While the
# client does not read, its kernel may still shrink its buffer's overhead
# and take a little more; then the lab sends again, and says so.)
kernel_holds_what_was_taken() {
    local sent received taken
    taken=$(taken_before_eagain)
    [[ $(tail -n 1 "$LAB_OUT") == *poll\(* ]] || return 1
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

# names_call_and_errno STDERR CALLS ERRNO: a line of STDERR names one of
# CALLS (recv|read) and the errno symbol ERRNO, in any words.
names_call_and_errno() {
    local line call
    while IFS= read -r line; do
        names_value "$line" "$3" || continue
        for call in ${2//|/ }; do
            names_value "$line" "$call" && return 0
        done
    done <<<"$1"
    fail "no line names ${2//|/ or } and $3: $1"
}

# line_after REGEX: the line that follows the first line matching REGEX.
line_after() {
    grep -A1 -m1 -E -- "$1" "$LAB_OUT" | sed -n 2p
}

# hint: set_nonblocking(): fcntl(F_GETFL), then fcntl(F_SETFL) with
#   O_NONBLOCK added, both narrated. Then accept() returns -1 EAGAIN at once:
#   narrate it and sleep in wait_until_ready(listen_fd, POLLIN), never call
#   accept() again at once. See fcntl(2), poll(2).
@test "the listening socket is made non-blocking: accept() returns EAGAIN at once, then the lab sleeps in poll() for POLLIN" {
    start_server
    assert_in_order "^fcntl\\($L, F_SETFL, ([A-Z_]+\\|)*O_NONBLOCK(\\|[A-Z_]+)*\\) = 0\$" \
        "^accept\\($L\\) = -1 EAGAIN( .*)?\$"
    # poll comes after the EAGAIN, and nothing after it: the lab waits.
    [[ $(line_after "^accept\\($L\\) = -1 EAGAIN") =~ $(waiting_in_poll "$(entry "$L" POLLIN)" 1) ]] ||
        fail "$(show_lab_output)no poll() for POLLIN on fd $L right after accept()'s EAGAIN"
    assert_last_line_matches "$(waiting_in_poll "$(entry "$L" POLLIN)" 1)"
    # The kernel's view: the listener carries O_NONBLOCK ...
    assert_nonblocking "$LAB_PID" "$L"
    # ... and the lab sleeps in poll, using no CPU: no busy loop.
    assert_idle_in_poll
}

# hint: After poll()'s POLLIN on the listener, accept() succeeds: narrate
#   "accept(L) = NEW  peer ADDR:PORT", then set_nonblocking(NEW): accept()
#   does not pass O_NONBLOCK on. The silent client's recv() then gives EAGAIN:
#   narrate it and poll() for POLLIN on NEW.
@test "a client wakes poll() with POLLIN on the listener; accept() then succeeds, and the new socket is made non-blocking too" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_line "$(polled "$(entry "$L" POLLIN)" 1 1 "$(entry "$L" POLLIN revents)")"
    wait_for_accepted
    local accepted="^accept\\($L\\) = $C( |\$)"
    [[ $(line_after "$(polled "$(entry "$L" POLLIN)" 1 1 '.*')") =~ $accepted ]] ||
        fail "$(show_lab_output)accept() does not follow poll()'s POLLIN"
    # accept() does not pass O_NONBLOCK on: the lab sets it on the new socket.
    wait_for_line "^fcntl\\($C, F_SETFL, ([A-Z_]+\\|)*O_NONBLOCK(\\|[A-Z_]+)*\\) = 0\$"
    assert_nonblocking "$LAB_PID" "$C"
    # The client says nothing: recv() returns EAGAIN and the lab sleeps in
    # poll() on the client's socket.
    wait_for_line "$(received_eagain "$C")"
    wait_for_line "$(waiting_in_poll "$(entry "$C" POLLIN)" 1)"
    assert_last_line_matches "$(waiting_in_poll "$(entry "$C" POLLIN)" 1)"
    assert_idle_in_poll
}

# hint: The echo loop: recv(); EAGAIN: narrate it, wait_until_ready(fd,
#   POLLIN), recv() again; bytes: narrate them and send_all() them back.
#   wait_until_ready() prints "poll(...) ..." before it sleeps and the call
#   with its result and revents after.
@test "recv: EAGAIN while the client is silent; poll() wakes with POLLIN when bytes come; recv() returns them and they are echoed" {
    start_server
    open_client tcp "$PORT"
    wait_for_accepted
    wait_for_line "$(waiting_in_poll "$(entry "$C" POLLIN)" 1)"
    assert_blocked_in poll ppoll
    printf 'abc' >&"$CLIENT_FD"
    wait_for_line "^$(data_received "$C" '"abc"' '[0-9]+') = 3\$"
    # The order: EAGAIN, the wait, POLLIN, then the bytes.
    assert_in_order "$(received_eagain "$C")" "$(waiting_in_poll "$(entry "$C" POLLIN)" 1)" \
        "$(polled "$(entry "$C" POLLIN)" 1 1 "$(entry "$C" POLLIN revents)")"
    local received_abc
    received_abc="^$(data_received "$C" '"abc"' '[0-9]+') = 3\$"
    [[ $(line_after "$(polled "$(entry "$C" POLLIN)" 1 1 '.*')") =~ $received_abc ]] ||
        fail "$(show_lab_output)the bytes are not read right after POLLIN"
    local echoed
    read -r -t 5 -N 3 echoed <&"$CLIENT_FD" || fail "no echo within 5 s"
    assert_equal "$echoed" "abc"
    # Then recv() again: EAGAIN, and back to sleep in poll().
    wait_for_lines 2 "$(received_eagain "$C")"
    wait_for_lines 2 "$(waiting_in_poll "$(entry "$C" POLLIN)" 1)"
    assert_blocked_in poll ppoll
}

# hint: recv() = 0 is EOF, as in 06: narrate it, leave the loop, close
#   the socket and return 0. See recv(2).
@test "recv() = 0 is still EOF: the client's shutdown ends the lab, exit 0" {
    start_server
    run -0 timeout 5 nc -N 127.0.0.1 "$PORT" <<<"hello"
    assert_output "hello"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --regexp "^$(data_received '[0-9]+' '"hello\\n"' '[0-9]+') = 6\$"
    assert_line --index -2 --regexp "^$(data_received '[0-9]+' '""' '[0-9]+') = 0( .*)?\$"
    assert_line --index -1 --regexp '^close\([0-9]+\) = 0$'
}

# hint: Every fcntl, accept, poll, recv, send and close you call has its
#   line, with the result the kernel gave, the failed ones (-1 EAGAIN) too;
#   no line for a call you did not make. Compare with strace -f ./nonblock.
@test "the narration is what the kernel saw: strace shows the same fcntl, accept, poll, recv, send and close calls, in order" {
    start_traced_lab socket,setsockopt,bind,getsockname,listen,fcntl,accept,accept4,poll,ppoll,read,write,recvfrom,sendto,close \
        09-nonblock -p 0
    local port
    port=$(wait_for_port "$BATS_TEST_TMPDIR/narration")
    wait_for_line '^p?poll\(.*\) \.\.\.$' "$BATS_TEST_TMPDIR/narration"
    exec {client}<>"/dev/tcp/127.0.0.1/$port"
    wait_for_line '^(recv|read)\(.*\) = -1 EAGAIN' "$BATS_TEST_TMPDIR/narration"
    printf 'ping' >&"$client"
    local echoed
    read -r -t 5 -N 4 echoed <&"$client" || fail "no echo within 5 s"
    assert_equal "$echoed" "ping"
    exec {client}>&-     # all read: FIN, not RST
    wait_for_exit "$STRACE_PID" "$LAB_PID"
    assert_equal "$LAB_STATUS" 0
    # Call names with their results, from the first socket() on. strace
    # says recvfrom/sendto for recv/send, accept4 and ppoll where the C
    # library uses them, and -1 for a failed call. read and recv, write and
    # send, poll and ppoll count as one. The lab's reads and writes on its
    # sockets only: descriptors 0-2 are its terminal.
    sed -nE '/^socket\(/,$ { /^(read|write)\([0-2],/d; s/^([a-z0-9]+)\(.*\) += (0x[0-9a-f]+|-?[0-9]+).*$/\1 \2/p; }' "$BATS_TEST_TMPDIR/trace" |
        sed -E 's/^(recvfrom|read) /recv /; s/^(sendto|write) /send /; s/^accept4 /accept /; s/^ppoll /poll /' >"$BATS_TEST_TMPDIR/kernel"
    sed -E 's/^(getsockname\([0-9]+\)) = .*$/\1 = 0/' "$BATS_TEST_TMPDIR/narration" |
        sed -nE 's/^([a-z0-9]+)\(.*\) = (0x[0-9a-f]+|-?[0-9]+)( .*)?$/\1 \2/p' |
        sed -E 's/^read /recv /; s/^write /send /; s/^accept4 /accept /; s/^ppoll /poll /' >"$BATS_TEST_TMPDIR/printed"
    run -0 diff "$BATS_TEST_TMPDIR/kernel" "$BATS_TEST_TMPDIR/printed"
    # and the lesson is in it: accept and recv failed (EAGAIN) before poll.
    run -0 grep -cE '^accept -1$' "$BATS_TEST_TMPDIR/printed"
    run -0 grep -cE '^recv -1$' "$BATS_TEST_TMPDIR/printed"
    run -0 grep -E 'EAGAIN' "$BATS_TEST_TMPDIR/trace"
}

# hint: send_all(): a non-blocking send() takes what fits. On EAGAIN print
#   the line with "  T bytes taken by the kernel so far" (the total of the
#   send()s before it), then wait_until_ready(fd, POLLOUT) and send the
#   rest. See send(2), EAGAIN.
@test "-f: send() takes bytes until EAGAIN, the line says how many, and that is exactly what the kernel holds" {
    local bytes
    bytes=$(bytes_to_fill_buffers)
    start_server -f "$bytes"
    open_client tcp "$PORT"    # and never reads, for now
    wait_for_accepted
    wait_for_line "^$(data_sent "$C" '"x+"\.\.\.' '[0-9]+') = -1 EAGAIN"
    # The first number after the errno text: bytes taken before EAGAIN,
    # which is what the send() calls before it returned, added up.
    local taken summed
    taken=$(taken_before_eagain first)
    [[ -n $taken ]] || fail "$(show_lab_output)the EAGAIN line does not say how many bytes the kernel took"
    echo "# bytes before EAGAIN: $taken (tcp_wmem: $(cat /proc/sys/net/ipv4/tcp_wmem))" >&3
    summed=$(sed -nE "/^(send|write)\\(.* = -1 EAGAIN /q; s/^(send|write)\\($C, .*\\) = ([0-9]+)( .*)?\$/\\2/p" "$LAB_OUT" | awk '{ s += $1 } END { print s }')
    assert_equal "$summed" "$taken"
    # The kernel holds all of it: in the lab's send buffer, not yet
    # acknowledged, and in the client's receive buffer, not yet read.
    poll_until "$WAIT_SECONDS" kernel_holds_what_was_taken ||
        fail "$(show_lab_output)lab Send-Q $(lab_send_queue) + client Recv-Q $(client_recv_queue) is not $(taken_before_eagain)"
    # The lab waits for POLLOUT, asleep, and POLLOUT does not come while the
    # client does not read.
    wait_for_line "$(waiting_in_poll "$(entry "$C" POLLOUT)" 1)"
    assert_last_line_matches "$(waiting_in_poll "$(entry "$C" POLLOUT)" 1)"
    assert_idle_in_poll
    # The client reads, to EOF: POLLOUT comes, the rest is sent, every byte
    # arrives, and the lab ends.
    local received
    received=$(timeout 20 cat <&"$CLIENT_FD" | wc -c)
    assert_equal "$received" "$bytes"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --regexp "$(polled "$(entry "$C" POLLOUT)" 1 1 "$(entry "$C" POLLOUT revents)")"
    assert_last_line "close($C) = 0"
}

# connected_fd: the descriptor of the lab's first "connect(FD, ...)" line.
connected_fd() {
    sed -nE 's/^connect\(([0-9]+), .*/\1/p' <<<"$output" | head -n 1
}

# hint: -c: connect() on the non-blocking socket returns -1 EINPROGRESS:
#   narrate it, wait_until_ready(fd, POLLOUT), then getsockopt(SO_ERROR)
#   and narrate "getsockopt(FD, SOL_SOCKET, SO_ERROR, [0], [4]) = 0". See
#   connect(2) (EINPROGRESS), socket(7) (SO_ERROR).
@test "-c: connect() returns EINPROGRESS at once, poll() reports POLLOUT when the handshake is done, and SO_ERROR 0 says connected" {
    start_server
    run --separate-stderr run_lab 09-nonblock -c -p "$PORT"
    assert_equal "$status" 0
    assert_stderr_empty
    local fd
    fd=$(connected_fd)
    [[ -n $fd ]] || fail "no connect line: $output"
    assert_line --regexp "^fcntl\\($fd, F_SETFL, ([A-Z_]+\\|)*O_NONBLOCK(\\|[A-Z_]+)*\\) = 0\$"
    assert_line --regexp "^connect\\($fd, 127\\.0\\.0\\.1:$PORT\\) = -1 EINPROGRESS( .*)?\$"
    assert_line --regexp "$(waiting_in_poll "$(entry "$fd" POLLOUT)" 1)"
    assert_line --regexp "$(polled "$(entry "$fd" POLLOUT)" 1 1 "$(entry "$fd" POLLOUT revents)")"
    assert_line "getsockopt($fd, SOL_SOCKET, SO_ERROR, [0], [4]) = 0"
    # The server accepted exactly that client: its port is the client's own.
    local client_port
    client_port=$(sed -nE "s/^getsockname\\($fd\\) = 127\\.0\\.0\\.1:([0-9]+).*/\\1/p" <<<"$output")
    [[ -n $client_port ]] || fail "no getsockname line after the connect: $output"
    wait_for_line "^accept\\($L\\) = [0-9]+  peer 127\\.0\\.0\\.1:$client_port\$"
}

# hint: POLLOUT comes for a refused connection too (with POLLERR): only
#   SO_ERROR tells. Not 0: narrate it by name ([ECONNREFUSED]), set errno to
#   it and die("connect(...)"): exit 1 naming connect and the errno.
@test "-c against a closed port: POLLOUT comes all the same, SO_ERROR says ECONNREFUSED, and the lab reports connect() failed, exit 1" {
    hold_closed_port
    run --separate-stderr run_lab 09-nonblock -c -p "$CLOSED_PORT"
    assert_call_failed connect ECONNREFUSED
    local fd
    fd=$(connected_fd)
    [[ -n $fd ]] || fail "no connect line: $output"
    assert_line --regexp "^connect\\($fd, 127\\.0\\.0\\.1:$CLOSED_PORT\\) = -1 EINPROGRESS( .*)?\$"
    assert_line --regexp "$(polled "$(entry "$fd" POLLOUT)" 1 1 "\\{fd=$fd, revents=[A-Z|]*POLLERR[A-Z|]*\\}")"
    assert_line "getsockopt($fd, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0"
    refute_line --regexp '^getsockname\('
}

# hint: While the handshake waits, the lab sleeps in poll() for POLLOUT,
#   not in connect(). A stop signal: poll() returns -1 EINTR; narrate it,
#   close the socket and return 0.
@test "-c while the handshake cannot complete: the lab sleeps in poll(), not connect(), the socket is SYN-SENT; SIGTERM: EINTR, exit 0" {
    start_full_listener
    start_lab 09-nonblock -c -p "$FULL_PORT"
    wait_for_line "^connect\\([0-9]+, 127\\.0\\.0\\.1:$FULL_PORT\\) = -1 EINPROGRESS( .*)?\$"
    local fd
    fd=$(sed -nE 's/^connect\(([0-9]+), .*/\1/p' "$LAB_OUT" | head -n 1)
    wait_for_line "$(waiting_in_poll "$(entry "$fd" POLLOUT)" 1)"
    assert_idle_in_poll
    run -0 ss -Htn state syn-sent "$(remote_end "$FULL_PORT")"
    assert_output --partial "127.0.0.1:$FULL_PORT"
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^$(poll_call "$(entry "$fd" POLLOUT)" 1) = -1 EINTR( .*)?\$" "^close\\($fd\\) = 0\$"
    exec {FILLER_FD}>&-
}

# hint: A stop signal interrupts poll(): -1 EINTR. wait_until_ready()
#   narrates it and returns -1; then close the listener, narrate it, exit 0.
@test "SIGTERM while it sleeps in poll() for a client: EINTR, close(3), exit 0" {
    start_server
    assert_blocked_in poll ppoll
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^$(poll_call "$(entry "$L" POLLIN)" 1) = -1 EINTR( .*)?\$" "^close\\($L\\) = 0\$"
}

# hint: Nothing new for IPv6: the address from parse_address() already
#   has its family; use it for everything.
@test "IPv6: -a ::1 echoes over an AF_INET6 connection" {
    skip_unless_ipv6
    start_lab 09-nonblock -a ::1 -p 0
    PORT=$(wait_for_port)
    wait_for_line '^p?poll\('
    run -0 timeout 5 nc -N ::1 "$PORT" <<<"six"
    assert_output "six"
    read_lab_output
    assert_line --regexp "$(socket_line AF_INET6 SOCK_STREAM)"
    assert_line --regexp '^accept\([0-9]+\) = [0-9]+  peer \[::1\]:[0-9]+$'
}

# hint: SIGPIPE is ignored, so a client that resets costs one EPIPE or
#   ECONNRESET, reported with die(): exit 1 naming the call and the errno,
#   never death by a signal.
@test "hostile clients, one per run (random bytes, 1 MiB of garbage, a reset, a request then a reset, a half-close, a silent one): each exits 0, or 1 naming the errno, never by a signal" {
    local kinds=(random garbage reset request-reset half-close silent) i
    local pids=() outs=() errs=() ports=() hostile=() statuses=()
    for i in "${!kinds[@]}"; do
        start_lab 09-nonblock -p 0
        pids+=("$LAB_PID") outs+=("$LAB_OUT") errs+=("$LAB_ERR")
    done
    for i in "${!kinds[@]}"; do
        ports+=("$(wait_for_port "${outs[i]}")")
        wait_for_line '^p?poll\(' "${outs[i]}"
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
    wait_for_line '^(recv|read)\([0-9]+, .*\) = -1 EAGAIN' "${outs[5]}"
    assert_blocked_in -p "${pids[5]}" poll ppoll
    end_peer
    for i in "${!kinds[@]}"; do
        wait_for_exit "${pids[i]}"
        statuses+=("$LAB_STATUS")
        case $LAB_STATUS in
        0) ;;
        1) grep -qE '(^|[^A-Z])E[A-Z]+([^A-Z]|$)' "${errs[i]}" ||
            fail "${kinds[i]}: exit 1 without naming the errno: $(cat "${errs[i]}")" ;;
        *) fail "${kinds[i]}: exit status $LAB_STATUS (128 + a signal's number: SIGPIPE is 13)" ;;
        esac
    done
    # The runs whose end is certain: a reset while it reads, ECONNRESET; the
    # echo to a client that reset after its FIN, EPIPE (not death by SIGPIPE).
    assert_equal "${statuses[*]:2}" "1 1 0 0"
    names_call_and_errno "$(cat "${errs[2]}")" 'recv|read' ECONNRESET
    names_call_and_errno "$(cat "${errs[3]}")" 'send|write' EPIPE
}

# hint: Parse every option strictly (parse_port(), parse_number()): on a
#   bad value print a message naming it and the usage on stderr, exit 2
#   (usage_error()).
@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 09-nonblock
    local option value
    for option in b f; do
        for value in 0 -1 4k lots ''; do
            run --separate-stderr run_lab 09-nonblock "-$option" "$value"
            assert_usage_error "$value"
        done
        run --separate-stderr run_lab 09-nonblock "-$option"
        assert_usage_error "-$option"
    done
    # -c is the client: -f and -b are the server's.
    run --separate-stderr run_lab 09-nonblock -c -f 10
    assert_usage_error "-f"
    run --separate-stderr run_lab 09-nonblock -c x
    assert_usage_error "x"
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 09-nonblock nonblock
}
