#!/usr/bin/env bats
# 01-socket: socket() returns a file descriptor, the lowest free one.

bats_require_minimum_version 1.5.0
load helpers

# The (domain, type, fd) triples in narration or strace output, one a line:
# "socket(AF_INET, SOCK_STREAM, 0) = 5" and strace's
# "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 5" both give "AF_INET SOCK_STREAM 5".
socket_calls() {
    sed -nE 's/^(.*: )?socket\((AF_[A-Z0-9]+), (SOCK_[A-Z]+)[^)]*\) += ([0-9]+)$/\2 \3 \4/p' "$1"
}

# hint: For each domain (AF_UNIX, AF_INET, AF_INET6) and type (SOCK_STREAM,
#   SOCK_DGRAM) call socket(domain, type, 0) and print
#   "socket(AF_INET, SOCK_STREAM, 0) = FD" with the constants' NAMES and the
#   fd the kernel returned. See socket(2).
@test "with no options it makes one socket per domain and type, six in all" {
    skip_unless_ipv6    # with no -d it makes AF_INET6 sockets too
    run -0 run_lab 01-socket
    for domain in AF_UNIX AF_INET AF_INET6; do
        for type in SOCK_STREAM SOCK_DGRAM; do
            assert_line --regexp "^socket\\($domain, $type, 0\\) = [0-9]+$"
        done
    done
}

# hint: Print the value socket() returned, after the call, and only for calls
#   you made: strace -e trace=socket,close ./socket shows what the kernel saw.
@test "the descriptors it prints are the ones the kernel returned, as strace sees them" {
    skip_unless_ipv6    # with no -d it makes AF_INET6 sockets too
    strace_lab socket 01-socket
    socket_calls "$BATS_TEST_TMPDIR/trace" >"$BATS_TEST_TMPDIR/kernel"
    socket_calls "$BATS_TEST_TMPDIR/narration" >"$BATS_TEST_TMPDIR/printed"
    run -0 diff "$BATS_TEST_TMPDIR/kernel" "$BATS_TEST_TMPDIR/printed"
    # six sockets, and a seventh that reuses the freed descriptor
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/kernel")" 7
}

# hint: fstat() the fd and test S_ISSOCK(st_mode); print "  fstat(FD) = 0
#   st_mode is S_IFSOCK: a socket". Then readlink("/proc/self/fd/FD") and
#   print the link it returns ("socket:[INODE]"); readlink does not add a
#   '\0': add it yourself. See fstat(2), inode(7), readlink(2), proc(5).
@test "each descriptor is a socket: fstat says S_IFSOCK and /proc/self/fd names a distinct socket inode" {
    skip_unless_ipv6    # with no -d it makes AF_INET6 sockets too
    strace_lab readlink,readlinkat 01-socket
    run -0 grep -c 'st_mode is S_IFSOCK' "$BATS_TEST_TMPDIR/narration"
    assert_output 6
    # The links it prints are the kernel's answers to its own readlink calls.
    run -0 grep -oE '"/proc/self/fd/[0-9]+", "socket:\[[0-9]+\]"' "$BATS_TEST_TMPDIR/trace"
    local kernel_links=$output
    run -0 grep -oE '"/proc/self/fd/[0-9]+"\) = "socket:\[[0-9]+\]"' "$BATS_TEST_TMPDIR/narration"
    assert_equal "${output//\") = \"/\", \"}" "$kernel_links"
    # six sockets, six different kernel objects
    assert_equal "$(grep -oE 'socket:\[[0-9]+\]' <<<"$kernel_links" | sort -u | wc -l)" 6
}

# hint: close() the first socket and print "close(3) = 0"; the next socket()
#   then returns 3 again: the kernel always gives the lowest free number.
#   See close(2), open(2) ("lowest-numbered file descriptor").
@test "closing a descriptor frees its number and the next socket() gets it back" {
    skip_unless_ipv6    # with no -d it makes AF_INET6 sockets too
    run -0 run_lab 01-socket
    # The first close is of fd 3, and the socket() right after it gets 3.
    local close_line
    close_line=$(grep -nE '^close\([0-9]+\) = 0$' <<<"$output" | head -n 1)
    assert_equal "${close_line#*:}" "close(3) = 0"
    run -0 sed -n "$((${close_line%%:*} + 1)),\$p" <<<"$output"
    assert_equal "$(grep -m 1 -E '^socket\(' <<<"$output")" \
        "$(grep -m 1 -E '^socket\(AF_[A-Z0-9]+, SOCK_[A-Z]+, 0\) = 3$' <<<"$output")"
    assert_line --regexp '^socket\(AF_[A-Z0-9]+, SOCK_[A-Z]+, 0\) = 3$'
}

