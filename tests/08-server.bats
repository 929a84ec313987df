#!/usr/bin/env bats
# 08-server: an iterative HTTP/1.1 server, one client at a time.

bats_require_minimum_version 1.5.0
load helpers
load helpers-poll

# Start ./server with ARGS on a kernel-chosen port; wait until it is asleep
# in accept(), ready for clients. Sets PORT and L, the listening socket's
# descriptor, read from its own listen line (which fd it is depends on what
# else the program opened).
start_server() {
    start_lab 08-server -p 0 "$@"
    PORT=$(wait_for_port)
    wait_for_line '^listen\([0-9]+, [0-9]+\) = 0$'
    L=$(listening_fd)
    wait_for_line "^accept\\($L\\) \\.\\.\\.\$"
}

# wait_for_accepted: until the server has accepted a client; sets C, the
# client's descriptor, from the lab's "accept(L) = C  peer ..." line.
wait_for_accepted() {
    wait_for_line "^accept\\($L\\) = [0-9]+  peer "
    C=$(accepted_fd)
}

# The number of connections waiting in the accept queue of the listener
# on PORT: for a listening socket, ss shows it as Recv-Q.
accept_queue_length() {
    local queue
    queue=$(accept_queue "$PORT")
    echo "${queue%% *}"
}

queue_holds() {
    [[ $(accept_queue_length) == "$1" ]]
}

# The local port of this machine's one client connection to PORT.
client_port() {
    ss -Htn state established "$(remote_end "$PORT")" | awk '{ n = split($3, a, ":"); print a[n] }'
}

