# shellcheck shell=bash disable=SC2154
# (SC2154: the FIFO variables are set by open_fifo, in timelines/lib.bash)
# 10-poll: 08's head-of-line scene, without the head-of-line. A client, nc,
# connects and says nothing; curl comes: its connect and then its request
# wake the server's poll(), which watches nc's socket all along, and curl
# is answered while nc is still connected. The server sleeps in poll() only.
# Then nc sends its request and is answered too.

# asleep_in_poll NAME: wait (at most 4 s) until the lane's last line is a
# "poll(...) ..." line and its process is in state S: asleep in poll.
asleep_in_poll() {
    local tries
    for ((tries = 0; tries < 200; tries++)); do
        [[ $(tail -n 1 "$TIMELINE_DIR/$1.out") == 'poll('*' ...' &&
            $(cut -d' ' -f3 "/proc/$(<"$TIMELINE_DIR/$1.pid")/stat") == S ]] && return 0
        sleep 0.02
    done
    echo "timeline: $1 never slept in poll" >&2
    return 1
}

lane server labs/10-poll/poll -p 0 -n 2
port=$(port_of server)
asleep_in_poll server
open_fifo request request
LANE_STDIN=$TIMELINE_DIR/request lane nc nc -N 127.0.0.1 "$port"
await server '^poll\(\[\{fd=3, events=POLLIN\}, \{fd=4, events=POLLIN\}\], 2, -1\) \.\.\.$'
asleep_in_poll server               # nc connected, silent: the server waits
lane_run curl curl -sS "http://127.0.0.1:$port/"
await server '^close\(5\) = 0$'     # curl answered, nc still connected
asleep_in_poll server
printf 'GET / HTTP/1.1\r\n\r\n' >&"$request"
await nc 'Hello there\.'
# nc reads the server's EOF (and shuts its reading side) before it is given
# its own stdin's EOF: the same order of nc's calls in every run.
for ((tries = 0; tries < 200; tries++)); do
    grep -q 'SHUT_RD) = 0' "$TIMELINE_DIR/nc.trace" && break
    sleep 0.02
done
exec {request}>&-                   # nc reads EOF from its stdin, and ends
end_lane nc
end_lane server
