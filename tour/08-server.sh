# shellcheck shell=bash
heading "08-server: all the calls together, an HTTP/1.1 server serving one client at a time"
say "it narrates every call: socket, setsockopt, bind, getsockname, listen, then accept/recv/send/close per client"
serve server labs/08-server/server -p 0
server_pid=$SERVED_PID
port=$(port_of server)
await server '^accept\(3\) \.\.\.$'

say "curl -i: the status line, headers that end in CRLF, Content-Length: 13, then the body"
shown curl -sS -i "http://127.0.0.1:$port/"
await server '^close\(4\) = 0$'

# server_waits_in_recv N: wait (at most 5 s) for the server's Nth "recv(4, ..." line.
server_waits_in_recv() {
    local tries=0
    until (($(grep -c '^recv(4, \.\.\.$' "$TOUR_TMP/server.out") >= $1)); do
        ((tries++ < 250)) || { echo "tour: the server never reached recv" >&2; return 1; }
        sleep 0.02
    done
}

say "head-of-line blocking. A client connects and says nothing (bash opens fd 5 as a TCP connection):"
printf '$ exec 5<>/dev/tcp/127.0.0.1/%s\n' "$port"
exec 5<>"/dev/tcp/127.0.0.1/$port"
server_waits_in_recv 2
say "the server accepted it and now sleeps in recv() on it. A second client, curl:"
serve curl curl -sS "http://127.0.0.1:$port/"
for _ in {1..250}; do
    [[ $(ss -Hltn "( sport = :$port )" | awk '{ print $2 }') == 1 ]] && break
    sleep 0.02
done
say "curl's connect() succeeded, but it waits in the accept queue: Recv-Q of the listener is 1"
shown ss -ltn "( sport = :$port )"
say "the first client sends its request. See the order: it is answered, close(4), and only then does accept() take curl"
printf '$ printf '\''GET / HTTP/1.1\\r\\n\\r\\n'\'' >&5; cat <&5\n'
printf 'GET / HTTP/1.1\r\n\r\n' >&5
first_answer=$(timeout 5 cat <&5)
exec 5>&-
printf '%s\n' "$first_answer" | sed 's/^/    [fd 5] /'
await curl '^Hello there\.$'
sleep 0.05

say "Ctrl-C: the blocked accept() returns -1 EINTR, the server closes its socket and exits 0"
finish "$server_pid" INT
