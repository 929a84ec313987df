# shellcheck shell=bash
heading "07-udp: recvfrom() takes one whole datagram at a time, sendto() sends one back"
say "-b 8: an 8-byte buffer, so that a longer datagram is cut"
serve udp labs/07-udp/udp -p 0 -b 8
port=$(port_of udp)
await udp '^recvfrom\(3, \.\.\.'
say "three datagrams from three nc's: three recvfrom()s, each from its own port"
say "(-w0: nc sends and quits at once, catching the echo or not: a race, so its output is hidden)"
for word in one two three; do
    printf "\$ printf '%s' | nc -u -w0 127.0.0.1 %s >/dev/null\n" "$word" "$port"
    printf '%s' "$word" | timeout 5 nc -u -w0 127.0.0.1 "$port" >/dev/null
    await udp "^recvfrom\\(3, \"$word\""
done
say "14 bytes into 8: MSG_TRUNC makes recvfrom() return the real size; the rest is lost"
printf "\$ printf 'fourteen bytes' | nc -u -w0 127.0.0.1 %s >/dev/null\n" "$port"
printf 'fourteen bytes' | timeout 5 nc -u -w0 127.0.0.1 "$port" >/dev/null
await udp '^sendto\(3, "fourteen"'
say "nc waits 1 s for an answer this time (-w1): the echo comes back to it"
printf "\$ printf 'echo?' | nc -u -w1 127.0.0.1 %s\n" "$port"
printf 'echo?' | timeout 5 nc -u -w1 127.0.0.1 "$port"
echo
say "the socket in the kernel's table: UNCONN (no peer), its buffers, d = datagrams dropped"
shown ss -uanm "( sport = :$port )"
say "Ctrl-C: recvfrom() returns -1 EINTR, the lab closes its socket and exits 0"
finish "$SERVED_PID" INT
say "nothing listens now, and a datagram sent there still 'succeeds': exit status 0"
printf "\$ printf 'anyone?' | nc -u -w0 127.0.0.1 %s; echo \$?\n" "$port"
printf 'anyone?' | timeout 5 nc -u -w0 127.0.0.1 "$port"; echo $?
