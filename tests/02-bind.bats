#!/usr/bin/env bats
# 02-bind: bind() gives a socket its address, at once or not at all.

bats_require_minimum_version 1.5.0
load helpers

# Start ./bind with ARGS and wait until it holds its address in pause().
# Sets PORT, and F: the socket's descriptor, from the lab's socket line.
start_bound() {
    start_lab 02-bind "$@"
    PORT=$(wait_for_port)
    wait_for_line '^pause\(\) \.\.\.$'
    F=$(narrated_fd socket)
}

# hint: Print "bind(FD, ADDR:PORT) = 0" with the address you ASKED for (port
#   0), then ask getsockname() what the kernel gave and print
#   "getsockname(FD) = ADDR:PORT" with the real port. See bind(2),
#   getsockname(2).
@test "-p 0: the kernel picks a free port, getsockname reports it, and fd 3 is the socket" {
    start_bound -p 0
    assert_in_order "$(socket_line AF_INET SOCK_STREAM)" \
        "^bind\\($F, 127\\.0\\.0\\.1:0\\) = 0\$" \
        "^getsockname\\($F\\) = 127\\.0\\.0\\.1:$PORT\$"
    ((PORT >= 1024)) || fail "kernel-chosen port $PORT is not an ephemeral port"
    run -0 readlink "/proc/$LAB_PID/fd/$F"
    assert_output --regexp '^socket:\[[0-9]+\]$'
}

# hint: Hold the address: print "pause() ..." and call pause(), which sleeps
#   until a signal. It then returns -1 with EINTR: narrate_failure() it, and
#   once stop_requested is set close the socket and exit 0. See pause(2).
@test "it holds the address asleep in pause() until SIGTERM, then prints EINTR and exits 0" {
    start_bound -p 0
    assert_blocked_in pause rt_sigsuspend
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    assert_in_order '^pause\(\) = -1 EINTR \(Interrupted system call\)$' "^close\\($F\\) = 0\$"
}

# hint: SIGINT is caught like SIGTERM (catch_stop_signals()): pause() returns
#   -1 EINTR, then close and exit 0.
@test "SIGINT (Ctrl-C) ends it the same way: EINTR, close, exit 0" {
    start_bound -p 0
    assert_blocked_in pause rt_sigsuspend
    stop_lab INT
    assert_equal "$LAB_STATUS" 0
    assert_in_order '^pause\(\) = -1 EINTR \(Interrupted system call\)$' "^close\\($F\\) = 0\$"
}

# hint: Check bind()'s result: on -1, die("bind(...)") prints the call and the
#   errno symbol (EADDRINUSE: another socket holds the port) and exits 1.
#   See bind(2), ERRORS.
@test "a second bind to a port that is held fails with EADDRINUSE and exit 1" {
    start_bound -p 0
    run --separate-stderr run_lab 02-bind -p "$PORT"
    assert_call_failed "bind(3, 127.0.0.1:$PORT)" EADDRINUSE
}

# hint: Only bind(): no listen(). A bound socket that does not listen makes
#   the kernel answer a client's SYN with a reset.
@test "nc is refused: a bound socket is not listening" {
    start_bound -p 0
    run -1 timeout 5 nc -vz 127.0.0.1 "$PORT"
    assert_output --partial "refused"
    # the holder is untouched: still asleep in pause()
    assert_blocked_in pause rt_sigsuspend
}

# hint: bind() refuses an address that is not one of this host's with
#   EADDRNOTAVAIL: report it with die() (exit 1).
@test "an address that is not this host's gets EADDRNOTAVAIL and exit 1" {
    run --separate-stderr run_lab 02-bind -a 192.0.2.1 -p 0
    assert_call_failed "bind(3, 192.0.2.1:0)" EADDRNOTAVAIL
}

# hint: Ports below net.ipv4.ip_unprivileged_port_start need privilege: bind()
#   fails with EACCES. Report it with die() (exit 1). See ip(7).
@test "port 80 as an unprivileged user gets EACCES and exit 1" {
    local first_free
    first_free=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
    ((first_free > 80)) || skip "net.ipv4.ip_unprivileged_port_start is $first_free: port 80 needs no privilege here"
    if [[ $(id -u) == 0 ]]; then
        # uid 65534 may not reach this checkout: run a copy from a folder it can read.
        local folder
        folder=$(mktemp -d /tmp/socket-labs-bind.XXXXXX)
        chmod 755 "$folder"
        cp "$(lab_binary 02-bind)" "$folder/bind"
        run --separate-stderr run_as_lab 02-bind setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$folder/bind" -p 80
        rm -rf "$folder"
    else
        run --separate-stderr run_lab 02-bind -p 80
    fi
    assert_call_failed "bind(3, 127.0.0.1:80)" EACCES
}

