#!/usr/bin/env bats
# 10-poll: 08's HTTP server as one poll() loop over non-blocking sockets:
# the same answers, byte for byte, to many clients at once; no client can
# hold the others up; it sleeps in poll() and nowhere else.

bats_require_minimum_version 1.5.0
load helpers
load helpers-poll

# start_server ARGS...: start ./poll on a kernel-chosen port; wait until it
# sleeps in poll() on its listening socket. Sets PORT and L, the listening
# socket's descriptor, read from the lab's own listen line (which fd it is
# depends on what else the program opened).
start_server() {
    start_lab 10-poll -p 0 "$@"
    PORT=$(wait_for_port)
    wait_for_line '^listen\([0-9]+, -?[0-9]+\) = 0$'
    L=$(listening_fd)
    wait_for_line "$(waiting_in_poll "$(entry "$L" POLLIN)" 1)"
}

# The lab's narration of its poll() on the listener alone, asleep.
listener_alone() {
    waiting_in_poll "$(entry "$L" POLLIN)" 1
}
# The narration of its poll() on the listener (POLLIN) and client FD
# (EVENTS), in either order: "poll([{fd=3, events=POLLIN}, {fd=4, ...}], 2, -1)".
listener_and() {
    poll_call "$(either "$(entry "$L" POLLIN)" "$(entry "$1" "$2")")" 2
}
# accept_line: the ERE of the lab's successful accept() lines.
accept_line() {
    printf '^accept\\(%s\\) = [0-9]+( .*)?$' "$L"
}

# 08's answer, byte for byte (tests/08-server.bats checks the same bytes).
HELLO=$'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello there.\n'

