#!/usr/bin/env bats
# 08-server: an iterative HTTP/1.1 server, one client at a time.

bats_require_minimum_version 1.5.0
load helpers
load helpers-poll

# Start ./server with ARGS on a kernel-chosen port; wait until it is asleep
# in accept(), ready for clients. Sets PORT.
start_server() {
    start_lab 08-server -p 0 "$@"
    PORT=$(wait_for_port)
    wait_for_line '^listen\(3, [0-9]+\) = 0$'
    wait_for_line '^accept\(3\) \.\.\.$'
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

@test "Python's http.client reads the response as HTTP/1.1 with a length and a close" {
    start_server
    run -0 timeout 5 python3 -c '
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

@test "one client's visit is narrated call by call, in order, with the bytes escaped" {
    start_server
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    # Served, closed, and back in accept(): the second "accept(3) ...".
    wait_for_lines 2 '^accept\(3\) \.\.\.$'
    read_lab_output
    # (SIG_IGN instead of SIG_DFL if whoever started it ignored SIGPIPE already)
    assert_line --index 0 --regexp '^signal\(SIGPIPE, SIG_IGN\) = SIG_(DFL|IGN)  a vanished client means EPIPE, not death$'
    assert_line --index 1 "socket(AF_INET, SOCK_STREAM, 0) = 3"
    assert_line --index 2 "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"
    assert_line --index 3 "bind(3, 127.0.0.1:0) = 0"
    assert_line --index 4 "getsockname(3) = 127.0.0.1:$PORT"
    assert_line --index 5 "listen(3, 10) = 0"
    assert_line --index 6 "accept(3) ..."
    assert_line --index 7 --regexp '^accept\(3\) = 4  peer 127\.0\.0\.1:[0-9]+$'
    assert_line --index 8 "recv(4, ..."
    assert_line --index 9 --regexp "^recv\\(4, \"GET / HTTP/1\\.1\\\\r\\\\nHost: 127\\.0\\.0\\.1:$PORT\\\\r\\\\n.*\\\\r\\\\n\\\\r\\\\n\", 8192, 0\\) = [0-9]+  a blank line: the request is complete$"
    assert_line --index 10 'send(4, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello there.\n", 97, 0) ...'
    assert_line --index 11 'send(4, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello there.\n", 97, 0) = 97'
    assert_line --index 12 "close(4) = 0"
    assert_line --index 13 "accept(3) ..."
}

@test "the narration is what the kernel saw: the same calls as strace, in the same order" {
    # strace follows the lab; its own stdout (the narration) goes to the peer log.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 start_peer "$BATS_TEST_TMPDIR/narration" \
        strace -o "$BATS_TEST_TMPDIR/trace" \
        -e trace=socket,setsockopt,bind,getsockname,listen,accept,accept4,recvfrom,sendto,shutdown,close \
        "$(lab_binary 08-server)" -p 0 -n 2
    local strace_pid=$PEER_PID port
    port=$(wait_for_port "$BATS_TEST_TMPDIR/narration")
    wait_for_line '^listen\(3, [0-9]+\) = 0$' "$BATS_TEST_TMPDIR/narration"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$port/"
    printf 'GET / HTTP/1.1\r\nX-Fill: %s\r\n' "$(head -c 9000 /dev/zero | tr '\0' a)" |
        timeout 5 nc -N 127.0.0.1 "$port" >/dev/null
    wait_for_exit "$strace_pid"
    assert_equal "$LAB_STATUS" 0
    # Call names with their results, from the first socket() on (a sanitized
    # build makes calls of its own before main). strace says recvfrom and
    # sendto for recv and send, and accept4 where the C library uses it.
    sed -nE '/^socket\(/,$ s/^([a-z0-9]+)\(.*\) += (-?[0-9]+).*$/\1 \2/p' "$BATS_TEST_TMPDIR/trace" |
        sed -E 's/^recvfrom /recv /; s/^sendto /send /; s/^accept4 /accept /' >"$BATS_TEST_TMPDIR/kernel"
    # (The narration prints the address getsockname() returned; strace, 0.)
    sed -E 's/^(getsockname\([0-9]+\)) = .*$/\1 = 0/' "$BATS_TEST_TMPDIR/narration" |
        sed -nE 's/^([a-z]+)\(.*\) = (-?[0-9]+)( .*)?$/\1 \2/p' >"$BATS_TEST_TMPDIR/printed"
    run -0 diff "$BATS_TEST_TMPDIR/kernel" "$BATS_TEST_TMPDIR/printed"
    # and both clients' visits are in it: two accepts, the 431's shutdown
    run -0 grep -c '^accept ' "$BATS_TEST_TMPDIR/printed"
    assert_output 2
    run -0 grep -c '^shutdown 0$' "$BATS_TEST_TMPDIR/printed"
    assert_output 1
}

@test "a request with bare LF line ends is answered too (lenient reading)" {
    start_server
    run -0 timeout 5 nc -N 127.0.0.1 "$PORT" < <(printf 'GET / HTTP/1.0\nHost: example\n\n')
    assert_line --index 0 $'HTTP/1.1 200 OK\r'
    assert_line --index -1 "Hello there."
}

@test "a request that arrives in pieces is read over several recv() calls, until its blank line" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_line '^recv\(4, \.\.\.$'
    # All but the last byte: the blank line is split, "\r\n\r" now, "\n"
    # later. (cat writes the file in one write(); bash's printf would write
    # a line at a time.)
    printf 'GET / HTTP/1.1\r\nHost: example\r\n\r' >"$BATS_TEST_TMPDIR/first-part"
    cat "$BATS_TEST_TMPDIR/first-part" >&"$CLIENT_FD"
    wait_for_line '^recv\(4, "GET / HTTP/1\.1\\r\\nHost: example\\r\\n\\r", 8192, 0\) = 32  no blank line yet: read on$'
    # No answer yet: it is asleep in a second recv().
    wait_for_lines 2 '^recv\(4, \.\.\.$'
    assert_blocked_in recvfrom recv read
    read_lab_output
    refute_line --partial "send("
    printf '\n' >&"$CLIENT_FD"
    run -0 timeout 5 cat <&"$CLIENT_FD"
    close_client
    assert_line --index 0 $'HTTP/1.1 200 OK\r'
    assert_line --index -1 "Hello there."
    read_lab_output
    assert_line 'recv(4, "\n", 8160, 0) = 1  a blank line: the request is complete'
}

@test "head-of-line blocking: a silent client holds the server in recv() and the next waits in the accept queue" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_line '^recv\(4, \.\.\.$'
    # The server took the silent client as fd 4 and sleeps in recv() on it.
    local silent_port
    silent_port=$(client_port)
    read_lab_output
    assert_line "accept(3) = 4  peer 127.0.0.1:$silent_port"
    assert_blocked_in recvfrom recv read

    # A second client: its connect() succeeds (the kernel completes the
    # handshake and queues it), but nobody accepts it.
    start_peer "$BATS_TEST_TMPDIR/second" timeout 10 curl -sS "http://127.0.0.1:$PORT/"
    local second=$PEER_PID
    poll_until "$WAIT_SECONDS" queue_holds 1 || fail "accept queue holds $(accept_queue_length), not 1"
    assert_blocked_in recvfrom recv read
    assert_equal "$(count_lines '^accept\(3\) = ')" 1
    assert_equal "$(tail -n 1 "$LAB_OUT")" "recv(4, ..."
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
    wait_for_line '^accept\(3\) \.\.\.$'
    assert_equal "$(count_lines '^accept\(3\) = 4  peer ')" 2
    assert_equal "$(accept_queue_length)" 0
}