# hint: Print the number socket() really returned: never assume 3. Run
#   ./socket 3</dev/null (fd 3 taken by the shell) and the first is 4.
@test "the first socket is the lowest free descriptor: 4 when the shell holds 3" {
    skip_unless_ipv6    # with no -d it makes AF_INET6 sockets too
    RUN_LAB_KEEP_FD3=1 run -0 run_lab 01-socket 3</dev/null
    assert_equal "$(grep -m 1 -E '^socket\(' <<<"$output")" \
        "$(grep -m 1 -E '^socket\(AF_[A-Z0-9]+, SOCK_[A-Z]+, 0\) = 4$' <<<"$output")"
    assert_line "close(4) = 0"
    assert_equal "$(count_lines '^socket\(.*\) = 4$' <(printf '%s\n' "$output"))" 2
    refute_line --regexp '= 3$'
}

# hint: With -d and -t, make only that one socket (and show it and close it).
@test "-d inet6 -t dgram makes just that one socket" {
    skip_unless_ipv6
    strace_lab socket 01-socket -d inet6 -t dgram
    assert_equal "$(socket_calls "$BATS_TEST_TMPDIR/trace")" "AF_INET6 SOCK_DGRAM 3"
    assert_equal "$(socket_calls "$BATS_TEST_TMPDIR/narration")" "AF_INET6 SOCK_DGRAM 3"
}

# hint: -d names the domain (unix, inet, inet6), -t the type (stream, dgram,
#   seqpacket, raw): map each name to its constant and pass both to socket().
@test "every stream and dgram pair, and unix seqpacket, can be made alone" {
    skip_unless_ipv6
    for domain in unix inet inet6; do
        for type in stream dgram; do
            run -0 run_lab 01-socket -d "$domain" -t "$type"
            assert_line --index 0 --regexp "^socket\\(AF_[A-Z0-9]+, SOCK_[A-Z]+, 0\\) = 3$"
        done
    done
    run -0 run_lab 01-socket -d unix -t seqpacket
    assert_line --index 0 "socket(AF_UNIX, SOCK_SEQPACKET, 0) = 3"
}

# hint: Check socket()'s result: -1 means it failed, errno says why. die()
#   names the call and the errno symbol on stderr and exits 1. See socket(2),
#   ERRORS.
@test "inet with seqpacket is refused: ESOCKTNOSUPPORT and exit 1" {
    run --separate-stderr run_lab 01-socket -d inet -t seqpacket
    assert_call_failed "socket(AF_INET, SOCK_SEQPACKET, 0)" ESOCKTNOSUPPORT
    refute_output --partial " = 3"
}

# hint: A raw inet socket needs a protocol number: with 0 socket() fails with
#   EPROTONOSUPPORT. Report it with die(), as any failed call. See raw(7).
@test "inet with raw and protocol 0 is refused: EPROTONOSUPPORT and exit 1" {
    run --separate-stderr run_lab 01-socket -d inet -t raw
    assert_call_failed "socket(AF_INET, SOCK_RAW, 0)" EPROTONOSUPPORT
}

# hint: An unknown -d or -t name, a missing value, -d without -t (or -t
#   without -d), an unknown option, an extra argument: print a message that
#   names it and the usage on stderr, and exit 2 (usage_error()).
@test "bad usage exits 2 naming what was wrong" {
    run --separate-stderr run_lab 01-socket -d bluetooth -t stream
    assert_usage_error bluetooth
    run --separate-stderr run_lab 01-socket -d inet -t circuit
    assert_usage_error circuit
    run --separate-stderr run_lab 01-socket -d inet
    assert_usage_error -t
    run --separate-stderr run_lab 01-socket -t
    assert_usage_error -t
    run --separate-stderr run_lab 01-socket -d '' -t stream
    assert_usage_error ''
    run --separate-stderr run_lab 01-socket -d inet -t ''
    assert_usage_error ''
    run --separate-stderr run_lab 01-socket -t stream
    assert_usage_error -d
    run --separate-stderr run_lab 01-socket -x
    assert_usage_error -x
    run --separate-stderr run_lab 01-socket -d
    assert_usage_error -d
    run --separate-stderr run_lab 01-socket extra
    assert_usage_error extra
}

# hint: -h: print the usage to stdout and exit 0 (print_usage_and_exit()).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 01-socket socket
}

# hint: Pass the kernel the pair as asked and report what it says: it refuses
#   inet6 seqpacket (ESOCKTNOSUPPORT) and accepts unix raw. See unix(7).
@test "inet6 with seqpacket is refused too, but unix with raw is accepted (Linux makes it a datagram socket)" {
    skip_unless_ipv6
    run --separate-stderr run_lab 01-socket -d inet6 -t seqpacket
    assert_call_failed "socket(AF_INET6, SOCK_SEQPACKET, 0)" ESOCKTNOSUPPORT
    run -0 run_lab 01-socket -d unix -t raw
    assert_line --index 0 "socket(AF_UNIX, SOCK_RAW, 0) = 3"
}
