#!/usr/bin/env bats
# shellcheck disable=SC2034  # LAB_PID, LAB_OUT, WAIT_SECONDS are read by the helpers
# One representative run of each lab under valgrind (make memcheck):
# no memory errors, no leaked memory of any kind, and no descriptor left
# open at exit beyond stdin, stdout and stderr. Slow (valgrind), so it is not
# part of `make test`; CI runs it.

bats_require_minimum_version 1.5.0
LABS_DIR=${LABS_DIR:-$BATS_TEST_DIRNAME/../../labs}
load ../helpers
WAIT_SECONDS=20     # valgrind starts slowly

# start_checked LAB ARGS...: start the lab under valgrind in the background,
# like start_lab (LAB_PID, LAB_OUT), valgrind's report in VALGRIND_LOG.
start_checked() {
    local lab=$1
    shift
    VALGRIND_LOG="$BATS_TEST_TMPDIR/$lab.valgrind"
    start_peer "$BATS_TEST_TMPDIR/$lab.out" valgrind --leak-check=full \
        --show-leak-kinds=all --errors-for-leak-kinds=all --track-fds=yes \
        --error-exitcode=1 --log-file="$VALGRIND_LOG" "$(lab_binary "$lab")" "$@"
    LAB_PID=$PEER_PID
    LAB_OUT="$BATS_TEST_TMPDIR/$lab.out"
}

# assert_clean: the lab exited 0, and valgrind found no error, no leak, and
# no descriptor open at exit but those it was started with: each open one
# valgrind lists must be "<inherited from parent>" (bats and valgrind hold a
# few of their own), none opened by the lab.
assert_clean() {
    wait_for_exit
    local listed inherited
    listed=$(grep -cE '== Open (file descriptor|[A-Z0-9_]+ socket) [0-9]+' "$VALGRIND_LOG")
    inherited=$(grep -c '<inherited from parent>' "$VALGRIND_LOG")
    if ((LAB_STATUS != 0 || listed != inherited)) ||
        ! grep -q 'ERROR SUMMARY: 0 errors' "$VALGRIND_LOG" ||
        ! grep -q 'FILE DESCRIPTORS: .* open (3 std) at exit' "$VALGRIND_LOG"; then
        show_lab_output "$LAB_OUT" /dev/null
        fail "$(printf 'exit status %s; valgrind says:\n%s' "$LAB_STATUS" "$(cat "$VALGRIND_LOG")")"
    fi
}

@test "01-socket: six sockets made and closed, nothing leaked" {
    start_checked 01-socket
    assert_clean
}

@test "02-bind: bound, held in pause(), SIGTERM" {
    start_checked 02-bind -p 0
    wait_for_line '^pause\(\) \.\.\.$'
    stop_lab TERM
    assert_clean
}

@test "03-listen: a queued client, SIGTERM" {
    start_checked 03-listen -p 0
    PORT=$(wait_for_port)
    wait_for_line '^accept queue: 0 pending'
    hold_connection 127.0.0.1 "$PORT"
    wait_for_line '^accept queue: 1 pending' "$BATS_TEST_TMPDIR/03-listen.out"
    stop_lab TERM
    assert_clean
}

@test "04-accept: two clients greeted, then exit" {
    start_checked 04-accept -p 0 -n 2
    PORT=$(wait_for_port)
    wait_for_line '^accept\([0-9]+\) \.\.\.$'
    run -0 timeout 10 nc -d 127.0.0.1 "$PORT"
    run -0 timeout 10 nc -d 127.0.0.1 "$PORT"
    assert_clean
}

@test "05-connect: connect, send, half-close, read to EOF" {
    start_lab 06-send-recv -p 0
    PORT=$(wait_for_port)
    wait_for_line '^accept\('
    start_checked 05-connect -p "$PORT" -m 'checked'
    assert_clean
    run -0 grep -cE '^recv\([0-9]+, "checked", 1024, 0\) = 7$' "$LAB_OUT"
}

@test "06-send-recv: one client echoed to EOF" {
    start_checked 06-send-recv -p 0
    PORT=$(wait_for_port)
    wait_for_line '^accept\('
    run -0 timeout 10 nc -N 127.0.0.1 "$PORT" <<<"echo me"
    assert_output "echo me"
    assert_clean
}

@test "07-udp: two datagrams echoed, then exit" {
    start_checked 07-udp -p 0 -n 2
    PORT=$(wait_for_port)
    wait_for_line '^recvfrom\([0-9]+, \.\.\.$'
    datagram_to 127.0.0.1 "$PORT" one
    wait_for_line '^sendto\([0-9]+, "one"'
    datagram_to 127.0.0.1 "$PORT" two
    assert_clean
}

@test "08-server: one HTTP request answered, then exit" {
    start_checked 08-server -p 0 -n 1
    PORT=$(wait_for_port)
    wait_for_line '^accept\([0-9]+\) \.\.\.$'
    run -0 timeout 10 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
    assert_clean
}

@test "11-unix: a stream client echoed, a datagram answered, a descriptor passed" {
    local sock="$BATS_TEST_TMPDIR/lab.sock"
    start_checked 11-unix -s "$sock" -n 1
    wait_for_line '^accept\([0-9]+\) \.\.\.$'
    run -0 timeout 10 nc -NU "$sock" <<<"echo me"
    assert_output "echo me"
    assert_clean
    start_checked 11-unix -s "$sock" -t dgram -n 1
    wait_for_line '^recvfrom\([0-9]+, \.\.\.$'
    run -0 timeout 10 nc -uU -W 1 "$sock" <<<"datagram"
    assert_output "datagram"
    assert_clean
    # The parent and the forked child both run under valgrind, into one log.
    printf 'passed\n' >"$BATS_TEST_TMPDIR/file"
    start_checked 11-unix -P "$BATS_TEST_TMPDIR/file"
    assert_clean
    run -0 grep -cE '^\[pid [0-9]+\] read\([0-9]+, "passed\\n", [0-9]+\) = 7$' "$LAB_OUT"
}

@test "09-nonblock: one client echoed through EAGAIN and poll(), to EOF" {
    start_checked 09-nonblock -p 0
    PORT=$(wait_for_port)
    wait_for_line '^poll\('
    run -0 timeout 10 nc -N 127.0.0.1 "$PORT" <<<"echo me"
    assert_output "echo me"
    assert_clean
}

@test "09-nonblock: -c, a non-blocking connect, SO_ERROR 0, close" {
    start_lab 09-nonblock -p 0
    PORT=$(wait_for_port)
    wait_for_line '^poll\('
    start_checked 09-nonblock -c -p "$PORT"
    assert_clean
    run -0 grep -cE '^getsockopt\([0-9]+, SOL_SOCKET, SO_ERROR, \[0\], \[4\]\) = 0$' "$LAB_OUT"
}

@test "10-poll: a silent client, a 200 and a 431 served around it, then exit (-n 3)" {
    start_checked 10-poll -p 0 -n 3
    PORT=$(wait_for_port)
    wait_for_line '^poll\('
    exec {silent}<>"/dev/tcp/127.0.0.1/$PORT"
    run -0 timeout 10 curl -sS "http://127.0.0.1:$PORT/"
    assert_output "Hello there."
    head -c 9000 /dev/zero | tr '\0' a | timeout 10 nc -N 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/431"
    run -0 head -n 1 "$BATS_TEST_TMPDIR/431"
    assert_output $'HTTP/1.1 431 Request Header Fields Too Large\r'
    exec {silent}>&-
    assert_clean
}