# A raw HTTP request of exactly SIZE bytes ("GET / HTTP/1.1", one header
# filled with 'a', the blank line), written to FILE.
request_of_size() {
    local size=$1 file=$2
    local start=$'GET / HTTP/1.1\r\nX-Fill: ' end=$'\r\n\r\n'
    local fill=$((size - ${#start} - ${#end}))
    { printf '%s' "$start"; head -c "$fill" /dev/zero | tr '\0' a; printf '%s' "$end"; } >"$file"
    assert_equal "$(wc -c <"$file")" "$size"
}

# split_response FILE: the headers (up to and with the first empty line,
# "\r\n") into FILE.head, the rest into FILE.body.
split_response() {
    local file=$1
    sed -n '1,/^\r$/p' "$file" >"$file.head"
    tail -c +"$(($(wc -c <"$file.head") + 1))" "$file" >"$file.body"
}

# hint: Answer with an HTTP/1.1 response: status line "HTTP/1.1 200 OK", then
#   Content-Type: text/plain, Content-Length: 13 and Connection: close, each
#   line ended by "\r\n", an empty line, then "Hello there.\n". Try it:
#   curl -v http://127.0.0.1:2017/ (format_response(); RFC 9112).
@test "curl gets 200 and the body \"Hello there.\" with Content-Type, Content-Length and Connection: close" {
    start_server
    run -0 timeout 5 curl -sS --http1.1 -D "$BATS_TEST_TMPDIR/head" -o "$BATS_TEST_TMPDIR/body" \
        "http://127.0.0.1:$PORT/"
    run -0 cat "$BATS_TEST_TMPDIR/head"
    assert_line --index 0 $'HTTP/1.1 200 OK\r'
    assert_line $'Content-Type: text/plain\r'
    assert_line $'Content-Length: 13\r'
    assert_line $'Connection: close\r'
    printf 'Hello there.\n' | cmp - "$BATS_TEST_TMPDIR/body"
}

# hint: Every header line must end in "\r\n" (CR LF), the empty line too, and
#   Content-Length must count the body's bytes exactly: compute it with
#   strlen(), never type it in. See it raw: printf 'GET / HTTP/1.1\r\n\r\n' |
#   nc -N 127.0.0.1 2017 | od -c
@test "a raw request through nc: every header line ends in CRLF and Content-Length is the body's size" {
    start_server
    printf 'GET / HTTP/1.1\r\nHost: example\r\n\r\n' |
        timeout 5 nc -N 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/raw"
    split_response "$BATS_TEST_TMPDIR/raw"
    # The headers end with an empty line "\r\n" (split_response found one),
    # and not one line before it lacks its CR.
    assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/raw.head")" $'\r'
    run -1 grep -vc $'\r$' "$BATS_TEST_TMPDIR/raw.head"
    assert_output 0
    run -0 grep -c '^HTTP/1\.1 200 OK' "$BATS_TEST_TMPDIR/raw.head"
    local length
    length=$(sed -nE 's/^Content-Length: ([0-9]+)\r$/\1/p' "$BATS_TEST_TMPDIR/raw.head")
    [[ -n $length ]] || fail "no Content-Length header: $(cat "$BATS_TEST_TMPDIR/raw.head")"
    assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/raw.body")" "$length"
    printf 'Hello there.\n' | cmp - "$BATS_TEST_TMPDIR/raw.body"
}

# hint: A strict client: the status line must be "HTTP/1.1 200 OK", and the
#   response must give its length (Content-Length) and say Connection: close.
@test "Python's http.client reads the response as HTTP/1.1 with a length and a close" {
    start_server
    run -0 timeout 5 "$PYTHON3" -c '
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
connection.request("GET", "/")
response = connection.getresponse()
print(response.version, response.status, response.reason)
print("length", response.length, "will_close", response.will_close)
print(repr(response.read()))
' "$PORT"
    assert_line --index 0 "11 200 OK"
    assert_line --index 1 "length 13 will_close True"
    assert_line --index 2 "b'Hello there.\\n'"
}

# hint: Print each call as strace would, in the order you make them: socket,
#   setsockopt SO_REUSEADDR, bind, getsockname, listen; then per client
#   "accept(L) ..." and its result, "recv(C, ..." before each recv and its
#   result with the bytes escaped (print_escaped()), the send with the whole
#   response escaped, close(C), and "accept(L) ..." again. Compare with
#   strace -e trace=network,close ./server
@test "one client's visit is narrated call by call, in order, with the bytes escaped" {
    start_server
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    # Served, closed, and back in accept(): the second "accept(L) ...".
    wait_for_lines 2 "^accept\\($L\\) \\.\\.\\.\$"
    C=$(accepted_fd)
    read_lab_output
    # The set-up, each call with its arguments and result, in the order
    # that makes a server: the option before bind, bind before listen.
    assert_line --regexp "$(socket_line AF_INET SOCK_STREAM)"
    assert_in_order "^socket\\(AF_INET, SOCK_STREAM, [A-Z_0]+\\) = $L\$" \
        "^setsockopt\\($L, SOL_SOCKET, SO_REUSEADDR, \\[1\\], 4\\) = 0\$" \
        "^bind\\($L, 127\\.0\\.0\\.1:0\\) = 0\$" \
        "^getsockname\\($L\\) = 127\\.0\\.0\\.1:$PORT\$" \
        "^listen\\($L, 10\\) = 0\$" \
        "^accept\\($L\\) \\.\\.\\.\$" \
        "^accept\\($L\\) = $C  peer 127\\.0\\.0\\.1:[0-9]+\$" \
        "$(data_waiting "$C")" \
        "^$(data_received "$C" "\"GET / HTTP/1\\.1\\\\r\\\\nHost: 127\\.0\\.0\\.1:$PORT\\\\r\\\\n.*\\\\r\\\\n\\\\r\\\\n\"" '[0-9]+') = [0-9]+( .*)?\$" \
        "^$(data_sent "$C" '"HTTP/1\.1 200 OK\\r\\n.*\\r\\n\\r\\nHello there\.\\n"' '[0-9]+') = [0-9]+( .*)?\$" \
        "^close\\($C\\) = 0\$"
    # ... and back in accept() for the next client, after the close.
    assert_last_line "accept($L) ..."
}

# hint: Each narrated line must be the call you really made, with the result
#   the kernel really returned: print after the call, from its return value,
#   never a number you expect. Run it under strace -e trace=network,close,
#   read,write and compare the two, line by line.
@test "the narration is what the kernel saw: the same calls as strace, in the same order" {
    start_traced_lab socket,setsockopt,bind,getsockname,listen,accept,accept4,recvfrom,sendto,read,write,shutdown,close \
        08-server -p 0 -n 2
    local port
    port=$(wait_for_port "$BATS_TEST_TMPDIR/narration")
    wait_for_line '^listen\([0-9]+, [0-9]+\) = 0$' "$BATS_TEST_TMPDIR/narration"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$port/"
    printf 'GET / HTTP/1.1\r\nX-Fill: %s\r\n' "$(head -c 9000 /dev/zero | tr '\0' a)" |
        timeout 5 nc -N 127.0.0.1 "$port" >/dev/null
    wait_for_exit "$STRACE_PID" "$LAB_PID"
    assert_equal "$LAB_STATUS" 0
    # Call names with their results, from the first socket() on (a sanitized
    # build makes calls of its own before main). strace says recvfrom and
    # sendto for recv and send, and accept4 where the C library uses it; a
    # read or write is as good as a recv or send. Left out: the writes of
    # the narration itself (fd 1 and 2), and calls the narration does not
    # show or that are not the server's (the C library's own close() ...).
    sed -nE '/^socket\(/,$ s/^([a-z0-9]+)\(([0-9]*).*\) += (-?[0-9]+).*$/\1 \3 \2/p' "$BATS_TEST_TMPDIR/trace" |
        sed -E 's/^(recvfrom|read) /recv /; s/^(sendto|write) /send /; s/^accept4 /accept /' |
        awk '!($1 ~ /^(recv|send)$/ && $3 != "" && $3 <= 2) { print $1, $2 }' >"$BATS_TEST_TMPDIR/kernel"
    # (The narration prints the address getsockname() returned; strace, 0.)
    sed -E 's/^(getsockname\([0-9]+\)) = .*$/\1 = 0/' "$BATS_TEST_TMPDIR/narration" |
        sed -nE 's/^([a-z]+)\(.*\) = (-?[0-9]+)( .*)?$/\1 \2/p' |
        sed -E 's/^read /recv /; s/^write /send /' |
        grep -E '^(socket|setsockopt|bind|getsockname|listen|accept|recv|send|shutdown|close) ' >"$BATS_TEST_TMPDIR/printed"
    run -0 diff "$BATS_TEST_TMPDIR/kernel" "$BATS_TEST_TMPDIR/printed"
    # and both clients' visits are in it: two accepts, the 431's shutdown
    run -0 grep -c '^accept ' "$BATS_TEST_TMPDIR/printed"
    assert_output 2
    run -0 grep -c '^shutdown 0$' "$BATS_TEST_TMPDIR/printed"
    assert_output 1
}

# hint: Look for the end of the headers as a LF followed by an empty line:
#   "\n\r\n" or "\n\n" (has_blank_line()). Servers accept a bare LF as a
#   line end (RFC 9112, 2.2), though they send CR LF themselves.
@test "a request with bare LF line ends is answered too (lenient reading)" {
    start_server
    run -0 timeout 5 nc -N 127.0.0.1 "$PORT" < <(printf 'GET / HTTP/1.0\nHost: example\n\n')
    assert_line --index 0 $'HTTP/1.1 200 OK\r'
    assert_line --index -1 "Hello there."
}

# hint: One recv() returns what has arrived, maybe half a request: keep the
#   bytes so far, look for the blank line in ALL of them (it may be split
#   between two recv() calls), and recv() again into the room that is left
#   until you find it. See recv(2).
@test "a request that arrives in pieces is read over several recv() calls, until its blank line" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_accepted
    wait_for_line "$(data_waiting "$C")"
    # All but the last byte: the blank line is split, "\r\n\r" now, "\n"
    # later. (cat writes the file in one write(); bash's printf would write
    # a line at a time.)
    printf 'GET / HTTP/1.1\r\nHost: example\r\n\r' >"$BATS_TEST_TMPDIR/first-part"
    cat "$BATS_TEST_TMPDIR/first-part" >&"$CLIENT_FD"
    wait_for_line "^$(data_received "$C" '"GET / HTTP/1\.1\\r\\nHost: example\\r\\n\\r"' '[0-9]+') = 32( .*)?\$"
    # No answer yet: it is asleep in a second recv().
    wait_for_lines 2 "$(data_waiting "$C")"
    assert_blocked_in recvfrom recv read
    read_lab_output
    refute_line --regexp "^$(data_sent "$C" '.*' '.*')"
    printf '\n' >&"$CLIENT_FD"
    run -0 timeout 5 cat <&"$CLIENT_FD"
    close_client
    assert_line --index 0 $'HTTP/1.1 200 OK\r'
    assert_line --index -1 "Hello there."
    read_lab_output
    assert_line --regexp "^$(data_received "$C" '"\\n"' '[0-9]+') = 1( .*)?\$"
}

# hint: This is how an iterative server behaves: while it waits in recv() on
#   one client, the next waits in the accept queue. Serve one client at a
#   time (accept, read the request, answer, close, then accept again); the
#   "accept(L) = C  peer ADDR:PORT" line must name the client's own port.
@test "head-of-line blocking: a silent client holds the server in recv() and the next waits in the accept queue" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_accepted
    wait_for_line "$(data_waiting "$C")"
    # The server took the silent client as fd C and sleeps in recv() on it.
    local silent_port
    silent_port=$(client_port)
    read_lab_output
    assert_line "accept($L) = $C  peer 127.0.0.1:$silent_port"
    assert_blocked_in recvfrom recv read

    # A second client: its connect() succeeds (the kernel completes the
    # handshake and queues it), but nobody accepts it.
    start_peer "$BATS_TEST_TMPDIR/second" timeout 10 curl -sS "http://127.0.0.1:$PORT/"
    local second=$PEER_PID
    poll_until "$WAIT_SECONDS" queue_holds 1 || fail "accept queue holds $(accept_queue_length), not 1"
    assert_blocked_in recvfrom recv read
    assert_equal "$(count_lines "^accept\\($L\\) = ")" 1
    [[ $(tail -n 1 "$LAB_OUT") =~ $(data_waiting "$C") ]] || fail "last line: $(tail -n 1 "$LAB_OUT")"
    if has_exited "$second"; then fail "the second client finished while the first was silent"; fi
    assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/second")" 0

    # The first client speaks: it is answered, then the second is accepted
    # and answered too.
    printf 'GET / HTTP/1.1\r\n\r\n' >&"$CLIENT_FD"
    run -0 timeout 5 cat <&"$CLIENT_FD"
    close_client
    assert_line --index -1 "Hello there."
    wait_for_exit "$second"
    assert_equal "$LAB_STATUS" 0
    assert_equal "$(cat "$BATS_TEST_TMPDIR/second")" "Hello there."
    wait_for_line "^accept\\($L\\) \\.\\.\\.\$"
    assert_equal "$(count_lines "^accept\\($L\\) = [0-9]+  peer ")" 2
    assert_equal "$(accept_queue_length)" 0
}

