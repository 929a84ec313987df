#!/usr/bin/env bats
# 03-listen: listen() returns at once; from then on the kernel completes
# clients' handshakes by itself and queues them, and nothing calls accept().

bats_require_minimum_version 1.5.0
load helpers

# start_listening ARGS...: start ./listen on a kernel-chosen port and wait
# until it has listened and reported its empty queue. Sets PORT.
start_listening() {
    start_lab 03-listen -p 0 "$@"
    await_listening
}

# await_listening [FILE]: wait until the narration (default: the lab's
# stdout) has the port and the first, empty, queue report. Sets PORT, and
# L: the listening socket's descriptor, from the lab's listen line.
await_listening() {
    PORT=$(wait_for_port "${1:-$LAB_OUT}")
    wait_for_line '^accept queue: 0 pending \(backlog [0-9]+\)$' "${1:-$LAB_OUT}"
    L=$(listening_fd "${1:-$LAB_OUT}")
}

# The calls a lab may sleep in between two looks at its queue: any timed
# sleep will do, as long as it is not accept().
SLEEPS=(poll ppoll clock_nanosleep nanosleep select pselect6)

# queue_reports: the queue lengths the lab has printed so far, on one line:
# "0 1 2".
queue_reports() {
    sed -nE 's/^accept queue: ([0-9]+) pending .*/\1/p' "$LAB_OUT" | paste -sd ' '
}

# connect_and_hold N: one more client that connects and holds on; wait until
# its connect() has returned and the lab reports N pending. The connect must
# return in under a second: a dropped SYN is sent again only after 1 s, so
# this proves the handshake completed at the first try.
connect_and_hold() {
    hold_connection 127.0.0.1 "$PORT"
    wait_for_connected "$PEER_OUT" 0.9
    wait_for_line "^accept queue: $1 pending "
}

# syn_sent_to PORT: some client's socket is in SYN-SENT towards PORT, its
# handshake begun and not answered.
syn_sent_to() {
    [[ -n $(ss -Htn state syn-sent "$(remote_end "$1")") ]]
}

# close_wait_on PORT: a connection accepted by the kernel on PORT has had
# its client's FIN: the server's side of it is in CLOSE-WAIT.
close_wait_on() {
    [[ -n $(ss -Htn state close-wait "$(local_end "$1")") ]]
}

# hint: After bind(), call listen(fd, backlog) (default backlog 10), print
#   "listen(FD, 10) = 0", then look at the queue with getsockopt(TCP_INFO)
#   and print "accept queue: 0 pending (backlog 10)" (tcpi_unacked,
#   tcpi_sacked), then sleep in poll() between looks. See listen(2), tcp(7).
@test "listen() returns 0 at once: with no client, the lab goes on to report an empty queue and waits in poll" {
    start_listening
    assert_in_order "$(socket_line AF_INET SOCK_STREAM)" \
        "^bind\\($L, 127\\.0\\.0\\.1:0\\) = 0\$" \
        "^getsockname\\($L\\) = 127\\.0\\.0\\.1:$PORT\$" \
        "^listen\\($L, 10\\) = 0\$" \
        '^accept queue: 0 pending \(backlog 10\)$'
    # The kernel lists the socket as listening: nothing queued, backlog 10.
    assert_equal "$(accept_queue "$PORT")" "0 10"
    # Past listen, asleep between two looks at the queue: not in listen, not in accept.
    assert_blocked_in "${SLEEPS[@]}"
}

# hint: Print an "accept queue: N pending (backlog B)" line each time N changes:
#   remember the last N you printed and look again every 100 ms. Never call
#   accept(): the kernel completes the handshakes by itself.
@test "-b 1: two clients' connect() complete at once though nothing accepts, and the lab reports 1, then 2 pending" {
    start_listening -b 1
    connect_and_hold 1
    connect_and_hold 2
    assert_equal "$(queue_reports)" "0 1 2"
    # ss reads the same numbers: Recv-Q 2 queued, Send-Q backlog 1.
    assert_equal "$(accept_queue "$PORT")" "2 1"
    # Both connections exist on the server's side too (connected_on), with no accept.
    assert_equal "$(connected_on "$PORT")" 2
    assert_blocked_in "${SLEEPS[@]}"
}