@test "10-poll's head-of-line scene: a silent client, then a half-sent request, hold curl up until each is done" {
    start_server
    head_of_line_scene "$PORT"
    # The server took the silent one and sleeps in recv() on it; the half
    # request and curl wait in the accept queue, curl without an answer.
    wait_for_line '^recv\(4, \.\.\.$'
    poll_until "$WAIT_SECONDS" queue_holds 2 || fail "accept queue holds $(accept_queue_length), not 2"
    assert_blocked_in recvfrom recv read
    assert_equal "$(count_lines '^accept\(3\) = ')" 1
    if has_exited "$CURL_PID"; then fail "curl finished while the silent client held the server"; fi
    # The silent one leaves: the server reads EOF, closes, takes the half
    # request, and sleeps on that one. curl still waits.
    end_peer "$SILENT_PID"
    wait_for_line '^recv\(4, "GET / HTTP/1\.1\\r\\nHost: half\\r\\n", 8192, 0\) = 28  no blank line yet: read on$'
    wait_for_lines 3 '^recv\(4, \.\.\.$'
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
    wait_for_lines 2 '^close\(4\) = 0$'
    read_lab_output
    assert_line --regexp '^recv\(4, "GET / HTTP/1\.1\\r\\nX-Fill: a+"\.\.\., 8192, 0\) = [0-9]+  8192 bytes and no blank line: too large$'
    assert_line "shutdown(4, SHUT_WR) = 0  FIN: no more from us; now drain the request"
    assert_equal "$(count_lines '^close\(4\) = 0$')" 2
}

