# shellcheck shell=bash disable=SC2154
# (SC2154: the FIFO variables are set by open_fifo, in timelines/lib.bash)
# 11-unix: through a unix socket, accept() sleeps until nc -U connects and
# recv() until its bytes come, as over TCP; a unix datagram is never
# dropped: the lab's sendto() sleeps while the sender's queue is full, until
# the sender reads.
#
# The lanes run in the traces' folder, so that the socket files are made
# there with short names (lab.sock, me.sock) and the labels
# read as in the notes; labs/ there leads to the checkout's labs.
TIMELINE_DIR=$(cd "$TIMELINE_DIR" && pwd)
ln -s "$PWD/labs" "$TIMELINE_DIR/labs"
cd "$TIMELINE_DIR" || return 1

# asleep_on NAME LINE: wait (at most 4 s) until the lane's last line is LINE
# (a call's "..." line) and its process is in state S: asleep in that call.
# Seen so twice, 50 ms apart, so that the trace shows a sleep too (a send()
# is drawn asleep from 10 ms on).
asleep_on() {
    local tries
    for ((tries = 0; tries < 200; tries++)); do
        if in_call "$@"; then
            sleep 0.05
            in_call "$@" && return 0
        fi
        sleep 0.02
    done
    echo "timeline: $1 never slept after '$2'" >&2
    return 1
}
in_call() {
    [[ $(tail -n 1 "$TIMELINE_DIR/$1.out") == "$2" &&
        $(cut -d' ' -f3 "/proc/$(<"$TIMELINE_DIR/$1.pid")/stat") == S ]]
}

# Stream: one client, nc, that types one line and then ends its input.
lane stream labs/11-unix/unix -n 1
await stream '^accept\(3\) \.\.\.$'
open_fifo typed typed
LANE_STDIN=$TIMELINE_DIR/typed lane nc nc -N -U lab.sock
await stream '^recv\(4, \.\.\.$'
printf 'hello\n' >&"$typed"
await nc '^hello$'               # nc has read the echo
asleep_on stream 'recv(4, ...'   # the lab waits for more
exec {typed}>&-                 # nc reads EOF, shuts down its side: recv() = 0
end_lane stream
end_lane nc

# Datagrams: a sender that sends two more datagrams than the receiving
# queue holds (net.unix.max_dgram_qlen, and one), then reads nothing until
# the lab is asleep answering the last one.
read -r queue_length </proc/sys/net/unix/max_dgram_qlen
datagrams=$((queue_length + 2))
lane dgram labs/11-unix/unix -t dgram -n "$datagrams"
await dgram '^recvfrom\(3, \.\.\.$'
open_fifo go go
LANE_STDIN=$TIMELINE_DIR/go lane sender perl -MSocket -e '
    socket(my $socket, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
    bind($socket, pack_sockaddr_un("me.sock")) or die "bind: $!";
    my $lab = pack_sockaddr_un("lab.sock");
    send($socket, "d$_", 0, $lab) // die "send: $!" for 1 .. $ARGV[0];
    <STDIN>;                                    # read nothing until told
    recv($socket, my $answer, 64, 0) // die "recv: $!" for 1 .. $ARGV[0];
    unlink "me.sock";
' "$datagrams"
# The lab is asleep answering the last datagram: the sender's queue is full.
asleep_on dgram "sendto(3, \"d$datagrams\", $((${#datagrams} + 1)), 0, \"me.sock\") ..."
echo go >&"$go"
end_lane sender
end_lane dgram
