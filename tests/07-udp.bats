#!/usr/bin/env bats
# 07-udp: recvfrom() takes one whole datagram at a time, from any sender;
# sendto() sends one back without waiting for anything.

bats_require_minimum_version 1.5.0
load helpers

# Start ./udp with ARGS and wait until it waits for its first datagram; sets
# PORT, and F: the socket's descriptor, from the lab's own socket line.
start_udp() {
    start_lab 07-udp "$@"
    PORT=$(wait_for_port)
    F=$(narrated_fd socket)
    wait_for_line "$(own '^recvfrom\(3, \.\.\.$')"
}

# own REGEX: REGEX as written for the reference, made to fit this lab: the
# socket's descriptor F instead of 3, and any buffer size instead of the
# default 2048 (-b, where a test gives it, stays as written).
own() {
    local regex=${1//\\(3,/\\($F,}
    printf '%s\n' "${regex//, 2048, /, [0-9]+, }"
}

# send_datagram BYTES: one datagram from the client socket (open_client udp),
# sent by perl because bash and nc never send an empty one.
send_datagram() {
    perl -e 'open(my $s, "+<&=", $ARGV[0]) or die "fd: $!";
             defined(send($s, $ARGV[1], 0)) or die "send: $!"' "$CLIENT_FD" "$1"
}

# read_datagram [FD]: print the next datagram the client socket (default
# CLIENT_FD) receives. One read() takes exactly one datagram, whatever the
# buffer size; bounded.
read_datagram() {
    timeout 2 dd bs=65536 count=1 status=none <&"${1:-$CLIENT_FD}"
}

# The client socket's own address, as the kernel shows it: the one socket
# whose peer is the lab's port (bash's /dev/udp connects it).
client_address() {
    ss -Huan "$(remote_end "$PORT")" | awk 'NR == 1 { print $4 }'
}

# received_is N: the lab has printed N datagrams of "x".
received_is() {
    (($(count_lines "$(own '^recvfrom\(3, "x"')") == $1))
}

# send_datagrams N: N one-byte datagrams ("x") from the client. (A function
# of its own: a loop in the test's body would run bats' per-command DEBUG
# trap on every turn.)
send_datagrams() {
    local i
    for ((i = 0; i < $1; i++)); do printf 'x' >&"$CLIENT_FD"; done
}

# write_is_refused: one more datagram from the client fails, with ECONNREFUSED.
write_is_refused() {
    WRITE_ERROR=$({ printf 'x' >&"$CLIENT_FD"; } 2>&1) && return 1
    [[ $WRITE_ERROR == *"Connection refused"* ]]
}

# hint: A UDP server needs no listen() and no accept(): a SOCK_DGRAM socket,
#   bound, and the getsockname line (open_bound_socket() makes them), then
#   "recvfrom(FD, ..." before the first recvfrom(). See udp(7).
@test "it binds a datagram socket, prints the getsockname line, and the kernel lists it" {
    start_udp -p 0
    assert_in_order '^socket\(AF_INET, SOCK_DGRAM, 0\) = [0-9]+$' \
        "^bind\\($F, 127\\.0\\.0\\.1:0\\) = 0\$" "^getsockname\\($F\\) = 127\\.0\\.0\\.1:$PORT\$"
    run -0 ss -Huanp "$(local_end "$PORT")"
    assert_output --partial "pid=$LAB_PID,fd=$F)"
}

# hint: Print "recvfrom(FD, ..." BEFORE the call: recvfrom() sleeps until a
#   datagram arrives. Then print 'recvfrom(FD, "BYTES", BUFSIZE, MSG_TRUNC,
#   ADDR:PORT) = SIZE' and sendto() it back: 'sendto(FD, "BYTES", N, 0,
#   ADDR:PORT) = N'. See recvfrom(2), sendto(2).
@test "recvfrom blocks until a datagram arrives: asleep in recvfrom, then one result line" {
    start_udp -p 0
    assert_blocked_in recvfrom recv read
    assert_last_line "recvfrom($F, ..."
    datagram_to 127.0.0.1 "$PORT" hi
    wait_for_line "$(own '^recvfrom\(3, "hi", 2048, MSG_TRUNC, 127\.0\.0\.1:[0-9]+\) = 2$')"
    wait_for_line "$(own '^sendto\(3, "hi", 2, 0, 127\.0\.0\.1:[0-9]+\) = 2$')"
    assert_blocked_in recvfrom recv read
}

# hint: One recvfrom() returns exactly one datagram, never two joined: call it
#   once per datagram and echo each one on its own with sendto().
@test "three datagrams queued together are three recvfroms of 3, 3 and 5 bytes: boundaries are kept" {
    start_udp -p 0
    open_client udp "$PORT"
    # Frozen, the lab reads nothing: all three wait in its queue together.
    suspend_lab
    printf 'one' >&"$CLIENT_FD"
    printf 'two' >&"$CLIENT_FD"
    printf 'three' >&"$CLIENT_FD"
    resume_lab
    wait_for_line "$(own '^recvfrom\(3, "three", ')"
    head -n 20 "$LAB_OUT" >"$BATS_TEST_TMPDIR/head"    # bounded, whatever the lab does
    run -0 sed -nE "s/^recvfrom\\($F, (\"[a-z]*\"), [0-9]+, MSG_TRUNC, [0-9.:]+\\) = ([0-9]+)\$/\\1 \\2/p" "$BATS_TEST_TMPDIR/head"
    assert_output $'"one" 3\n"two" 3\n"three" 5'
    # The echoes are three datagrams too.
    assert_equal "$(read_datagram)" "one"
    assert_equal "$(read_datagram)" "two"
    assert_equal "$(read_datagram)" "three"
}

# hint: recvfrom() fills in the sender's address: sendto() the echo to THAT
#   address, with the length recvfrom() gave, for each datagram.
@test "each echo goes back to its own sender" {
    start_udp -p 0
    open_client udp "$PORT"
    local first=$CLIENT_FD
    open_client udp "$PORT"
    local second=$CLIENT_FD
    printf 'from-first' >&"$first"
    printf 'from-second' >&"$second"
    assert_equal "$(read_datagram "$second")" "from-second"
    assert_equal "$(read_datagram "$first")" "from-first"
}

# hint: Print the address recvfrom() filled in (format_address()), in both the
#   recvfrom and the sendto line.
@test "the sender it prints is the client's own address and port" {
    start_udp -p 0
    open_client udp "$PORT"
    local client
    client=$(client_address)
    [[ $client == 127.0.0.1:* ]] || fail "no client socket in ss: '$client'"
    printf 'who' >&"$CLIENT_FD"
    wait_for_line "$(own '^sendto\(3, "who"')"
    read_lab_output
    assert_line --regexp "^recvfrom\\($F, \"who\", [0-9]+, MSG_TRUNC, $client\\) = 3\$"
    assert_line "sendto($F, \"who\", 3, 0, $client) = 3"
}

# hint: recvfrom() = 0 is an empty datagram, not an end: UDP has no connection
#   to close. Echo it (a sendto of 0 bytes) and recvfrom() again.
@test "an empty datagram gives = 0, which is not EOF: the lab is back in recvfrom and goes on" {
    start_udp -p 0
    open_client udp "$PORT"
    send_datagram ''
    wait_for_line "$(own '^recvfrom\(3, "", 2048, MSG_TRUNC, 127\.0\.0\.1:[0-9]+\) = 0( |$)')"
    wait_for_line "$(own '^sendto\(3, "", 0, 0, 127\.0\.0\.1:[0-9]+\) = 0$')"
    assert_blocked_in recvfrom recv read
    assert_last_line "recvfrom($F, ..."
    send_datagram 'more'
    wait_for_line "$(own '^recvfrom\(3, "more", 2048, MSG_TRUNC, 127\.0\.0\.1:[0-9]+\) = 4$')"
}

# hint: Pass MSG_TRUNC to recvfrom(): it then returns the datagram's real size
#   even when only BUFSIZE bytes fit. Print the bytes that fit, and after the
#   result "  truncated: the datagram had N bytes, K fit, L were lost"; echo
#   only the K bytes. See recv(2) (MSG_TRUNC), udp(7).
@test "-b 4: a 10-byte datagram is truncated and MSG_TRUNC gives its real size, 10" {
    start_udp -p 0 -b 4
    open_client udp "$PORT"
    printf '0123456789' >&"$CLIENT_FD"
    wait_for_line "$(own '^recvfrom\(3, "0123", 4, MSG_TRUNC, 127\.0\.0\.1:[0-9]+\) = 10  truncated: the datagram had 10 bytes, 4 fit, 6 were lost$')"
    # Only what fitted comes back; the other 6 bytes are gone for good.
    assert_equal "$(read_datagram)" "0123"
    # The next datagram starts clean: nothing of the last one is left over.
    printf 'ab' >&"$CLIENT_FD"
    wait_for_line "$(own '^recvfrom\(3, "ab", 4, MSG_TRUNC, 127\.0\.0\.1:[0-9]+\) = 2$')"
}

# hint: -n COUNT: count the datagrams received and stop after COUNT; then
#   close the socket, print "close(FD) = 0", exit 0.
@test "-n 2: after one datagram it waits for the next; after two it closes and exits 0" {
    start_udp -p 0 -n 2
    open_client udp "$PORT"
    printf 'first' >&"$CLIENT_FD"
    wait_for_line "$(own '^sendto\(3, "first"')"
    assert_blocked_in recvfrom recv read
    printf 'second' >&"$CLIENT_FD"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(count_lines "$(own '^recvfrom\(3, ".*\) = [0-9]+')")" 2
    assert_equal "$(count_lines "$(own '^recvfrom\(3, \.\.\.$')")" 2
    assert_last_line "close($F) = 0"
}

# hint: A stop signal makes recvfrom() return -1 with EINTR (no SA_RESTART):
#   narrate_failure() it, leave the loop, close the socket, exit 0.
@test "SIGTERM: recvfrom returns -1 EINTR, the lab closes and exits 0" {
    start_udp -p 0
    assert_blocked_in recvfrom recv read
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^recvfrom\\($F, .*\\) = -1 EINTR \\(Interrupted system call\\)\$" "^close\\($F\\) = 0\$"
    assert_last_line "close($F) = 0"
}

# hint: Nothing to add for this one: echo every datagram you receive, with no
#   SO_RCVBUF of your own. The kernel drops what does not fit, and sendto()
#   succeeds whether or not anyone reads.
@test "a full receive buffer drops datagrams even on loopback; the kernel counts them, sendto never notices" {
    start_udp -p 0
    open_client udp "$PORT"
    suspend_lab
    # More datagrams than its receive buffer holds: the lab sets no
    # SO_RCVBUF, so it has net.core.rmem_default bytes, and each datagram,
    # however small, costs the buffer far more than 256 bytes of it.
    local rmem_default sent
    read -r rmem_default </proc/sys/net/core/rmem_default
    sent=$((rmem_default / 256 + 100))
    send_datagrams "$sent"
    # /proc/net/udp: local address 0100007F:PORT in hex; the last field is drops.
    local drops
    drops=$(awk -v local_address="$(printf '0100007F:%04X' "$PORT")" \
        '$2 == local_address { print $NF }' /proc/net/udp)
    ((drops > 0)) || fail "no drops counted for port $PORT: '$drops'"
    resume_lab
    # It reads what the queue held, no more: sent = received + dropped.
    local expected=$((sent - drops))
    poll_until 5 received_is "$expected" ||
        fail "received $(count_lines "$(own '^recvfrom\(3, "x"')"), expected $expected"
    assert_blocked_in recvfrom recv read
    # Every echo was sent "successfully" though the client read none of
    # them: sendto() waits for nobody and learns nothing of the receiver.
    assert_equal "$(count_lines "$(own '^sendto\(3, "x", 1, 0, .*\) = 1$')")" "$expected"
}

# hint: On SIGTERM, close the socket and exit 0: the test then shows what a
#   datagram to a port nobody holds does.
@test "sending to a port where nothing listens succeeds; a connected socket then learns ECONNREFUSED" {
    start_udp -p 0
    open_client udp "$PORT"
    printf 'ping' >&"$CLIENT_FD"
    assert_equal "$(read_datagram)" "ping"
    stop_lab TERM
    # nc's one datagram into the void: no error, exit 0.
    run -0 timeout 5 nc -u -w0 127.0.0.1 "$PORT" <<<"anyone?"
    # The first write "succeeds" too; the ICMP port-unreachable it provokes
    # is reported on this connected socket's next call.
    printf 'one' >&"$CLIENT_FD" || fail "the first send to a closed port failed"
    poll_until 2 write_is_refused || fail "no write was refused: '$WRITE_ERROR'"
}

# hint: Nothing IPv6-specific: recvfrom() into a struct sockaddr_storage (big
#   enough for any family), and sendto() back with the length it gave.
@test "IPv6: -a ::1 receives and echoes over AF_INET6" {
    skip_unless_ipv6
    start_udp -a ::1 -p 0
    datagram_to ::1 "$PORT" six
    wait_for_line "$(own '^recvfrom\(3, "six", 2048, MSG_TRUNC, \[::1\]:[0-9]+\) = 3$')"
    read_lab_output
    assert_line --regexp '^socket\(AF_INET6, SOCK_DGRAM, 0\) = [0-9]+$'
    assert_line "getsockname($F) = [::1]:$PORT"
}

# hint: Parse -b with parse_number(optarg, "buffer size", 1, 65536) and -n with
#   a minimum of 1: a bad value gets a message naming it and the usage on
#   stderr, exit 2 (usage_error()).
@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 07-udp
    local value option
    run --separate-stderr run_lab 07-udp -p 65536
    assert_usage_error 65536
    for value in 0 70000 '' abc; do
        run --separate-stderr run_lab 07-udp -b "$value"
        assert_usage_error "$value"
    done
    for value in 0 two -1 '' 1000000001; do
        run --separate-stderr run_lab 07-udp -n "$value"
        assert_usage_error "$value"
    done
    for option in b n; do
        run --separate-stderr run_lab 07-udp "-$option"
        assert_usage_error "-$option"
    done
    run --separate-stderr run_lab 07-udp extra
    assert_usage_error extra
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 07-udp udp
}

