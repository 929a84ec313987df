# shellcheck shell=bash
heading "06-send-recv: recv() returns what has arrived; send() blocks while the buffers are full"
say "an echo server for one client: every recv() is followed by a send() of the same bytes"
serve echo labs/06-send-recv/send-recv -p 0
port=$(port_of echo)
await echo '^accept\(3\) \.\.\.'
say "nc sends two lines, then shuts down its sending side (-N) and reads the echo"
printf "\$ printf 'hello\\\\nworld\\\\n' | nc -N 127.0.0.1 %s\n" "$port"
printf 'hello\nworld\n' | timeout 5 nc -N 127.0.0.1 "$port"
await echo '^close\(4\)'
wait "$SERVED_PID" 2>/dev/null
say "recv() returned as soon as bytes arrived; 0 (EOF) came only with nc's shutdown"

say "-b 4: a 4-byte buffer cuts the same kind of line into many recv()s"
serve small labs/06-send-recv/send-recv -p 0 -b 4
port=$(port_of small)
await small '^accept\(3\) \.\.\.'
printf "\$ printf 'hello world\\\\n' | nc -N 127.0.0.1 %s\n" "$port"
printf 'hello world\n' | timeout 5 nc -N 127.0.0.1 "$port"
await small '^close\(4\)'
wait "$SERVED_PID" 2>/dev/null

read -r _ _ wmem_max </proc/sys/net/ipv4/tcp_wmem
read -r _ _ rmem_max </proc/sys/net/ipv4/tcp_rmem
flood=$((wmem_max + rmem_max + 1048576))
say "-f: $flood bytes (more than the largest send and receive buffers together),"
say "in 4 MiB send()s, to a client that connects and reads nothing"
serve flood labs/06-send-recv/send-recv -p 0 -f "$flood" -b 4194304
port=$(port_of flood)
await flood '^accept\(3\) \.\.\.'
printf '$ exec {client}<>/dev/tcp/127.0.0.1/%s\n' "$port"
exec {client}<>"/dev/tcp/127.0.0.1/$port"
# Wait (at most 5 s) for the "..." line and the lab asleep (state S).
for ((tries = 0; tries < 250; tries++)); do
    [[ $(tail -n 1 "$TOUR_TMP/flood.out") == *' ...' &&
        $(cut -d' ' -f3 "/proc/$SERVED_PID/stat" 2>/dev/null) == S ]] && break
    sleep 0.02
done
say "send() sleeps: Send-Q (the lab's unsent bytes) and Recv-Q (the client's unread ones) are full"
shown ss -tn "( sport = :$port or dport = :$port )"
say "the client reads: send() wakes up, and every byte arrives"
printf '%s\n' "\$ cat <&\$client | wc -c"
timeout 10 cat <&"$client" | wc -c
exec {client}<&-
wait "$SERVED_PID" 2>/dev/null
sleep 0.05   # let the prefixing sed print the last lines