# hint: One client at a time: while you sleep in recv() for the silent
#   client, the others wait in the accept queue. EOF from it: close it and
#   accept the next; answer once the request's blank line has come.
@test "10-poll's head-of-line scene: a silent client, then a half-sent request, hold curl up until each is done" {
    start_server
    head_of_line_scene "$PORT"
    # The server took the silent one and sleeps in recv() on it; the half
    # request and curl wait in the accept queue, curl without an answer.
    wait_for_accepted
    local silent=$C
    wait_for_line "$(data_waiting "$silent")"
    poll_until "$WAIT_SECONDS" queue_holds 2 || fail "accept queue holds $(accept_queue_length), not 2"
    assert_blocked_in recvfrom recv read
    assert_equal "$(count_lines "^accept\\($L\\) = [0-9]+")" 1
    if has_exited "$CURL_PID"; then fail "curl finished while the silent client held the server"; fi
    # The silent one leaves: the server reads EOF, closes, takes the half
    # request, and sleeps on that one. curl still waits.
    end_peer "$SILENT_PID"
    wait_for_line "^close\\($silent\\) = 0\$"
    wait_for_lines 2 "^accept\\($L\\) = [0-9]+( .*)?\$"
    local half
    half=$(sed -nE "s/^accept\\($L\\) = ([0-9]+)( .*)?\$/\\1/p" "$LAB_OUT" | sed -n 2p)
    wait_for_line "^$(data_received "$half" '"GET / HTTP/1\.1\\r\\nHost: half\\r\\n"' '[0-9]+') = 28( .*)?\$"
    # A second wait on it (a third on that number if the kernel gave the
    # half request the silent one's descriptor again).
    wait_for_lines $((half == silent ? 3 : 2)) "$(data_waiting "$half")"
    assert_blocked_in recvfrom recv read
    assert_equal "$(accept_queue_length)" 1
    if has_exited "$CURL_PID"; then fail "curl finished while the half request held the server"; fi
    # The half request is completed: answered; then curl at last.
    printf '\r\n' >&"$HALF_FD"
    run -0 timeout 5 cat <&"$HALF_FD"
    assert_line --index -1 "Hello there."
    exec {HALF_FD}>&-
    wait_for_exit "$CURL_PID"
    assert_equal "$LAB_STATUS" 0
    run -0 cat "$CURL_OUT"
    assert_line --index 0 "Hello there."
    echo "# 08-server: curl answered after $(sed -n 's/^time_total //p' "$CURL_OUT") s, once the two ahead of it were done" >&3
}