@test "a client that sends 70 KB gets the whole 431 answer and a clean EOF, not a reset" {
    start_server
    # Unread bytes at close() make the kernel reset the connection; the
    # server drains them first, so this client's recv() ends with EOF.
    run -0 timeout 5 python3 -c '
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
    read_lab_output
    assert_line 'recv(4, "", 8192, 0) = 0  EOF: the client has finished'
}

@test "100 hostile clients, then one of each kind behind a silent one, leave the fd count unchanged and the server alive and serving" {
    start_server -b 128
    local fds_before
    fds_before=$(ls "/proc/$LAB_PID/fd")
    # Five kinds, one after another, twenty of each: reset at once (RST),
    # garbage then leave, 70 KB with no blank line then leave, connect and
    # leave, and half-close (send a request, shut down sending, read the
    # answer). It prints how many half-closers got "Hello there.".
    run -0 timeout 20 python3 -c '
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
    wait_for_lines 101 '^accept\(3\) = [0-9]+  peer '
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
    assert_equal "$(count_lines '^send\(4, \.\.\., 97, 0\) = -1 EPIPE \(Broken pipe\)$')" 1
    # Alive and serving: the next client is answered ...
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
    # ... after all 106 were accepted, and each connection was closed.
    assert_equal "$(count_lines '^accept\(3\) = [0-9]+  peer ')" 107
    wait_for_lines 107 '^close\(4\) = 0$'
    # The resets were narrated, not fatal.
    (($(count_lines '= -1 ECONNRESET \(Connection reset by peer\)$') >= 20)) ||
        fail "fewer than 20 resets narrated"
    # Back in accept() with the same descriptors as before: no leak.
    assert_blocked_in accept accept4
    assert_equal "$(ls "/proc/$LAB_PID/fd")" "$fds_before"
}

@test "a client that resets before it is served: send() fails with ECONNRESET, narrated, and the server goes on" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_line '^recv\(4, \.\.\.$'
    assert_blocked_in recvfrom recv read
    # While the server waits on the silent client, another connects, sends
    # a whole request and resets (SO_LINGER 0), still in the accept queue.
    run -0 timeout 5 python3 -c '