# A raw HTTP request of exactly SIZE bytes, written to FILE (as in 08's tests).
request_of_size() {
    local size=$1 file=$2
    local start=$'GET / HTTP/1.1\r\nX-Fill: ' end=$'\r\n\r\n'
    local fill=$((size - ${#start} - ${#end}))
    { printf '%s' "$start"; head -c "$fill" /dev/zero | tr '\0' a; printf '%s' "$end"; } >"$file"
    assert_equal "$(wc -c <"$file")" "$size"
}

# the_fd_of PEER_PORT: the descriptor the lab got for the client whose own
# port is PEER_PORT, from its "accept(L) = FD  peer 127.0.0.1:PEER_PORT" line.
the_fd_of() {
    wait_for_line "^accept\\($L\\) = [0-9]+  peer 127\\.0\\.0\\.1:$1\$"
    sed -nE "s/^accept\\($L\\) = ([0-9]+)  peer 127\\.0\\.0\\.1:$1\$/\\1/p" "$LAB_OUT" | tail -n 1
}

# partial_send_seen FD: the lab narrates a send (or write) on FD, of the
# answer, that took fewer bytes than it asked for.
partial_send_seen() {
    sed -nE "s/^$(data_sent "$1" '"HTTP\/1\.1 200 OK.*' '([0-9]+)') = ([0-9]+)( .*)?\$/\\2\\3 \\4/p" "$LAB_OUT" |
        awk '$2 + 0 < $1 + 0 { found = 1 } END { exit !found }'
}

# limit_for_two_more PID: the RLIMIT_NOFILE under which PID can open two
# more descriptors and no third (the kernel gives the lowest free number).
limit_for_two_more() {
    local number=0 free=0
    while ((free < 2)); do
        [[ -e /proc/$1/fd/$number ]] || free=$((free + 1))
        number=$((number + 1))
    done
    echo "$number"
}

# The local ports of this machine's clients of PORT, one a line.
client_ports() {
    ss -Htn state established "$(remote_end "$PORT")" | awk '{ n = split($3, a, ":"); print a[n] }'
}

# hint: The answers are 08's, built by build_response(): 200 "Hello there."
#   once the request's blank line has come, 431 when 8192 bytes hold none.
@test "the answer is 08's, byte for byte: 200 with \"Hello there.\", and 431 past 8 KiB" {
    # 08 is the reference's own (a student's 08 costs nothing here).
    start_reference_lab 08-server -p 0
    local port08
    port08=$(wait_for_port)
    wait_for_line '^accept\([0-9]+\) \.\.\.$'
    start_server
    printf 'GET / HTTP/1.1\r\nHost: example\r\n\r\n' >"$BATS_TEST_TMPDIR/request"
    timeout 5 nc -N 127.0.0.1 "$PORT" <"$BATS_TEST_TMPDIR/request" >"$BATS_TEST_TMPDIR/10.200"
    timeout 5 nc -N 127.0.0.1 "$port08" <"$BATS_TEST_TMPDIR/request" >"$BATS_TEST_TMPDIR/08.200"
    run -0 cmp "$BATS_TEST_TMPDIR/08.200" "$BATS_TEST_TMPDIR/10.200"
    run -0 cmp "$BATS_TEST_TMPDIR/10.200" <(printf '%s' "$HELLO")
    # 8 KiB is served; one byte more is refused with 431, as 08 refuses it.
    request_of_size 8192 "$BATS_TEST_TMPDIR/fits"
    timeout 5 nc -N 127.0.0.1 "$PORT" <"$BATS_TEST_TMPDIR/fits" >"$BATS_TEST_TMPDIR/fits.out"
    run -0 cmp "$BATS_TEST_TMPDIR/fits.out" <(printf '%s' "$HELLO")
    request_of_size 8193 "$BATS_TEST_TMPDIR/over"
    timeout 5 nc -N 127.0.0.1 "$PORT" <"$BATS_TEST_TMPDIR/over" >"$BATS_TEST_TMPDIR/10.431"
    timeout 5 nc -N 127.0.0.1 "$port08" <"$BATS_TEST_TMPDIR/over" >"$BATS_TEST_TMPDIR/08.431"
    run -0 head -n 1 "$BATS_TEST_TMPDIR/10.431"
    assert_output $'HTTP/1.1 431 Request Header Fields Too Large\r'
    run -0 cmp "$BATS_TEST_TMPDIR/08.431" "$BATS_TEST_TMPDIR/10.431"
    # curl reads it as 08's too.
    run -0 timeout 5 curl -sS -D "$BATS_TEST_TMPDIR/head" "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
    run -0 grep -c $'^Content-Length: 13\r$' "$BATS_TEST_TMPDIR/head"
}

# hint: The loop: poll() the listener and every client (POLLIN while it
#   reads its request, POLLOUT while it is answered), narrated before and
#   after; accept() on POLLIN on the listener and make_nonblocking() the
#   new socket; recv() on a client's POLLIN, send() on its POLLOUT; close.
@test "one client's visit: poll() on the listener, accept, O_NONBLOCK, POLLIN then recv, POLLOUT then send, close" {
    start_server
    read_lab_output
    assert_line --regexp "^fcntl\\($L, F_SETFL, ([A-Z_]+\\|)*O_NONBLOCK(\\|[A-Z_]+)*\\) = 0\$"
    assert_nonblocking "$LAB_PID" "$L"
    assert_last_line_matches "$(listener_alone)"
    assert_blocked_in poll ppoll
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_line "$(polled "$(entry "$L" POLLIN)" 1 1 "$(entry "$L" POLLIN revents)")"
    local fd
    fd=$(the_fd_of "$(client_ports)")
    # The new socket is non-blocking too, by fcntl or accept4: the kernel says so.
    assert_nonblocking "$LAB_PID" "$fd"
    # Now poll() watches both, and sleeps.
    wait_for_line "^$(listener_and "$fd" POLLIN) \\.\\.\\.\$"
    assert_idle_in_poll
    # One write (bash's printf would write a line at a time).
    printf 'GET / HTTP/1.1\r\n\r\n' >"$BATS_TEST_TMPDIR/request"
    cat "$BATS_TEST_TMPDIR/request" >&"$CLIENT_FD"
    run -0 timeout 5 cat <&"$CLIENT_FD"
    close_client
    assert_output "${HELLO%$'\n'}"
    wait_for_line "^close\\($fd\\) = 0\$"
    # POLLIN on the client, then the request read; the answer waits for
    # POLLOUT, then goes in one send(); then the close.
    assert_in_order "^$(listener_and "$fd" POLLIN) = 1 \\(\\[$(entry "$fd" POLLIN revents)\\]\\)\$" \
        "^$(data_received "$fd" '"GET / HTTP/1\.1\\r\\n\\r\\n"' '[0-9]+') = 18( .*)?\$" \
        "^$(listener_and "$fd" POLLOUT) \\.\\.\\.\$" \
        "^$(listener_and "$fd" POLLOUT) = 1 \\(\\[$(entry "$fd" POLLOUT revents)\\]\\)\$" \
        "^$(data_sent "$fd" "$(ere '"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello there.\n"')" 97) = 97( .*)?\$" \
        "^close\\($fd\\) = 0\$"
    # Back to watching the listener alone.
    wait_for_lines 2 "$(listener_alone)"
    assert_blocked_in poll ppoll
}

# hint: Every call you make has its line, with the kernel's result, and
#   nothing in the loop may sleep but poll(): no "recv(...) ..." lines.
#   Compare with strace ./poll.
@test "the narration is what the kernel saw: the same calls as strace, in the same order" {
    start_traced_lab socket,setsockopt,bind,getsockname,listen,fcntl,accept,accept4,poll,ppoll,read,write,recvfrom,sendto,shutdown,close \
        10-poll -p 0 -n 2
    local port
    port=$(wait_for_port "$BATS_TEST_TMPDIR/narration")
    wait_for_line '^p?poll\(' "$BATS_TEST_TMPDIR/narration"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$port/"
    request_of_size 8193 "$BATS_TEST_TMPDIR/over"
    timeout 5 nc -N 127.0.0.1 "$port" <"$BATS_TEST_TMPDIR/over" >/dev/null
    wait_for_exit "$STRACE_PID" "$LAB_PID"
    assert_equal "$LAB_STATUS" 0
    # read and recv, write and send, poll and ppoll count as one; the
    # lab's reads and writes on its sockets only (0-2 are its terminal).
    sed -nE '/^socket\(/,$ { /^(read|write)\([0-2],/d; s/^([a-z0-9]+)\(.*\) += (0x[0-9a-f]+|-?[0-9]+).*$/\1 \2/p; }' "$BATS_TEST_TMPDIR/trace" |
        sed -E 's/^(recvfrom|read) /recv /; s/^(sendto|write) /send /; s/^accept4 /accept /; s/^ppoll /poll /' >"$BATS_TEST_TMPDIR/kernel"
    sed -E 's/^(getsockname\([0-9]+\)) = .*$/\1 = 0/' "$BATS_TEST_TMPDIR/narration" |
        sed -nE 's/^([a-z0-9]+)\(.*\) = (0x[0-9a-f]+|-?[0-9]+)( .*)?$/\1 \2/p' |
        sed -E 's/^read /recv /; s/^write /send /; s/^accept4 /accept /; s/^ppoll /poll /' >"$BATS_TEST_TMPDIR/printed"
    run -0 diff "$BATS_TEST_TMPDIR/kernel" "$BATS_TEST_TMPDIR/printed"
    run -0 grep -c '^accept [0-9]' "$BATS_TEST_TMPDIR/printed"
    assert_output 2
    run -0 grep -c '^shutdown 0$' "$BATS_TEST_TMPDIR/printed"
    assert_output 1
    # Between the set-up and the end, the only call that could sleep: poll.
    run -1 grep -E '^(recv|read|send|write|accept)\(.*\) \.\.\.$' "$BATS_TEST_TMPDIR/narration"
}

# hint: One recv() per POLLIN, never a loop that waits for the rest: a
#   request without its blank line stays in that client's buffer, and the
#   loop goes back to poll() for everyone.
@test "head-of-line blocking is gone: with a silent client and a half-sent request connected, curl is answered at once" {
    start_server
    head_of_line_scene "$PORT"
    wait_for_exit "$CURL_PID"
    assert_equal "$LAB_STATUS" 0
    run -0 cat "$CURL_OUT"
    assert_line --index 0 "Hello there."
    echo "# 10-poll: curl answered in $(sed -n 's/^time_total //p' "$CURL_OUT") s with a silent client and a half request connected" >&3
    # The two are still connected, and the lab has closed neither: it
    # sleeps in poll() with both in its list.
    assert_equal "$(connected_on "$PORT")" 2
    local ports fd
    ports=$(client_ports)
    for port in $ports; do
        fd=$(the_fd_of "$port")
        run -1 grep -E "^close\\($fd\\) = 0\$" "$LAB_OUT"
    done
    assert_blocked_in poll ppoll
    read_lab_output
    assert_line --regexp "^$(data_received '[0-9]+' '"GET / HTTP/1\.1\\r\\nHost: half\\r\\n"' '[0-9]+') = 28( .*)?\$"
    # The half request is completed: answered. The silent client leaves: closed.
    printf '\r\n' >&"$HALF_FD"
    run -0 timeout 5 cat <&"$HALF_FD"
    assert_line --index -1 "Hello there."
    exec {HALF_FD}>&-
    end_peer "$SILENT_PID"
    poll_until "$WAIT_SECONDS" eval '[[ $(connected_on "$PORT") == 0 ]]' || fail "$(connected_on "$PORT") still connected"
    wait_for_lines 3 '^close\([0-9]+\) = 0$'
    wait_for_lines 2 "$(listener_alone)"
    assert_blocked_in poll ppoll
}

# hint: Keep each client's request in its own buffer (client->request,
#   client->used) and look for the blank line in all of it: it may span
#   two recv()s. Until then, no answer.
@test "a request that arrives in pieces is kept per client and answered after its blank line; in between the lab sleeps in poll(), not recv()" {
    start_server
    open_client tcp "$PORT"
    local fd
    fd=$(the_fd_of "$(client_ports)")
    printf 'GET / HTTP/1.1\r\nHost: example\r\n\r' >"$BATS_TEST_TMPDIR/first-part"
    cat "$BATS_TEST_TMPDIR/first-part" >&"$CLIENT_FD"
    wait_for_line "^$(data_received "$fd" '"GET / HTTP/1\.1\\r\\nHost: example\\r\\n\\r"' '[0-9]+') = 32( .*)?\$"
    wait_for_line "^$(listener_and "$fd" POLLIN) \\.\\.\\.\$"
    assert_blocked_in poll ppoll
    read_lab_output
    refute_line --regexp '^(send|write)\('
    printf '\n' >&"$CLIENT_FD"
    run -0 timeout 5 cat <&"$CLIENT_FD"
    close_client
    assert_output "${HELLO%$'\n'}"
    read_lab_output
    assert_line --regexp "^$(data_received "$fd" '"\\n"' '[0-9]+') = 1( .*)?\$"
}

# hint: Every client is a slot in clients[] and one entry in poll()'s list;
#   close and drop the ones whose visit is over, so that the descriptors
#   come back.
@test "200 clients connected at once, then each sends its request: all get 08's answer, the lab sleeps only in poll(), and its fd count comes back" {
    start_server -b 256
    local fds_before
    fds_before=$(ls "/proc/$LAB_PID/fd")
    start_many_clients "$PORT" 200
    local many=$PEER_PID
    wait_for_line '^connected 200$' "$MANY_OUT" 20
    # All 200 accepted and held: 200 sockets more, none of them closed.
    WAIT_SECONDS=20 wait_for_lines 200 "$(accept_line)"
    poll_until 10 eval '[[ $(socket_fds "$LAB_PID" | wc -l) == 201 ]]' ||
        fail "the lab has $(socket_fds "$LAB_PID" | wc -l) sockets, not 201"
    assert_equal "$(count_lines '^close\(')" 0
    assert_idle_in_poll
    # Go: every client sends its request at once.
    touch "$BATS_TEST_TMPDIR/go"
    local asleep
    asleep=$(sleeps_only_in_poll "$LAB_PID" "$many")
    echo "# while serving 200: seen asleep $asleep times, always in poll" >&3
    wait_for_exit "$many"
    assert_equal "$LAB_STATUS" 0
    run -0 cat "$MANY_OUT"
    assert_line "answered 200 of 200"
    WAIT_SECONDS=20 wait_for_lines 200 '^close\([0-9]+\) = 0$'
    assert_equal "$(ls "/proc/$LAB_PID/fd")" "$fds_before"
    assert_blocked_in poll ppoll
}

# hint: With max_clients clients, leave the listener out of poll()'s list
#   (watch_listener): new connections wait in the kernel's queue.
@test "-m 2: with two clients connected it stops polling the listener, a third waits in the kernel's queue, and is served when one leaves" {
    start_server -m 2
    hold_connection 127.0.0.1 "$PORT"
    local first=$PEER_PID
    wait_for_connected
    hold_connection 127.0.0.1 "$PORT"
    wait_for_connected
    wait_for_lines 2 "$(accept_line)"
    # From now on poll() leaves the listener out: two entries, no fd=L.
    wait_for_line "$(waiting_in_poll "$(entry '[0-9]+' POLLIN), $(entry '[0-9]+' POLLIN)" 2)"
    assert_last_line_matches "$(waiting_in_poll "$(entry '[0-9]+' POLLIN), $(entry '[0-9]+' POLLIN)" 2)"
    # (after the second accept, no poll() line watches the listener)
    run -0 awk -v accepted="$(accept_line)" -v listener="\\{fd=$L, " \
        '$0 ~ accepted { n++ } n == 2 && /^p?poll\(/ && $0 ~ listener { print }' "$LAB_OUT"
    assert_output ""
    # A third: the kernel completes its handshake and queues it; the lab
    # does not accept it, and sleeps.
    start_peer "$BATS_TEST_TMPDIR/third" timeout 10 curl -sS "http://127.0.0.1:$PORT/"
    local third=$PEER_PID
    poll_until "$WAIT_SECONDS" queue_length_is "$PORT" 1 || fail "accept queue: $(accept_queue "$PORT")"
    assert_idle_in_poll
    assert_equal "$(count_lines "$(accept_line)")" 2
    if has_exited "$third"; then fail "the third client finished while the lab was full"; fi
    # One leaves: the lab closes it, watches fd 3 again, accepts the third.
    end_peer "$first"
    wait_for_exit "$third"
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(cat "$BATS_TEST_TMPDIR/third")" "Hello there."
    assert_equal "$(count_lines "$(accept_line)")" 3
    poll_until "$WAIT_SECONDS" queue_length_is "$PORT" 0 || fail "accept queue: $(accept_queue "$PORT")"
}

# hint: send() takes what fits: remember client->sent and send the rest at
#   the next POLLOUT; never drop it, never wait for it. See send(2).
@test "-r: an answer too big for the send buffer is sent in parts at each POLLOUT, a client that does not read holds nobody up, and then gets every byte" {
    local repeat=1000000
    start_server -r "$repeat"
    open_client tcp "$PORT"    # asks, then does not read
    local fd
    fd=$(the_fd_of "$(client_ports)")
    printf 'GET / HTTP/1.1\r\n\r\n' >&"$CLIENT_FD"
    # A partial send: the kernel took fewer bytes than asked, at once.
    poll_until "$WAIT_SECONDS" partial_send_seen "$fd" ||
        fail "$(show_lab_output)no send() on fd $fd that took fewer bytes than asked"
    # Its answer waits for POLLOUT, which does not come while it does not read.
    wait_for_line "^$(listener_and "$fd" POLLOUT) \\.\\.\\.\$"
    assert_idle_in_poll
    # Meanwhile another client is served, the whole 13 MB.
    run -0 timeout 10 curl -sS -o "$BATS_TEST_TMPDIR/other" -w '%{http_code} %{size_download}' "http://127.0.0.1:$PORT/"
    assert_output "200 $((13 * repeat))"
    # The first reads at last: all of it, exactly, then EOF.
    { printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' $((13 * repeat))
      yes 'Hello there.' | head -n "$repeat"; } >"$BATS_TEST_TMPDIR/expected"
    timeout 20 cat <&"$CLIENT_FD" >"$BATS_TEST_TMPDIR/received"
    close_client
    run -0 cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/received"
    wait_for_line "^close\\($fd\\) = 0\$"
}

# hint: A client's error (ECONNRESET, EPIPE) or EOF ends that client only:
#   narrate it, close_client() it, and go on serving the others.
@test "hostile clients all at once, and a silent one, leave the fd count unchanged and the server alive and serving" {
    start_server -b 64
    local fds_before
    fds_before=$(ls "/proc/$LAB_PID/fd")
    hold_connection 127.0.0.1 "$PORT"
    local silent=$PEER_PID
    wait_for_connected
    start_hostile_clients 127.0.0.1 "$PORT"
    local hostile=$PEER_PID
    wait_for_hostile_clients
    # Served while the silent one is still there.
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
    wait_for_exit "$hostile"
    assert_equal "$LAB_STATUS" 0
    run -0 cat "$HOSTILE_OUT"
    assert_line 'half-close: sent 0 bytes, received 0 "", then EOF'
    end_peer "$silent"
    poll_until "$WAIT_SECONDS" eval '[[ $(connected_on "$PORT") == 0 ]]' || fail "$(connected_on "$PORT") still connected"
    # Every connection accepted was closed, and the lab is where it began.
    wait_for_lines "$(count_lines "$(accept_line)")" '^close\([0-9]+\) = 0$'
    assert_equal "$(count_lines "$(accept_line)")" 7
    assert_equal "$(ls "/proc/$LAB_PID/fd")" "$fds_before"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
    assert_blocked_in poll ppoll
}

# hint: accept() -1 EMFILE: the connection stays queued and the listener
#   readable, so polling it again would spin. Set accept_blocked: it is
#   left out until a client leaves.
@test "out of descriptors (ulimit -n): accept() fails with EMFILE, the lab stops polling the listener instead of spinning, and accepts again when a client leaves" {
    command -v prlimit >/dev/null || skip "no prlimit"
    # What the lab has open now (0, 1, 2, the listener, and whatever else
    # it opened) and two clients fill the limit: descriptors are given
    # lowest first, so the limit is one past the second free number.
    start_server
    local limit
    limit=$(limit_for_two_more "$LAB_PID")
    prlimit --pid "$LAB_PID" --nofile="$limit:$limit" || fail "prlimit failed"
    hold_connection 127.0.0.1 "$PORT"
    local first=$PEER_PID
    wait_for_connected
    hold_connection 127.0.0.1 "$PORT"
    wait_for_connected
    wait_for_lines 2 "$(accept_line)"
    start_peer "$BATS_TEST_TMPDIR/third" timeout 10 curl -sS "http://127.0.0.1:$PORT/"
    local third=$PEER_PID
    wait_for_line "^accept\\($L\\) = -1 EMFILE( .*)?\$"
    # Left out of the list, the still-readable listener cannot wake it.
    wait_for_line "$(waiting_in_poll "$(entry '[0-9]+' POLLIN), $(entry '[0-9]+' POLLIN)" 2)"
    assert_idle_in_poll
    end_peer "$first"
    wait_for_exit "$third"
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(cat "$BATS_TEST_TMPDIR/third")" "Hello there."
}

# hint: A stop signal: poll() returns -1 EINTR; narrate it and go round
#   the loop, which ends on stop_requested; close every client, then the
#   listener, each narrated, and exit 0.
@test "SIGTERM while it sleeps in poll() with clients connected: EINTR, every socket closed, exit 0" {
    start_server
    open_client tcp "$PORT"
    local fd
    fd=$(the_fd_of "$(client_ports)")
    wait_for_line "^$(listener_and "$fd" POLLIN) \\.\\.\\.\$"
    assert_blocked_in poll ppoll
    stop_lab TERM
    close_client
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    # After the EINTR, both sockets closed (in either order), and the end.
    assert_in_order "^$(listener_and "$fd" POLLIN) = -1 EINTR( .*)?\$" "^close\\($fd\\) = 0\$"
    assert_in_order "^$(listener_and "$fd" POLLIN) = -1 EINTR( .*)?\$" "^close\\($L\\) = 0\$"
    [[ $(tail -n 2 "$LAB_OUT" | sort) == "$(printf 'close(%s) = 0\n' "$fd" "$L" | sort)" ]] ||
        fail "$(show_lab_output)the last lines are not the two close() calls"
}

# hint: -n COUNT: count the clients you accepted; after COUNT, stop
#   watching the listener and leave the loop once the last one is done.
@test "-n 2: it serves two clients, then closes its socket and exits 0" {
    start_server -n 2
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(count_lines "$(accept_line)")" 2
    assert_last_line "close($L) = 0"
}

# hint: -b BACKLOG goes to listen() (open_listening_socket() does it).
@test "-b 64 sets the backlog: listen(3, 64) and the kernel's listener says 64" {
    start_server -b 64
    read_lab_output
    assert_line "listen($L, 64) = 0"
    run -0 ss -Hltn "$(local_end "$PORT")"
    assert_output --regexp "^LISTEN +0 +64 +127\\.0\\.0\\.1:$PORT "
}

# hint: Nothing new for IPv6: the address from parse_address() already
#   has its family.
@test "IPv6: -a ::1 serves curl on [::1]" {
    skip_unless_ipv6
    start_lab 10-poll -a ::1 -p 0
    PORT=$(wait_for_port)
    wait_for_line '^p?poll\('
    run -0 timeout 5 curl -sS -g "http://[::1]:$PORT/"
    assert_output "Hello there."
    read_lab_output
    assert_line --regexp "$(socket_line AF_INET6 SOCK_STREAM)"
    assert_line --regexp '^accept\([0-9]+\) = [0-9]+  peer \[::1\]:[0-9]+$'
}

# hint: Parse every option strictly (parse_port(), parse_number()): on a
#   bad value print a message naming it and the usage on stderr, exit 2.
@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 10-poll
    local option value
    for option in b n m r; do
        for value in 0 -3 ten 2x ''; do
            run --separate-stderr run_lab 10-poll "-$option" "$value"
            assert_usage_error "$value"
        done
        run --separate-stderr run_lab 10-poll "-$option"
        assert_usage_error "-$option"
    done
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 10-poll poll
}