# hint: Read at most 8192 bytes of request (REQUEST_LIMIT). Full and still no
#   blank line: answer "HTTP/1.1 431 Request Header Fields Too Large" with
#   Connection: close and a Content-Length that counts your body, then
#   shutdown(SHUT_WR) and read what is left before you close. A request of
#   exactly 8192 bytes that ends in its blank line still fits.
@test "a request of exactly 8 KiB is answered; one byte more gets 431 and the connection closed" {
    start_server
    request_of_size 8192 "$BATS_TEST_TMPDIR/fits"
    timeout 5 nc -N 127.0.0.1 "$PORT" <"$BATS_TEST_TMPDIR/fits" >"$BATS_TEST_TMPDIR/fits.out"
    run -0 head -n 1 "$BATS_TEST_TMPDIR/fits.out"
    assert_output $'HTTP/1.1 200 OK\r'

    request_of_size 8193 "$BATS_TEST_TMPDIR/over"
    timeout 5 nc -N 127.0.0.1 "$PORT" <"$BATS_TEST_TMPDIR/over" >"$BATS_TEST_TMPDIR/over.out"
    split_response "$BATS_TEST_TMPDIR/over.out"
    run -0 cat "$BATS_TEST_TMPDIR/over.out.head"
    assert_line --index 0 $'HTTP/1.1 431 Request Header Fields Too Large\r'
    assert_line $'Connection: close\r'
    assert_line "Content-Length: $(wc -c <"$BATS_TEST_TMPDIR/over.out.body")"$'\r'
    # nc ends at the server's FIN, before the server has drained and closed.
    C=$(accepted_fd)
    wait_for_lines 2 "^close\\($C\\) = 0\$"
    read_lab_output
    assert_line --regexp "^$(data_received "$C" '"GET / HTTP/1\.1\\r\\nX-Fill: a+"(\.\.\.)?' '[0-9]+') = [0-9]+( .*)?\$"
    assert_line --regexp "^shutdown\\($C, SHUT_WR\\) = 0( .*)?\$"
    assert_equal "$(count_lines "^close\\($C\\) = 0\$")" 2
}