# hint: A datagram of any size or content, or from a sender already gone, is
#   one more recvfrom() and sendto(): a failed sendto() is narrated
#   (narrate_failure()), never fatal, and the loop goes on.
@test "hostile datagrams (random bytes, 65507 bytes, an empty one, from a sender already gone) neither stop it nor open a descriptor: the next is still echoed" {
    start_udp -p 0
    local fds_before
    fds_before=$(fd_count "$LAB_PID")
    run -0 hostile_datagrams 127.0.0.1 "$PORT"
    assert_output 12
    # The empty one came last: once it is read, all twelve were.
    wait_for_line "$(own '^recvfrom\(3, "", 2048, MSG_TRUNC, 127\.0\.0\.1:[0-9]+\) = 0( |$)')"
    assert_equal "$(count_lines "$(own '^recvfrom\(3, ".*\) = [0-9]+')")" 12
    assert_equal "$(count_lines "$(own '^recvfrom\(3, .*\) = 65507( |$)')")" 1
    # Their echoes went to a port where nothing listens: sendto() succeeded
    # all the same, and the lab is back in recvfrom() for the next sender.
    assert_equal "$(count_lines "$(own '^sendto\(3, .*\) = [0-9]+$')")" 12
    assert_blocked_in recvfrom recv read
    open_client udp "$PORT"
    printf 'still there?' >&"$CLIENT_FD"
    assert_equal "$(read_datagram)" "still there?"
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
}
