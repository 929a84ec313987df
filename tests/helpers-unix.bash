# shellcheck disable=SC2034
# (SC2034: SOCKET_DIR, HOSTILE_OUT ... are set here for the tests to read.)
#
# tests/helpers-unix.bash - clients and places for AF_UNIX sockets (11-unix),
# loaded after helpers.bash. bash has no /dev/unix, and nc prints no errno
# symbol, so the clients are short Perl programs (perl is on every Debian).
#
#   socket_dir                  SOCKET_DIR: a short folder of this test's own
#   unix_connect NAME [BYTES]   connect (NAME: a path or @abstract), send BYTES,
#                               shut down the sending side, print what comes back
#   unix_datagrams NAME OWN COUNT GO   a datagram sender bound to OWN that sends
#                               COUNT datagrams, waits for a line on the FIFO GO,
#                               then reads the answers
#   unix_datagram NAME BYTES [OWN]     one datagram (from OWN, or unnamed)
#   start_unix_hostile_clients NAME    clients that misbehave (see below)
#   hostile_unix_datagrams NAME, vanished_senders NAME DIR   datagrams a
#                               datagram server must survive

# A unix socket's path has room for 107 bytes (sun_path is 108, with the NUL).
# bats' own folder is short (/tmp/bats-run-XXXXXX/test/N) unless TMPDIR is
# long; then a folder of our own under /tmp, removed in teardown.
socket_dir() {
    if ((${#BATS_TEST_TMPDIR} <= 60)); then
        SOCKET_DIR=$BATS_TEST_TMPDIR
    else
        SOCKET_DIR=$(mktemp -d /tmp/unix-lab.XXXXXX)
        SHORT_DIRS+=("$SOCKET_DIR")
    fi
}
SHORT_DIRS=()

# teardown: helpers.bash's (every process ended), then the folders above.
eval "helpers_teardown() $(declare -f teardown | tail -n +2)"
teardown() {
    helpers_teardown
    ((${#SHORT_DIRS[@]} == 0)) || rm -rf "${SHORT_DIRS[@]}"
}

# A name from the command line as Perl's pack_sockaddr_un takes it: @NAME is
# the abstract NAME, a NUL byte first (Perl then passes the exact length).
UNIX_PERL_PRELUDE='
    use strict;
    use warnings;
    use Errno;
    use Socket qw(:all);
    $| = 1;
    $SIG{PIPE} = "IGNORE";
    sub errno_name { my ($name) = grep { $!{$_} } keys %!; $name // "errno " . ($! + 0) }
    sub address { my ($name) = @_; $name =~ s/^@/\0/; pack_sockaddr_un($name) }
'

# unix_connect NAME [BYTES]: a stream client. On success prints what the
# server sent back until EOF and exits 0; a failed connect() prints
# "connect: ERRNO" (EACCES, ECONNREFUSED, ENOENT ...) and exits 1. Bounded.
unix_connect() {
    timeout "$WAIT_SECONDS" perl -e "$UNIX_PERL_PRELUDE"'
        my ($name, $bytes) = @ARGV;
        socket(my $client, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
        unless (connect($client, address($name))) { print "connect: ", errno_name(), "\n"; exit 1 }
        if (defined $bytes) {
            defined send($client, $bytes, 0) or die "send: $!\n";
        }
        shutdown($client, SHUT_WR) or die "shutdown: $!\n";
        while (1) {
            defined recv($client, my $chunk, 65536, 0) or die "recv: ", errno_name(), "\n";
            last if $chunk eq "";
            print $chunk;
        }' "$1" "${2-}" 3>&- 4>&-
}

# unix_datagram NAME BYTES [OWN]: one datagram to NAME, from a socket bound
# to the path OWN (then wait, bounded, for the answer and print it) or from
# an unnamed socket (nothing can answer it). A failed sendto() prints
# "sendto: ERRNO" and exits 1.
unix_datagram() {
    timeout "$WAIT_SECONDS" perl -e "$UNIX_PERL_PRELUDE"'
        my ($name, $bytes, $own) = @ARGV;
        socket(my $sender, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\n";
        if ($own ne "") { bind($sender, address($own)) or die "bind: $!\n" }
        unless (defined send($sender, $bytes, 0, address($name))) { print "sendto: ", errno_name(), "\n"; exit 1 }
        if ($own ne "") {
            defined recv($sender, my $answer, 65536, 0) or die "recv: $!\n";
            print $answer;
            unlink $own;
        }' "$1" "$2" "${3-}" 3>&- 4>&-
}

# unix_datagrams NAME OWN COUNT GO: for the background (start it with
# start_peer: the shell becomes perl, so PEER_PID is perl's). A sender bound
# to the path OWN sends COUNT datagrams "d1", "d2" ... to NAME, prints
# "sent COUNT", and reads NOTHING until a line can be read from the FIFO GO;
# then it reads COUNT answers, printing each on a line of its own, and
# "received COUNT".
unix_datagrams() {
    exec perl -e "$UNIX_PERL_PRELUDE"'
        my ($name, $own, $count, $go) = @ARGV;
        socket(my $sender, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\n";
        bind($sender, address($own)) or die "bind: $!\n";
        for my $i (1 .. $count) {
            defined send($sender, "d$i", 0, address($name)) or die "sendto: ", errno_name(), "\n";
        }
        print "sent $count\n";
        open(my $fifo, "<", $go) or die "$go: $!\n";
        my $line = <$fifo>;
        for (1 .. $count) {
            defined recv($sender, my $answer, 65536, 0) or die "recv: $!\n";
            print "$answer\n";
        }
        print "received $count\n";' "$@"
}

# start_unix_hostile_clients NAME: stream clients that misbehave, in the
# background (sets PEER_PID and HOSTILE_OUT). All connect first, in this
# order (an iterative server takes them in turn), then each does its part:
#   random       sends 3000 random bytes and closes at once, reading nothing:
#                the server's echo fails with EPIPE
#   garbage      sends 1 MiB of random bytes while reading the echo, closes
#   unread       sends "ping", waits until the echo is there, and closes
#                WITHOUT reading it: the server's next recv() gets ECONNRESET
#   half-close   shuts down its sending side at once, reads until EOF
# Each prints one line when done ("KIND: sent N bytes, received N, then END");
# "ready: 4 connected" once all are connected and random is done. Exits 0
# when all are done, 1 if a connect() failed.
start_unix_hostile_clients() {
    HOSTILE_OUT="$BATS_TEST_TMPDIR/hostile.${#STARTED_PIDS[@]}.out"
    start_peer "$HOSTILE_OUT" timeout 60 perl -e "$UNIX_PERL_PRELUDE"'
        my ($name) = @ARGV;
        srand 2017;
        my $random = pack "C*", map { int rand 256 } 1 .. 3000;
        my $garbage = (pack "C*", map { int rand 256 } 1 .. 65536) x 16;
        sub report { syswrite STDOUT, sprintf "%s: sent %d bytes, received %d, then %s\n", @_ }

        my @clients;
        for my $kind (qw(random garbage unread half-close)) {
            socket my $client, PF_UNIX, SOCK_STREAM, 0 or die "socket: $!\n";
            unless (connect $client, address($name)) {
                syswrite STDOUT, "$kind: connect: " . errno_name() . "\n";
                exit 1;
            }
            push @clients, [$kind, $client];
        }
        my ($kind, $client) = @{ shift @clients };
        my $sent = send $client, $random, 0;
        close $client;
        report($kind, $sent // 0, 0, "closed");
        my @children;
        for my $index (0 .. $#clients) {
            my ($kind, $client) = @{ $clients[$index] };
            my $pid = fork // die "fork: $!\n";
            if ($pid == 0) {
                close $_->[1] for @clients[grep { $_ != $index } 0 .. $#clients];
                if ($kind eq "garbage") {
                    my ($sent, $received, $end, $eof) = (0, 0, "closed", 0);
                    while ($sent < length $garbage) {
                        my ($readable, $writable) = ("", "");
                        vec($readable, fileno $client, 1) = 1 unless $eof;
                        vec($writable, fileno $client, 1) = 1;
                        next if select($readable, $writable, undef, undef) == -1 && $!{EINTR};
                        if (vec $readable, fileno $client, 1) {
                            my $chunk;
                            unless (defined recv $client, $chunk, 65536, MSG_DONTWAIT) { $end = errno_name(); last }
                            $received += length $chunk;
                            $eof = $chunk eq "";
                        }
                        if (vec $writable, fileno $client, 1) {
                            my $count = send $client, substr($garbage, $sent, 65536), MSG_DONTWAIT;
                            if (!defined $count) { next if $!{EAGAIN}; $end = errno_name(); last }
                            $sent += $count;
                        }
                    }
                    close $client;
                    report($kind, $sent, $received, $end);
                } elsif ($kind eq "unread") {
                    my $sent = send $client, "ping", 0;
                    recv $client, my $peek, 4, MSG_PEEK;    # the echo is there
                    close $client;                          # ... unread
                    report($kind, $sent // 0, 0, "closed, the echo unread");
                } else {
                    shutdown $client, SHUT_WR or die "shutdown: $!\n";
                    my ($received, $end) = (0, "EOF");
                    while (1) {
                        my $chunk;
                        unless (defined recv $client, $chunk, 65536, 0) { $end = errno_name(); last }
                        last if $chunk eq "";
                        $received += length $chunk;
                    }
                    report($kind, 0, $received, $end);
                }
                exit 0;
            }
            close $client;
        }
        syswrite STDOUT, "ready: 4 connected\n";
        1 while wait != -1;
    ' "$1"
}

# hostile_unix_datagrams NAME: datagrams a datagram server must survive,
# from an unnamed socket (no answer is possible): ten of random bytes and
# sizes, one of 100000 bytes (more than any buffer the server should keep),
# and an empty one. Prints how many: 12.
hostile_unix_datagrams() {
    timeout "$WAIT_SECONDS" perl -e "$UNIX_PERL_PRELUDE"'
        my ($name) = @ARGV;
        srand 2017;
        my @datagrams = map { pack "C*", map { int rand 256 } 1 .. 1 + int rand 1500 } 1 .. 10;
        push @datagrams, "x" x 100000, "";
        socket my $sender, PF_UNIX, SOCK_DGRAM, 0 or die "socket: $!\n";
        for my $datagram (@datagrams) {
            defined send($sender, $datagram, 0, address($name)) or die "sendto: ", errno_name(), "\n";
        }
        print scalar @datagrams, "\n";' "$1" 3>&- 4>&-
}

# vanished_senders NAME DIR: two datagrams from senders gone before any
# answer (send them while the server is stopped): "closed" from a socket
# bound to DIR/closed and closed at once (its file stays: an answer gets
# ECONNREFUSED), "removed" from one whose file is removed too (ENOENT).
vanished_senders() {
    timeout "$WAIT_SECONDS" perl -e "$UNIX_PERL_PRELUDE"'
        my ($name, $dir) = @ARGV;
        for my $which ("closed", "removed") {
            socket my $gone, PF_UNIX, SOCK_DGRAM, 0 or die "socket: $!\n";
            bind($gone, address("$dir/$which")) or die "bind: $!\n";
            defined send($gone, $which, 0, address($name)) or die "sendto: ", errno_name(), "\n";
            close $gone;
            unlink "$dir/$which" if $which eq "removed";
        }' "$1" "$2" 3>&- 4>&-
}
