# shellcheck shell=bash disable=SC2154
# (SC2154: the FIFO variables are set by open_fifo, in timelines/lib.bash)
# 08-server: head-of-line blocking. A client that connects and says nothing
# holds the server asleep in recv(); curl connects at once all the same and
# waits in the accept queue until the first client is served.
lane server labs/08-server/server -p 0 -n 2
port=$(port_of server)
await server '^accept\(3\) \.\.\.$'
open_fifo request request
LANE_STDIN=$TIMELINE_DIR/request lane nc nc -N 127.0.0.1 "$port"
await server '^recv\(4, \.\.\.$'
lane curl curl -sS "http://127.0.0.1:$port/"
# curl has connected once the listener's accept queue holds it.
for ((tries = 0; tries < 250; tries++)); do
    [[ $(ss -Hltn "( sport = :$port )" | awk '{ print $2 }') == 1 ]] && break
    sleep 0.02
done
printf 'GET / HTTP/1.1\r\n\r\n' >&"$request"
await server '^close\(4\) = 0$'
await nc 'Hello there\.'
exec {request}>&-          # nc reads EOF from its stdin, and ends
end_lane nc
end_lane curl
end_lane server