# hint: -r: setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) with on =
#   1, BEFORE bind(), and print "setsockopt(FD, SOL_SOCKET, SO_REUSEADDR,
#   [1], 4) = 0". Without -r, do not set it. See socket(7).
@test "a port in TIME_WAIT refuses a plain bind, and -r (SO_REUSEADDR) gets past it" {
    # nc listens on a kernel-chosen port and, with -N and nothing to send,
    # closes first once a client connects: the side that closes first keeps
    # the connection in TIME_WAIT, on the server's own port.
    start_peer "$BATS_TEST_TMPDIR/nc-server" nc -N -lvn 127.0.0.1 0
    wait_for_line '^Listening on 127\.0\.0\.1 [0-9]+$' "$BATS_TEST_TMPDIR/nc-server"
    local port
    port=$(sed -nE 's/^Listening on 127\.0\.0\.1 ([0-9]+)$/\1/p' "$BATS_TEST_TMPDIR/nc-server")
    run -0 timeout 5 nc -d 127.0.0.1 "$port"
    wait_for_exit "$PEER_PID"
    # The client's FIN may still be on its way (FIN-WAIT-2 for a moment).
    poll_until "$WAIT_SECONDS" in_time_wait "$port" ||
        fail "port $port never reached TIME_WAIT: $(ss -Htan "$(local_end "$port")")"

    run --separate-stderr run_lab 02-bind -p "$port"
    assert_call_failed "bind(3, 127.0.0.1:$port)" EADDRINUSE

    start_bound -r -p "$port"
    assert_in_order "^setsockopt\\($F, SOL_SOCKET, SO_REUSEADDR, \\[1\\], 4\\) = 0\$" \
        "^bind\\($F, 127\\.0\\.0\\.1:$port\\) = 0\$" "^getsockname\\($F\\) = 127\\.0\\.0\\.1:$port\$"
}

# hint: The socket's family must match the address: AF_INET6 for ::1 (look at
#   address.ss_family), and bind() takes the length parse_address() returned.
@test "IPv6: -a ::1 binds a AF_INET6 socket and prints [::1]:PORT" {
    skip_unless_ipv6
    start_bound -a ::1 -p 0
    read_lab_output
    assert_line --regexp "$(socket_line AF_INET6 SOCK_STREAM)"
    assert_line "getsockname($F) = [::1]:$PORT"
    run --separate-stderr run_lab 02-bind -a ::1 -p "$PORT"
    assert_call_failed "bind(3, [::1]:$PORT)" EADDRINUSE
}

# hint: -t dgram: make the socket SOCK_DGRAM (UDP); bind() works the same.
@test "UDP: -t dgram binds a datagram socket the kernel lists, with its own port space" {
    # A TCP socket holds a port the kernel picked ...
    start_bound -p 0
    local tcp_pid=$LAB_PID
    # ... and a UDP socket binds the same number: TCP and UDP ports are
    # separate spaces. (This order, not UDP first: tests running alongside
    # hold hundreds of TCP ports, in TIME_WAIT above all, and hardly any
    # UDP ones, so a UDP port the kernel picked may be busy in TCP.)
    start_bound -t dgram -p "$PORT"
    read_lab_output
    assert_line --regexp "$(socket_line AF_INET SOCK_DGRAM)"
    assert_line "getsockname($F) = 127.0.0.1:$PORT"
    # The kernel's table of UDP sockets has it, owned by this process.
    run -0 ss -Huanp "$(local_end "$PORT")"
    assert_output --partial "127.0.0.1:$PORT"
    assert_output --partial "pid=$LAB_PID,fd=$F)"
    # Another UDP socket cannot have the port.
    run --separate-stderr run_lab 02-bind -t dgram -p "$PORT"
    assert_call_failed "bind(3, 127.0.0.1:$PORT)" EADDRINUSE
    # Both hold their port, asleep.
    assert_blocked_in -p "$tcp_pid" pause rt_sigsuspend
    assert_blocked_in pause rt_sigsuspend
}

# hint: Parse -a with parse_address() and -p with parse_port(); -t takes
#   stream or dgram only. A bad value: a message naming it and the usage on
#   stderr, exit 2 (usage_error()).
@test "bad usage exits 2 naming the bad value" {
    assert_rejects_bad_address_and_port 02-bind
    run --separate-stderr run_lab 02-bind -t raw
    assert_usage_error raw
    run --separate-stderr run_lab 02-bind -t
    assert_usage_error -t
    run --separate-stderr run_lab 02-bind -t ''
    assert_usage_error ''
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 02-bind bind
}

# hint: With SO_REUSEADDR set on both and neither listening, Linux lets two
#   sockets bind one port: set the option (with -r) before bind().
@test "two sockets that both set -r may both bind one port while neither listens" {
    start_bound -r -p 0
    local first=$LAB_PID
    start_bound -r -p "$PORT"
    assert_blocked_in -p "$first" pause rt_sigsuspend
    assert_blocked_in pause rt_sigsuspend
    read_lab_output
    assert_line "getsockname($F) = 127.0.0.1:$PORT"
}