import socket, struct, sys
client = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
client.sendall(b"GET / HTTP/1.1\r\n\r\n")
client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
client.close()
' "$PORT"
    close_client
    # The server reads that request (the bytes came before the reset), and
    # its answer meets the reset.
    wait_for_line '^send\(4, \.\.\., 97, 0\) = -1 ECONNRESET \(Connection reset by peer\)$'
    read_lab_output
    assert_line 'recv(4, "GET / HTTP/1.1\r\n\r\n", 8192, 0) = 18  a blank line: the request is complete'
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
}

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
    assert_line --index 0 --partial "signal(SIGPIPE, SIG_IGN) = "
}

@test "SIGTERM while it waits in accept(): EINTR, close(3), exit 0" {
    start_server
    assert_blocked_in accept accept4
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --index -2 "accept(3) = -1 EINTR (Interrupted system call)"
    assert_line --index -1 "close(3) = 0"
}

@test "SIGINT while it waits in recv() on a client: EINTR, both sockets closed, exit 0" {
    start_server
    open_client tcp "$PORT"    # connects, and says nothing yet
    wait_for_line '^recv\(4, \.\.\.$'
    assert_blocked_in recvfrom recv read
    stop_lab INT
    close_client
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --index -3 "recv(4, ..., 8192, 0) = -1 EINTR (Interrupted system call)"
    assert_line --index -2 "close(4) = 0"
    assert_line --index -1 "close(3) = 0"
}

@test "-n 2: it serves two clients, then closes its socket and exits 0" {
    start_server -n 2
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_equal "$(count_lines '^accept\(3\) = 4  peer ')" 2
    assert_line --index -2 "close(4) = 0"
    assert_line --index -1 "close(3) = 0"
}

@test "-b 64 sets the backlog: listen(3, 64) and the kernel's listener says 64" {
    start_server -b 64
    read_lab_output
    assert_line "listen(3, 64) = 0"
    # For a listening socket ss shows the backlog as Send-Q.
    run -0 ss -Hltn "$(local_end "$PORT")"
    assert_output --regexp "^LISTEN +0 +64 +127\\.0\\.0\\.1:$PORT "
}

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
    run -0 ss -Htan state time-wait "$(local_end "$PORT")"
    assert_output --partial "127.0.0.1:$PORT"
    # ... and a new server binds that port all the same.
    start_lab 08-server -p "$PORT" -n 1
    wait_for_line '^accept\(3\) \.\.\.$'
    run -0 timeout 5 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
}

@test "IPv6: -a ::1 serves curl on [::1]" {
    skip_unless_ipv6
    start_server -a ::1
    read_lab_output
    assert_line --index 1 "socket(AF_INET6, SOCK_STREAM, 0) = 3"
    assert_line "getsockname(3) = [::1]:$PORT"
    run -0 timeout 5 curl -sS -g "http://[::1]:$PORT/"
    assert_output "Hello there."
    wait_for_line '^accept\(3\) = 4  peer \[::1\]:[0-9]+$'
}

@test "bad usage exits 2 naming the bad value, for every option" {
    assert_rejects_bad_address_and_port 08-server
    run --separate-stderr run_lab 08-server -b 0
    assert_usage_error "backlog '0' is out of range"
    run --separate-stderr run_lab 08-server -b ten
    assert_usage_error "backlog 'ten' is not a number"
    run --separate-stderr run_lab 08-server -b 5x
    assert_usage_error "backlog '5x' is not a number"
    run --separate-stderr run_lab 08-server -n 0
    assert_usage_error "count '0' is out of range"
    run --separate-stderr run_lab 08-server -n -3
    assert_usage_error "count '-3' is out of range"
    run --separate-stderr run_lab 08-server -n ''
    assert_usage_error "count '' is not a number"
    run --separate-stderr run_lab 08-server -b ''
    assert_usage_error "backlog '' is not a number"
    run --separate-stderr run_lab 08-server -n abc
    assert_usage_error "count 'abc' is not a number"
    for option in b n; do
        run --separate-stderr run_lab 08-server "-$option"
        assert_usage_error "option -$option needs a value"
    done
}

@test "-h prints the usage on stdout and exits 0" {
    assert_help 08-server server
}