# hint: Pass -b's value to listen() as it is: with backlog 1 Linux completes
#   two handshakes (backlog + 1) and drops the third client's SYN.
@test "-b 1: a third client's handshake does not complete; nc -w 1 times out and the queue stays at 2" {
    start_listening -b 1
    connect_and_hold 1
    connect_and_hold 2
    local third=$BATS_TEST_TMPDIR/third.out
    start_peer "$third" timeout 5 nc -v -w 1 127.0.0.1 "$PORT"
    # The kernel drops its SYN: the client sits in SYN-SENT, unanswered ...
    poll_until 1 syn_sent_to "$PORT" || fail "the third client is not in SYN-SENT: $(cat "$third")"
    # ... until nc's one second is up.
    wait_for_exit "$PEER_PID"
    assert_equal "$LAB_STATUS" 1
    run cat "$third"
    assert_output --partial "timed out"
    refute_output --partial "succeeded"
    refute_output --partial "refused"
    assert_equal "$(accept_queue "$PORT")" "2 1"
    assert_equal "$(queue_reports)" "0 1 2"
}

# hint: -b 0 is a valid backlog (parse_number() with a minimum of 0): pass it
#   to listen() unchanged.
@test "-b 0 admits one connection: backlog+1; the second client hangs" {
    start_listening -b 0
    read_lab_output
    assert_line "listen($L, 0) = 0"
    assert_line "accept queue: 0 pending (backlog 0)"
    connect_and_hold 1
    run -1 timeout 5 nc -v -w 1 127.0.0.1 "$PORT"
    assert_output --partial "timed out"
    assert_equal "$(accept_queue "$PORT")" "1 0"
}

# hint: Report the queue's length as the kernel gives it (tcpi_unacked), each
#   time it changes: connections that closed or reset stay queued until
#   accepted.
@test "a client that connects and closes, or resets, still counts in the queue until accepted" {
    start_listening
    # nc -z connects, then closes at once: FIN.
    run -0 timeout 5 nc -z 127.0.0.1 "$PORT"
    wait_for_line '^accept queue: 1 pending '
    # Its FIN has arrived: the kernel's side of it is in CLOSE-WAIT, still queued.
    poll_until 5 close_wait_on "$PORT" || fail "no CLOSE-WAIT connection on port $PORT"
    # This one connects, then aborts: RST.
    reset_connection 127.0.0.1 "$PORT"
    wait_for_line '^accept queue: 2 pending '
    # A third, ordinary client: the lab counts all three. Had the first two
    # left the queue, the count would have gone down on the way.
    connect_and_hold 3
    assert_equal "$(queue_reports)" "0 1 2 3"
    assert_equal "$(accept_queue "$PORT")" "3 10"
}

# hint: This lab must never call accept(): it only watches the queue. Check
#   with strace -f -e trace=listen,accept,accept4 ./listen
@test "it never calls accept(): strace sees listen(), and no accept or accept4, while clients are queued" {
    local trace=$BATS_TEST_TMPDIR/trace narration=$BATS_TEST_TMPDIR/narration lab_pid fds_before
    start_traced_lab -f listen,accept,accept4 03-listen -p 0 -b 1
    lab_pid=$LAB_PID
    await_listening "$narration"
    fds_before=$(fd_count "$lab_pid")
    connect_and_hold 1
    connect_and_hold 2
    # The lab (strace's child) has no new descriptor: no connection was handed to it.
    assert_equal "$(fd_count "$lab_pid")" "$fds_before"
    kill -TERM "$lab_pid"
    wait_for_exit "$STRACE_PID" "$LAB_PID"
    assert_equal "$LAB_STATUS" 0
    grep -qE '^([0-9]+ +)?listen\([0-9]+, 1\) += 0$' "$trace" || fail "no listen() in the trace: $(cat "$trace")"
    run -1 grep -E 'accept4?\(' "$trace"
}