# hint: After the 431, do not close at once: with the client's bytes unread
#   in your receive buffer, close() sends a reset (RST) that can destroy your
#   answer. shutdown(fd, SHUT_WR) (your FIN), then recv() and throw away
#   until recv() returns 0, then close(). See shutdown(2); RFC 9112, 9.6.
@test "a client that sends 70 KB gets the whole 431 answer and a clean EOF, not a reset" {
    start_server
    # Unread bytes at close() make the kernel reset the connection; the
    # server drains them first, so this client's recv() ends with EOF.
    run -0 timeout 5 "$PYTHON3" -c '
import socket, sys
client = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
client.sendall(b"GET / HTTP/1.1\r\nX-Fill: " + b"a" * 70000)
client.shutdown(socket.SHUT_WR)
answer = b""
try:
    while chunk := client.recv(65536):
        answer += chunk
    print("EOF")
except ConnectionResetError:
    print("RESET")
print(answer.split(b"\r\n")[0].decode())
' "$PORT"
    assert_line --index 0 "EOF"
    assert_line --index 1 "HTTP/1.1 431 Request Header Fields Too Large"
    C=$(accepted_fd)
    read_lab_output
    assert_line --regexp "^$(data_received "$C" '""' '[0-9]+') = 0( .*)?\$"
}

