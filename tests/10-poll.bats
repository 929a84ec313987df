#!/usr/bin/env bats
# 10-poll: 08's HTTP server as one poll() loop over non-blocking sockets:
# the same answers, byte for byte, to many clients at once; no client can
# hold the others up; it sleeps in poll() and nowhere else.

bats_require_minimum_version 1.5.0
load helpers
load helpers-poll

# start_server ARGS...: start ./poll on a kernel-chosen port; wait until it
# sleeps in poll() on its listening socket. Sets PORT.
start_server() {
    start_lab 10-poll -p 0 "$@"
    PORT=$(wait_for_port)
    wait_for_line '^poll\(\[\{fd=3, events=POLLIN\}\], 1, -1\) \.\.\.$'
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
# port is PEER_PORT, from its "accept(3) = FD  peer 127.0.0.1:PEER_PORT" line.
the_fd_of() {
    wait_for_line "^accept\\(3\\) = [0-9]+  peer 127\\.0\\.0\\.1:$1\$"
    sed -nE "s/^accept\\(3\\) = ([0-9]+)  peer 127\\.0\\.0\\.1:$1\$/\\1/p" "$LAB_OUT" | tail -n 1
}

# The local ports of this machine's clients of PORT, one a line.
client_ports() {
    ss -Htn state established "$(remote_end "$PORT")" | awk '{ n = split($3, a, ":"); print a[n] }'
}

@test "the answer is 08's, byte for byte: 200 with \"Hello there.\", and 431 past 8 KiB" {
    start_lab 08-server -p 0
    local port08
    port08=$(wait_for_port)
    wait_for_line '^accept\(3\) \.\.\.$'
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

@test "one client's visit: poll() on the listener, accept, O_NONBLOCK, POLLIN then recv, POLLOUT then send, close" {
    start_server
    read_lab_output
    assert_line --regexp '^fcntl\(3, F_SETFL, ([A-Z_]+\|)*O_NONBLOCK(\|[A-Z_]+)*\) = 0$'
    assert_nonblocking "$LAB_PID" 3
    assert_last_line "poll([{fd=3, events=POLLIN}], 1, -1) ..."
    assert_blocked_in poll ppoll
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_line '^poll\(\[\{fd=3, events=POLLIN\}\], 1, -1\) = 1 \(\[\{fd=3, revents=POLLIN\}\]\)$'
    local fd
    fd=$(the_fd_of "$(client_ports)")
    # The new socket is non-blocking too, by fcntl or accept4: the kernel says so.
    assert_nonblocking "$LAB_PID" "$fd"
    # Now poll() watches both, and sleeps.
    wait_for_line "^poll\\(\\[\\{fd=3, events=POLLIN\\}, \\{fd=$fd, events=POLLIN\\}\\], 2, -1\\) \\.\\.\\.\$"
    assert_idle_in_poll
    # One write (bash's printf would write a line at a time).
    printf 'GET / HTTP/1.1\r\n\r\n' >"$BATS_TEST_TMPDIR/request"
    cat "$BATS_TEST_TMPDIR/request" >&"$CLIENT_FD"
    run -0 timeout 5 cat <&"$CLIENT_FD"
    close_client
    assert_output "${HELLO%$'\n'}"
    wait_for_line "^close\\($fd\\) = 0\$"
    read_lab_output
    assert_line "poll([{fd=3, events=POLLIN}, {fd=$fd, events=POLLIN}], 2, -1) = 1 ([{fd=$fd, revents=POLLIN}])"
    assert_line "recv($fd, \"GET / HTTP/1.1\\r\\n\\r\\n\", 8192, 0) = 18  a blank line: the request is complete"
    # The answer waits for POLLOUT, then goes in one send().
    assert_line "poll([{fd=3, events=POLLIN}, {fd=$fd, events=POLLOUT}], 2, -1) ..."
    assert_line "poll([{fd=3, events=POLLIN}, {fd=$fd, events=POLLOUT}], 2, -1) = 1 ([{fd=$fd, revents=POLLOUT}])"
    assert_line "send($fd, \"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 13\\r\\nConnection: close\\r\\n\\r\\nHello there.\\n\", 97, 0) = 97"
    # Back to watching the listener alone.
    wait_for_lines 2 '^poll\(\[\{fd=3, events=POLLIN\}\], 1, -1\) \.\.\.$'
    assert_blocked_in poll ppoll
}

@test "the narration is what the kernel saw: the same calls as strace, in the same order" {
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 start_peer "$BATS_TEST_TMPDIR/narration" \
        strace -o "$BATS_TEST_TMPDIR/trace" \
        -e trace=socket,setsockopt,bind,getsockname,listen,fcntl,accept,accept4,poll,ppoll,recvfrom,sendto,shutdown,close \
        "$(lab_binary 10-poll)" -p 0 -n 2
    local strace_pid=$PEER_PID port
    port=$(wait_for_port "$BATS_TEST_TMPDIR/narration")
    wait_for_line '^poll\(' "$BATS_TEST_TMPDIR/narration"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$port/"
    request_of_size 8193 "$BATS_TEST_TMPDIR/over"
    timeout 5 nc -N 127.0.0.1 "$port" <"$BATS_TEST_TMPDIR/over" >/dev/null
    wait_for_exit "$strace_pid"
    assert_equal "$LAB_STATUS" 0
    sed -nE '/^socket\(/,$ s/^([a-z0-9]+)\(.*\) += (0x[0-9a-f]+|-?[0-9]+).*$/\1 \2/p' "$BATS_TEST_TMPDIR/trace" |
        sed -E 's/^recvfrom /recv /; s/^sendto /send /; s/^accept4 /accept /; s/^ppoll /poll /' >"$BATS_TEST_TMPDIR/kernel"
    sed -E 's/^(getsockname\([0-9]+\)) = .*$/\1 = 0/' "$BATS_TEST_TMPDIR/narration" |
        sed -nE 's/^([a-z0-9]+)\(.*\) = (0x[0-9a-f]+|-?[0-9]+)( .*)?$/\1 \2/p' >"$BATS_TEST_TMPDIR/printed"
    run -0 diff "$BATS_TEST_TMPDIR/kernel" "$BATS_TEST_TMPDIR/printed"
    run -0 grep -c '^accept [0-9]' "$BATS_TEST_TMPDIR/printed"
    assert_output 2
    run -0 grep -c '^shutdown 0$' "$BATS_TEST_TMPDIR/printed"
    assert_output 1
    # Between the set-up and the end, the only call that could sleep: poll.
    run -1 grep -E '^(recv|send|accept)\(.*\) \.\.\.$' "$BATS_TEST_TMPDIR/narration"
}

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
    assert_line --regexp '^recv\([0-9]+, "GET / HTTP/1\.1\\r\\nHost: half\\r\\n", 8192, 0\) = 28  no blank line yet: read on$'
    # The half request is completed: answered. The silent client leaves: closed.
    printf '\r\n' >&"$HALF_FD"
    run -0 timeout 5 cat <&"$HALF_FD"
    assert_line --index -1 "Hello there."
    exec {HALF_FD}>&-
    end_peer "$SILENT_PID"
    poll_until "$WAIT_SECONDS" eval '[[ $(connected_on "$PORT") == 0 ]]' || fail "$(connected_on "$PORT") still connected"
    wait_for_lines 3 '^close\([0-9]+\) = 0$'
    wait_for_lines 2 '^poll\(\[\{fd=3, events=POLLIN\}\], 1, -1\) \.\.\.$'
    assert_blocked_in poll ppoll
}

@test "a request that arrives in pieces is kept per client and answered after its blank line; in between the lab sleeps in poll(), not recv()" {
    start_server
    open_client tcp "$PORT"
    local fd
    fd=$(the_fd_of "$(client_ports)")
    printf 'GET / HTTP/1.1\r\nHost: example\r\n\r' >"$BATS_TEST_TMPDIR/first-part"
    cat "$BATS_TEST_TMPDIR/first-part" >&"$CLIENT_FD"
    wait_for_line "^recv\\($fd, \"GET / HTTP/1\\.1\\\\r\\\\nHost: example\\\\r\\\\n\\\\r\", 8192, 0\\) = 32  no blank line yet: read on\$"
    wait_for_lines 2 "^poll\\(\\[\\{fd=3, events=POLLIN\\}, \\{fd=$fd, events=POLLIN\\}\\], 2, -1\\) \\.\\.\\.\$"
    assert_blocked_in poll ppoll
    read_lab_output
    refute_line --partial "send("
    printf '\n' >&"$CLIENT_FD"
    run -0 timeout 5 cat <&"$CLIENT_FD"
    close_client
    assert_output "${HELLO%$'\n'}"
    read_lab_output
    assert_line "recv($fd, \"\\n\", 8160, 0) = 1  a blank line: the request is complete"
}

@test "200 clients connected at once, then each sends its request: all get 08's answer, the lab sleeps only in poll(), and its fd count comes back" {
    start_server -b 256
    local fds_before
    fds_before=$(ls "/proc/$LAB_PID/fd")
    start_many_clients "$PORT" 200
    local many=$PEER_PID
    wait_for_line '^connected 200$' "$MANY_OUT" 20
    # All 200 accepted and held: 200 sockets more, none of them closed.
    WAIT_SECONDS=20 wait_for_lines 200 '^accept\(3\) = [0-9]+  peer '
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

@test "-m 2: with two clients connected it stops polling the listener, a third waits in the kernel's queue, and is served when one leaves" {
    start_server -m 2
    hold_connection 127.0.0.1 "$PORT"
    local first=$PEER_PID
    wait_for_connected
    hold_connection 127.0.0.1 "$PORT"
    wait_for_connected
    wait_for_lines 2 '^accept\(3\) = [0-9]+  peer '
    # From now on poll() leaves fd 3 out: two entries, no fd=3.
    wait_for_line '^poll\(\[\{fd=[0-9]+, events=POLLIN\}, \{fd=[0-9]+, events=POLLIN\}\], 2, -1\) \.\.\.$'
    assert_last_line "$(grep -E '^poll\(.*\], 2, -1\) \.\.\.$' "$LAB_OUT" | tail -n 1)"
    # (after the second accept, no poll() line watches fd 3)
    run -0 awk '/^accept\(3\) = [0-9]+  peer / { n++ } n == 2 && /^poll\(.*\{fd=3, / { print }' "$LAB_OUT"
    assert_output ""
    # A third: the kernel completes its handshake and queues it; the lab
    # does not accept it, and sleeps.
    start_peer "$BATS_TEST_TMPDIR/third" timeout 10 curl -sS "http://127.0.0.1:$PORT/"
    local third=$PEER_PID
    poll_until "$WAIT_SECONDS" queue_length_is "$PORT" 1 || fail "accept queue: $(accept_queue "$PORT")"
    assert_idle_in_poll
    assert_equal "$(count_lines '^accept\(3\) = [0-9]+  peer ')" 2
    if has_exited "$third"; then fail "the third client finished while the lab was full"; fi
    # One leaves: the lab closes it, watches fd 3 again, accepts the third.
    end_peer "$first"
    wait_for_exit "$third"
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(cat "$BATS_TEST_TMPDIR/third")" "Hello there."
    assert_equal "$(count_lines '^accept\(3\) = [0-9]+  peer ')" 3
    poll_until "$WAIT_SECONDS" queue_length_is "$PORT" 0 || fail "accept queue: $(accept_queue "$PORT")"
}

@test "-r: an answer too big for the send buffer is sent in parts at each POLLOUT, a client that does not read holds nobody up, and then gets every byte" {
    local repeat=1000000
    start_server -r "$repeat"
    open_client tcp "$PORT"    # asks, then does not read
    local fd
    fd=$(the_fd_of "$(client_ports)")
    printf 'GET / HTTP/1.1\r\n\r\n' >&"$CLIENT_FD"
    wait_for_line "^send\\($fd, \"HTTP/1\\.1 200 OK.*, [0-9]+, 0\\) = [0-9]+  partial: [0-9]+ bytes still to send\$"
    # Its answer waits for POLLOUT, which does not come while it does not read.
    wait_for_line "^poll\\(\\[\\{fd=3, events=POLLIN\\}, \\{fd=$fd, events=POLLOUT\\}\\], 2, -1\\) \\.\\.\\.\$"
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
    wait_for_lines "$(count_lines '^accept\(3\) = [0-9]+  peer ')" '^close\([0-9]+\) = 0$'
    assert_equal "$(count_lines '^accept\(3\) = [0-9]+  peer ')" 7
    assert_equal "$(ls "/proc/$LAB_PID/fd")" "$fds_before"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
    assert_blocked_in poll ppoll
}

@test "out of descriptors (ulimit -n): accept() fails with EMFILE, the lab stops polling the listener instead of spinning, and accepts again when a client leaves" {
    command -v prlimit >/dev/null || skip "no prlimit"
    # 0, 1, 2, the listener and two clients fill a limit of 6.
    start_lab 10-poll -p 0
    PORT=$(wait_for_port)
    wait_for_line '^poll\('
    prlimit --pid "$LAB_PID" --nofile=6:6 || fail "prlimit failed"
    hold_connection 127.0.0.1 "$PORT"
    local first=$PEER_PID
    wait_for_connected
    hold_connection 127.0.0.1 "$PORT"
    wait_for_connected
    wait_for_lines 2 '^accept\(3\) = [0-9]+  peer '
    start_peer "$BATS_TEST_TMPDIR/third" timeout 10 curl -sS "http://127.0.0.1:$PORT/"
    local third=$PEER_PID
    wait_for_line '^accept\(3\) = -1 EMFILE \(Too many open files\)$'
    # Left out of the list, the still-readable listener cannot wake it.
    wait_for_line '^poll\(\[\{fd=[0-9]+, events=POLLIN\}, \{fd=[0-9]+, events=POLLIN\}\], 2, -1\) \.\.\.$'
    assert_idle_in_poll
    end_peer "$first"
    wait_for_exit "$third"
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(cat "$BATS_TEST_TMPDIR/third")" "Hello there."
}

@test "SIGTERM while it sleeps in poll() with clients connected: EINTR, every socket closed, exit 0" {
    start_server
    open_client tcp "$PORT"
    local fd
    fd=$(the_fd_of "$(client_ports)")
    wait_for_line "^poll\\(\\[\\{fd=3, events=POLLIN\\}, \\{fd=$fd, events=POLLIN\\}\\], 2, -1\\) \\.\\.\\.\$"
    assert_blocked_in poll ppoll
    stop_lab TERM
    close_client
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --index -3 "poll([{fd=3, events=POLLIN}, {fd=$fd, events=POLLIN}], 2, -1) = -1 EINTR (Interrupted system call)"
    assert_line --index -2 "close($fd) = 0"
    assert_line --index -1 "close(3) = 0"
}

@test "-n 2: it serves two clients, then closes its socket and exits 0" {
    start_server -n 2
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(count_lines '^accept\(3\) = [0-9]+  peer ')" 2
    assert_last_line "close(3) = 0"
}

@test "-b 64 sets the backlog: listen(3, 64) and the kernel's listener says 64" {
    start_server -b 64
    read_lab_output
    assert_line "listen(3, 64) = 0"
    run -0 ss -Hltn "$(local_end "$PORT")"
    assert_output --regexp "^LISTEN +0 +64 +127\\.0\\.0\\.1:$PORT "
}

@test "IPv6: -a ::1 serves curl on [::1]" {
    skip_unless_ipv6
    start_lab 10-poll -a ::1 -p 0
    PORT=$(wait_for_port)
    wait_for_line '^poll\('
    run -0 timeout 5 curl -sS -g "http://[::1]:$PORT/"
    assert_output "Hello there."
    read_lab_output
    assert_line --index 0 "socket(AF_INET6, SOCK_STREAM, 0) = 3"
    assert_line --regexp '^accept\(3\) = [0-9]+  peer \[::1\]:[0-9]+$'
}

@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 10-poll
    run --separate-stderr run_lab 10-poll -b 0
    assert_usage_error "backlog '0' is out of range"
    run --separate-stderr run_lab 10-poll -b ten
    assert_usage_error "backlog 'ten' is not a number"
    run --separate-stderr run_lab 10-poll -n 0
    assert_usage_error "count '0' is out of range"
    run --separate-stderr run_lab 10-poll -n ''
    assert_usage_error "count '' is not a number"
    run --separate-stderr run_lab 10-poll -m 0
    assert_usage_error "'0' is out of range"
    run --separate-stderr run_lab 10-poll -m lots
    assert_usage_error "'lots' is not a number"
    run --separate-stderr run_lab 10-poll -m ''
    assert_usage_error "'' is not a number"
    run --separate-stderr run_lab 10-poll -r 0
    assert_usage_error "'0' is out of range"
    run --separate-stderr run_lab 10-poll -r 2x
    assert_usage_error "'2x' is not a number"
    for option in b n m r; do
        run --separate-stderr run_lab 10-poll "-$option"
        assert_usage_error "option -$option needs a value"
    done
}

@test "-h prints the usage on stdout and exits 0" {
    assert_help 10-poll poll
}
