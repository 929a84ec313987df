# shellcheck shell=bash disable=SC2154
# (SC2154: the FIFO variables are set by open_fifo, in timelines/lib.bash)
# 09-nonblock: accept() and recv() return EAGAIN at once, where 04 and 06
# slept; the sleep moves into poll(), which nc's connect and then its bytes
# wake. With -f: send() until EAGAIN, then poll() asleep until the reader
# reads.

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

# Echo: accept() = EAGAIN, poll until nc connects; recv() = EAGAIN, poll
# until nc's line; the echo; poll until nc ends its side.
lane echo labs/09-nonblock/nonblock -p 0
port=$(port_of echo)
asleep_in_poll echo
open_fifo typed typed
LANE_STDIN=$TIMELINE_DIR/typed lane nc nc -N 127.0.0.1 "$port"
await echo '^recv\(4, \.\.\., 1024, 0\) = -1 EAGAIN'
asleep_in_poll echo
printf 'hello\n' >&"$typed"
await nc '^hello$'              # nc has read the echo
asleep_in_poll echo             # the lab waits for more
exec {typed}>&-                 # nc reads EOF, shuts down its side: recv() = 0
end_lane echo
end_lane nc

# -f: more than the largest send buffer and the reader's starting receive
# buffer (it grows only when read) hold together, to a reader
# that reads nothing until the lab is asleep in poll for POLLOUT.
read -r _ _ wmem_max </proc/sys/net/ipv4/tcp_wmem
read -r _ rmem_start _ </proc/sys/net/ipv4/tcp_rmem
lane flood labs/09-nonblock/nonblock -p 0 -f $((wmem_max + rmem_start + 1048576)) -b 4194304
port=$(port_of flood)
asleep_in_poll flood
open_fifo go go
LANE_STDIN=$TIMELINE_DIR/go lane reader perl -MIO::Socket::INET -e '
    my $client = IO::Socket::INET->new(PeerAddr => $ARGV[0]) or die "connect: $!";
    <STDIN>;                                  # read nothing until told
    1 while sysread($client, my $bytes, 1 << 20);
' "127.0.0.1:$port"
await flood 'bytes taken by the kernel so far'
asleep_in_poll flood
echo go >&"$go"
end_lane reader
end_lane flood