# hint: A misbehaving client must cost one connection, never the server: on a
#   failed recv() or send() (ECONNRESET, EPIPE) narrate it with
#   narrate_failure(), close that client's socket and accept the next; ignore
#   SIGPIPE; close every accepted socket whatever happened (one fd per client).
@test "100 hostile clients, then one of each kind behind a silent one, leave the fd count unchanged and the server alive and serving" {
    start_server -b 128
    local fds_before
    fds_before=$(ls "/proc/$LAB_PID/fd")
    # Five kinds, one after another, twenty of each: reset at once (RST),
    # garbage then leave, 70 KB with no blank line then leave, connect and
    # leave, and half-close (send a request, shut down sending, read the
    # answer). It prints how many half-closers got "Hello there.".
    run -0 timeout 20 "$PYTHON3" -c '
import random, socket, struct, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(8)
answered = 0
for i in range(count):
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    kind = i % 5
    if kind == 0:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif kind == 1:
        client.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000))))
    elif kind == 2:
        client.sendall(b"A" * 70000)
    elif kind == 4:
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        client.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
        answered += answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nHello there.\n")
    client.close()
print(answered)
' "$PORT" 100
    assert_output 20
    # Then a silent client holds the server in recv() while one of each
    # kind (random bytes, 1 MiB, RST, request+FIN+RST, bare half-close)
    # queues behind it; it leaves, and each one's bytes, FIN and RST are in
    # before the server reads them.
    hold_connection 127.0.0.1 "$PORT"
    local silent=$PEER_PID
    wait_for_lines 101 "^accept\\($L\\) = [0-9]+  peer "
    assert_blocked_in recvfrom recv read
    start_hostile_clients 127.0.0.1 "$PORT"
    wait_for_hostile_clients
    # All five queued, and the two resets have landed: those are gone.
    poll_until "$WAIT_SECONDS" queued_and_connected "$PORT" 5 4 ||
        fail "queue $(accept_queue "$PORT"), $(connected_on "$PORT") connected"
    end_peer "$silent"
    wait_for_exit "$PEER_PID"
    assert_equal "$LAB_STATUS" 0
    run -0 cat "$HOSTILE_OUT"
    assert_line 'half-close: sent 0 bytes, received 0 "", then EOF'
    C=$(accepted_fd)
    assert_equal "$(count_lines "^$(data_sent "$C" '.*' '[0-9]+') = -1 EPIPE( .*)?\$")" 1
    # Alive and serving: the next client is answered ...
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
    # ... after all 106 were accepted, and each connection was closed.
    assert_equal "$(count_lines "^accept\\($L\\) = [0-9]+  peer ")" 107
    wait_for_lines 107 "^close\\($C\\) = 0\$"
    # The resets were narrated, not fatal.
    (($(count_lines '= -1 ECONNRESET( |$)') >= 20)) ||
        fail "fewer than 20 resets narrated"
    # Back in accept() with the same descriptors as before: no leak.
    assert_blocked_in accept accept4
    assert_equal "$(ls "/proc/$LAB_PID/fd")" "$fds_before"
}

