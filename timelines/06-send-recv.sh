# shellcheck shell=bash disable=SC2154
# (SC2154: the FIFO variables are set by open_fifo, in timelines/lib.bash)
# 06-send-recv: recv() wakes at the first byte; send() sleeps while the
# buffers are full, until the client reads.
lane echo labs/06-send-recv/send-recv -p 0
port=$(port_of echo)
await echo '^accept\(3\) \.\.\.$'
open_fifo typed typed
LANE_STDIN=$TIMELINE_DIR/typed lane nc nc -N 127.0.0.1 "$port"
await echo '^recv\(4, \.\.\.$'
printf 'hello\n' >&"$typed"               # two lines, one at a time
await echo '^send\(4, "hello\\n", 6, 0\) = 6$'
printf 'world\n' >&"$typed"
await echo '^send\(4, "world\\n", 6, 0\) = 6$'
exec {typed}>&-                           # nc reads EOF and shuts down its side
end_lane echo
end_lane nc

# More than the largest send and receive buffers together, in 4 MiB send()s,
# to a client that reads nothing until the server is asleep in send().
read -r _ _ wmem_max </proc/sys/net/ipv4/tcp_wmem
read -r _ _ rmem_max </proc/sys/net/ipv4/tcp_rmem
lane flood labs/06-send-recv/send-recv -p 0 -f $((wmem_max + rmem_max + 1048576)) -b 4194304
port=$(port_of flood)
await flood '^accept\(3\) \.\.\.$'
open_fifo go go
LANE_STDIN=$TIMELINE_DIR/go lane reader perl -MIO::Socket::INET -e '
    my $client = IO::Socket::INET->new(PeerAddr => $ARGV[0]) or die "connect: $!";
    <STDIN>;                                  # read nothing until told
    1 while sysread($client, my $bytes, 1 << 20);
' "127.0.0.1:$port"
# The server sleeps in send() once it prints a "send(..." line and stays in state S.
for ((tries = 0; tries < 500; tries++)); do
    [[ $(tail -n 1 "$TIMELINE_DIR/flood.out") == 'send('*' ...' &&
        $(cut -d' ' -f3 "/proc/$(<"$TIMELINE_DIR/flood.pid")/stat") == S ]] && break
    sleep 0.02
done
echo go >&"$go"
end_lane reader
end_lane flood
