# shellcheck shell=bash
heading "09-nonblock: with O_NONBLOCK the calls return EAGAIN at once, and the lab sleeps in poll() instead"
say "fcntl(F_SETFL, O_NONBLOCK) on the listener; accept() with no client: -1 EAGAIN, then poll() for POLLIN"
serve nonblock labs/09-nonblock/nonblock -p 0
nonblock_pid=$SERVED_PID
port=$(port_of nonblock)
await nonblock '^poll\(\[\{fd=3, events=POLLIN\}\], 1, -1\) \.\.\.$'
# poll_state PID: wait (at most 2 s) until PID sleeps (state S), then print its state and syscall number.
poll_state() {
    local tries
    for ((tries = 0; tries < 100; tries++)); do
        [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) == S ]] && break
        sleep 0.02
    done
    printf 'state %s, system call %s\n' "$(cut -d' ' -f3 "/proc/$1/stat")" "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)"
}
say "asleep in poll (x86-64: system call 7 is poll, 271 ppoll), not in accept: $(poll_state "$nonblock_pid")"
say "the kernel's flags for fd 3 (octal; 04000 is O_NONBLOCK):"
shown grep flags "/proc/$nonblock_pid/fdinfo/3"
say "a client sends two lines: POLLIN, accept(), fcntl on the new socket, then recv/EAGAIN/poll per line"
printf "\$ (printf 'one\\\\n'; sleep 0.3; printf 'two\\\\n') | nc -N 127.0.0.1 %s\n" "$port"
(printf 'one\n'; sleep 0.3; printf 'two\n') | timeout 5 nc -N 127.0.0.1 "$port"
await nonblock '^close\(4\) = 0$'
wait "$nonblock_pid" 2>/dev/null
sleep 0.05

read -r _ _ wmem_max </proc/sys/net/ipv4/tcp_wmem
read -r _ _ rmem_max </proc/sys/net/ipv4/tcp_rmem
flood=$((wmem_max + rmem_max + 1048576))
say "-f $flood: send() to a client that does not read, until EAGAIN; the line says how many bytes the kernel took"
say "(its hundreds of send lines go to a file; the tour shows the ones that matter)"
printf '$ labs/09-nonblock/nonblock -p 0 -f %s > flood.out &\n' "$flood"
labs/09-nonblock/nonblock -p 0 -f "$flood" >"$TOUR_TMP/flood.out" 2>&1 &
flood_pid=$!
TOUR_PIDS+=("$flood_pid")
port=$(port_of flood)
await flood '^poll\('
printf '$ exec {client}<>/dev/tcp/127.0.0.1/%s\n' "$port"
exec {client}<>"/dev/tcp/127.0.0.1/$port"
await flood '^poll\(\[\{fd=4, events=POLLOUT\}\], 1, -1\) \.\.\.$'
grep -m1 -B1 -A1 'EAGAIN.*taken by the kernel' "$TOUR_TMP/flood.out" | sed 's/^/    [flood] /'
say "where those bytes are: the lab's Send-Q plus the client's Recv-Q; the lab waits for POLLOUT: $(poll_state "$flood_pid")"
shown ss -tn "( sport = :$port or dport = :$port )"
say "the client reads: POLLOUT, more sends, more EAGAINs, until every byte is out"
printf '%s\n' "\$ cat <&\$client | wc -c"
timeout 20 cat <&"$client" | wc -c
exec {client}<&-
wait "$flood_pid" 2>/dev/null
say "$(grep -c 'EAGAIN' "$TOUR_TMP/flood.out") EAGAINs in all, each followed by a sleep in poll(); the end:"
tail -n 2 "$TOUR_TMP/flood.out" | sed 's/^/    [flood] /'

say "-c: the client side. connect() returns -1 EINPROGRESS; POLLOUT when the handshake ends; SO_ERROR says how"
serve target labs/09-nonblock/nonblock -p 0
port=$(port_of target)
await target '^poll\('
shown labs/09-nonblock/nonblock -c -p "$port"
await target '^close\(4\) = 0$'
wait "$SERVED_PID" 2>/dev/null
sleep 0.05
say "and against the same port, now closed: POLLOUT|POLLERR|POLLHUP, SO_ERROR is ECONNREFUSED, exit 1"
shown labs/09-nonblock/nonblock -c -p "$port"
