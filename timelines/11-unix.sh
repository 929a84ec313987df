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

# Stream: one client, nc, that types one line and then ends its input.
lane stream labs/11-unix/unix -n 1
await stream '^accept\(3\) \.\.\.$'
open_fifo typed typed
LANE_STDIN=$TIMELINE_DIR/typed lane nc nc -N -U lab.sock
await stream '^recv\(4, \.\.\.$'
printf 'hello\n' >&"$typed"
await stream '^send\(4, "hello\\n", 6, 0\) = 6$'
await nc '^hello$'               # nc has read the echo
exec {typed}>&-                # nc reads EOF, shuts down its side: recv() = 0
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
# The lab is asleep answering the last datagram once its last line is that
# sendto's "..." and it is in state S; seen so twice, 50 ms apart, so that
# the trace too shows a sleep (a send() is drawn asleep from 10 ms on).
asleep_in_sendto() {
    [[ $(tail -n 1 "$TIMELINE_DIR/dgram.out") == "sendto(3, \"d$datagrams\""*' ...' &&
        $(cut -d' ' -f3 "/proc/$(<"$TIMELINE_DIR/dgram.pid")/stat") == S ]]
}
for ((tries = 0; tries < 200; tries++)); do
    if asleep_in_sendto; then
        sleep 0.05
        asleep_in_sendto && break
    fi
    sleep 0.02
done
echo go >&"$go"
end_lane sender
end_lane dgram