# hint: Print the backlog you passed to listen(), and in the queue line the one
#   the kernel reports (tcpi_sacked): Linux caps it at net.core.somaxconn.
@test "-b above net.core.somaxconn: listen() takes it, and the kernel caps the backlog at somaxconn" {
    local cap
    cap=$(cat /proc/sys/net/core/somaxconn)
    ((cap < 2147483647 - 1000)) || skip "somaxconn is $cap: nothing above it to ask for"
    start_listening -b $((cap + 1000))
    read_lab_output
    assert_line "listen($L, $((cap + 1000))) = 0"
    assert_line "accept queue: 0 pending (backlog $cap)"
    assert_equal "$(accept_queue "$PORT")" "0 $cap"
}

# hint: A stop signal ends the sleep with -1 EINTR (no SA_RESTART:
#   catch_stop_signals()): narrate_failure() it, leave the loop, close the
#   listening socket (the kernel resets what was queued) and exit 0.
@test "SIGTERM ends the wait: poll = -1 EINTR, close, exit 0, and the queued client is reset" {
    start_listening
    connect_and_hold 1
    local client=$PEER_PID
    assert_blocked_in "${SLEEPS[@]}"
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    assert_in_order '^[a-z_0-9]+\(.*\) = -1 EINTR \(Interrupted system call\)$' "^close\\($L\\) = 0\$"
    assert_last_line "close($L) = 0"
    # Closing the listening socket threw its queue away: the held client,
    # which would otherwise wait 60 s, is gone at once.
    wait_for_exit "$client"
}

# hint: SIGINT is caught like SIGTERM: the same EINTR line, close, exit 0.
@test "SIGINT (Ctrl-C) ends it the same way" {
    start_listening
    assert_blocked_in "${SLEEPS[@]}"
    stop_lab INT
    assert_equal "$LAB_STATUS" 0
    assert_in_order '^[a-z_0-9]+\(.*\) = -1 EINTR \(Interrupted system call\)$' "^close\\($L\\) = 0\$"
    assert_last_line "close($L) = 0"
}

# hint: Nothing IPv6-specific in listen(): the socket's family follows the
#   address (open_bound_socket() takes care of it).
@test "IPv6: -a ::1 listens on [::1]:PORT and queues a client" {
    skip_unless_ipv6
    start_listening -a ::1 -b 2
    read_lab_output
    assert_line --regexp "$(socket_line AF_INET6 SOCK_STREAM)"
    assert_line "getsockname($L) = [::1]:$PORT"
    assert_line "listen($L, 2) = 0"
    hold_connection ::1 "$PORT"
    wait_for_connected
    wait_for_line '^accept queue: 1 pending \(backlog 2\)$'
    assert_equal "$(accept_queue "$PORT" ::1)" "1 2"
}

# hint: Parse -b with parse_number(optarg, "backlog", 0, INT_MAX): a bad value
#   gets a message naming it and the usage on stderr, exit 2.
@test "bad usage exits 2 naming the bad value" {
    assert_rejects_bad_address_and_port 03-listen
    local value
    for value in abc -1 '' 99999999999 12x; do
        run --separate-stderr run_lab 03-listen -b "$value"
        assert_usage_error "$value"
    done
    run --separate-stderr run_lab 03-listen -b
    assert_usage_error -b
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 03-listen listen
}

# hint: Whatever clients send, a lab that never accepts never sees it: keep
#   looking at the queue, open no descriptor, and count them all.
@test "hostile clients (random bytes, 1 MiB of garbage, resets, a half-close, a silent one) just wait in the queue: it lives on, counts on, and opens no descriptor" {
    start_listening
    local fds_before
    fds_before=$(fd_count "$LAB_PID")
    start_hostile_clients 127.0.0.1 "$PORT"
    wait_for_hostile_clients
    wait_for_line '^accept queue: 5 pending '
    # A silent one connects, and leaves: it stays queued, like the rest.
    connect_and_hold 6
    end_peer
    # An ordinary client is counted too.
    connect_and_hold 7
    assert_equal "$(accept_queue "$PORT")" "7 10"
    assert_blocked_in "${SLEEPS[@]}"
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
}
