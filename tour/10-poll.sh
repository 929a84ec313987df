# shellcheck shell=bash
heading "10-poll: 08's server as one poll() loop: a silent client holds nobody up"
say "the listener is non-blocking; poll() watches it, and will watch every client too"
serve poll labs/10-poll/poll -p 0
poll_pid=$SERVED_PID
port=$(port_of poll)
await poll '^poll\(\[\{fd=3, events=POLLIN\}\], 1, -1\) \.\.\.$'

# poll_lines N: wait (at most 5 s) until the server has printed N "poll(... ..." lines.
poll_lines() {
    local tries=0
    until (($(grep -c '^poll(.* \.\.\.$' "$TOUR_TMP/poll.out") >= $1)); do
        ((tries++ < 250)) || { echo "tour: the server printed too few poll lines" >&2; return 1; }
        sleep 0.02
    done
}

say "client A connects and says nothing; client B sends half a request (bash opens fds 5 and 6)"
printf '$ exec 5<>/dev/tcp/127.0.0.1/%s\n' "$port"
exec 5<>"/dev/tcp/127.0.0.1/$port"
poll_lines 2
printf "\$ exec 6<>/dev/tcp/127.0.0.1/%s; printf 'GET / HTTP/1.1\\\\r\\\\n' >&6\n" "$port"
exec 6<>"/dev/tcp/127.0.0.1/$port"
poll_lines 3
printf 'GET / HTTP/1.1\r\n' >&6
poll_lines 4
say "in 08 curl would now wait for A. Here it is answered at once (time_total is curl's own measure):"
shown curl -sS -w 'time_total %{time_total} s\n' "http://127.0.0.1:$port/"
await poll '^close\(6\) = 0$|^close\(7\) = 0$'
say "the server still holds A and B (its sockets 4 and 5), and sleeps in poll() (x86-64: 7) with them in its list:"
shown ss -tn state established "( sport = :$port )"
printf '$ cat /proc/%s/syscall | cut -d" " -f1\n' "$poll_pid"
cut -d' ' -f1 "/proc/$poll_pid/syscall"
say "B finishes its request: POLLIN on its fd, the blank line, POLLOUT, the answer"
printf "\$ printf '\\\\r\\\\n' >&6; cat <&6\n"
printf '\r\n' >&6
timeout 5 cat <&6 | sed 's/^/    [fd 6] /'
exec 6>&-
say "A leaves: POLLIN, recv() = 0 (EOF), close"
printf '$ exec 5>&-\n'
exec 5>&-
await poll '^close\(4\) = 0$'
poll_lines 8
sleep 0.05
say "Ctrl-C: poll() returns -1 EINTR, the server closes its socket and exits 0"
finish "$poll_pid" INT