# hint: When send() fails (here ECONNRESET: the client reset), print the failed
#   call with narrate_failure() and go on to close this client and accept the
#   next; die() only for errors that concern the server itself.
@test "a client that resets before it is served: send() fails with ECONNRESET, narrated, and the server goes on" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_accepted
    wait_for_line "$(data_waiting "$C")"
    assert_blocked_in recvfrom recv read
    # While the server waits on the silent client, another connects, sends
    # a whole request and resets (SO_LINGER 0), still in the accept queue.
    run -0 timeout 5 "$PYTHON3" -c '
import socket, struct, sys
client = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
client.sendall(b"GET / HTTP/1.1\r\n\r\n")
client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
client.close()
' "$PORT"
    close_client
    # The server reads that request (the bytes came before the reset), and
    # its answer meets the reset.
    wait_for_line "^$(data_sent "$C" '.*' '[0-9]+') = -1 ECONNRESET( .*)?\$"
    read_lab_output
    assert_line --regexp "^$(data_received "$C" '"GET / HTTP/1\.1\\r\\n\\r\\n"' '[0-9]+') = 18( .*)?\$"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
}

# hint: Ignore SIGPIPE with signal(SIGPIPE, SIG_IGN) (or sigaction()), and
#   narrate it: a client that vanishes then makes send() fail with EPIPE
#   instead of killing the server. See signal(7); grep SigIgn /proc/PID/status.
@test "SIGPIPE is ignored on purpose: the kernel shows it in the process's ignored set" {
    local ignored pipe
    pipe=$(kill -l PIPE)
    # An ignored signal stays ignored across exec: if this shell was started
    # with SIGPIPE ignored, every program it starts inherits that.
    ignored=$(awk '/^SigIgn:/ { print $2 }' "/proc/$BASHPID/status")
    if (((16#$ignored >> (pipe - 1)) & 1)); then
        skip "the test shell already ignores SIGPIPE: the lab would inherit it"
    fi
    start_server
    ignored=$(awk '/^SigIgn:/ { print $2 }' "/proc/$LAB_PID/status")
    (((16#$ignored >> (pipe - 1)) & 1)) || fail "SIGPIPE is not in SigIgn ($ignored)"
    read_lab_output
    assert_line --regexp '^(signal|sigaction)\(SIGPIPE, .*SIG_IGN'
}

# hint: catch_stop_signals() installs the handler without SA_RESTART, so a
#   signal makes accept() return -1 with errno EINTR: narrate it, leave the
#   loop (stop_requested is set), close the listening socket and exit 0.
@test "SIGTERM while it waits in accept(): EINTR, close(3), exit 0" {
    start_server
    assert_blocked_in accept accept4
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^accept\\($L\\) = -1 EINTR( |\$)" "^close\\($L\\) = 0\$"
}

# hint: A recv() that a signal interrupts returns -1 with EINTR: narrate it,
#   give that client no answer, close its socket, then (stop_requested)
#   close the listening socket and exit 0.
@test "SIGINT while it waits in recv() on a client: EINTR, both sockets closed, exit 0" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_accepted
    wait_for_line "$(data_waiting "$C")"
    assert_blocked_in recvfrom recv read
    stop_lab INT
    close_client
    assert_equal "$LAB_STATUS" 0
    assert_in_order "^(recv|read)\\($C, .*\\) = -1 EINTR( |\$)" "^close\\($C\\) = 0\$" "^close\\($L\\) = 0\$"
}

# hint: -n COUNT: count the clients you accepted and leave the loop after
#   COUNT of them; then close the listening socket and return 0.
@test "-n 2: it serves two clients, then closes its socket and exits 0" {
    start_server -n 2
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    C=$(accepted_fd)
    assert_equal "$(count_lines "^accept\\($L\\) = $C  peer ")" 2
    # The listening socket is closed after the second client's.
    local second_close
    second_close=$(grep -nE "^close\\($C\\) = 0\$" "$LAB_OUT" | sed -n '2s/:.*//p')
    (($(grep -nE "^close\\($L\\) = 0\$" "$LAB_OUT" | cut -d: -f1) > ${second_close:-999999})) ||
        fail "$(show_lab_output)no close($L) after the second client's close($C)"
}

# hint: Pass -b's value to listen() as the backlog, and print it in the
#   listen line. See listen(2).
@test "-b 64 sets the backlog: listen(3, 64) and the kernel's listener says 64" {
    start_server -b 64
    read_lab_output
    assert_line "listen($L, 64) = 0"
    # For a listening socket ss shows the backlog as Send-Q.
    run -0 ss -Hltn "$(local_end "$PORT")"
    assert_output --regexp "^LISTEN +0 +64 +127\\.0\\.0\\.1:$PORT "
}

# hint: setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, ...) set to 1 BEFORE bind():
#   the port of the last connection is in TIME_WAIT for 60 s, and without
#   the option bind() fails with EADDRINUSE. See socket(7).
@test "SO_REUSEADDR: it restarts on its port at once, while the last connection is in TIME_WAIT" {
    start_server -n 1
    # A client that closes only after the server has: the server's side is
    # the one that waits out TIME_WAIT, on the server's own port. (curl
    # may hang up first, as soon as it has Content-Length bytes.)
    open_client tcp "$PORT"    # connects, and says nothing yet
    printf 'GET / HTTP/1.1\r\n\r\n' >&"$CLIENT_FD"
    run -0 timeout 5 cat <&"$CLIENT_FD"
    close_client
    wait_for_exit
    # The client's FIN turns the server's side from FIN-WAIT-2 into
    # TIME_WAIT a moment after close_client: await it.
    poll_until 5 in_time_wait "$PORT" || fail "no TIME_WAIT on port $PORT: $(ss -Htan "$(local_end "$PORT")")"
    # ... and a new server binds that port all the same.
    start_lab 08-server -p "$PORT" -n 1
    wait_for_line '^accept\([0-9]+\) \.\.\.$'
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
}

# hint: Make the socket of the address's own family (AF_INET6 for ::1, from
#   parse_address()), and pass bind() the length parse_address() returned.
@test "IPv6: -a ::1 serves curl on [::1]" {
    skip_unless_ipv6
    start_server -a ::1
    read_lab_output
    assert_line --regexp "$(socket_line AF_INET6 SOCK_STREAM)"
    assert_line "getsockname($L) = [::1]:$PORT"
    run -0 timeout 5 curl -sS -g "http://[::1]:$PORT/"
    assert_output "Hello there."
    wait_for_line "^accept\\($L\\) = [0-9]+  peer \\[::1\\]:[0-9]+\$"
}

# hint: Parse every option strictly (parse_port(), parse_number() with the
#   right minimum, parse_address()): on a bad value print a message naming
#   it and the usage on stderr, and exit 2 (usage_error()).
@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 08-server
    local option value
    for option in b n; do
        for value in 0 -3 ten 5x ''; do
            run --separate-stderr run_lab 08-server "-$option" "$value"
            assert_usage_error "$value"
        done
        run --separate-stderr run_lab 08-server "-$option"
        assert_usage_error "-$option"
    done
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 08-server server
}
