#!/usr/bin/env bats
# 11-unix: an AF_UNIX socket's address is a path, and bind() makes a file
# there; stream and datagram sockets, the client's credentials, the abstract
# namespace, and a descriptor passed from one process to another.

bats_require_minimum_version 1.5.0
load helpers
load helpers-unix

# A descriptor number, where the number is not the lesson.
FD='[0-9]+'
# The start of a stream read or write, as recv()/send() or read()/write():
# "recv(4, "hi", 2048" ($RECV, then the flags as $FLAGS: ", 0" or nothing).
RECV="(recv|read)\\($FD, "
SEND="(send|write)\\($FD, "
FLAGS='(, 0)?'
# The flags of a datagram call: 0, MSG_TRUNC, MSG_NOSIGNAL ...
DFLAGS='[A-Z_0-9|]+'

setup() {
    socket_dir
    SOCK=$SOCKET_DIR/lab.sock
}

# start_server ARGS...: start ./unix on $SOCK and wait until it waits for
# its first client (stream) or datagram (-t dgram).
start_server() {
    start_lab 11-unix -s "$SOCK" "$@"
    wait_for_line "^(accept\\($FD\\)|recvfrom\\($FD,) \\.\\.\\.\$"
}

# listed NAME [TYPE]: the socket bound to NAME as ss shows it (one line:
# netid, state, queues, name, inode, peer, users); TYPE stream or dgram.
listed() {
    local netid=u_str
    [[ ${2:-stream} == stream ]] || netid=u_dgr
    ss -Hxap | awk -v name="$1" -v netid="$netid" '$1 == netid && $5 == name'
}

# not_listed NAME: no socket holds NAME any more.
not_listed() {
    [[ -z $(ss -Hxa | awk -v name="$1" '$5 == name') ]]
}

# A folder uid 65534 can reach (bats' own is private to root): for the tests
# of permissions. Sets OPEN_DIR.
open_dir() {
    OPEN_DIR=$(mktemp -d /tmp/unix-lab.XXXXXX)
    SHORT_DIRS+=("$OPEN_DIR")
    chmod 755 "$OPEN_DIR"
}

as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# hint: bind() makes the file. fill_address(): sun_family AF_UNIX, the path
#   and its NUL in sun_path, and the length that covers them; bind() gets
#   that length. Print "bind(FD, "PATH", LENGTH) = 0", and after listen()
#   "listen(FD, 10) = 0". The test then waits for "accept(FD) ...", printed
#   before accept(). See unix(7) ("Address format"), bind(2), listen(2).
@test "bind() makes a socket file at the path: stat says socket, ls -l says srwx, ss -xl shows the listener" {
    start_server
    read_lab_output
    assert_line --regexp "^socket\\(AF_UNIX, SOCK_STREAM, 0\\) = $FD\$"
    assert_line --regexp "^bind\\($FD, \"$SOCK\", [0-9]+\\) = 0\$"
    assert_line --regexp "^getsockname\\($FD\\) = \"$SOCK\"\$"
    assert_line --regexp "^listen\\($FD, [0-9]+\\) = 0\$"
    # The kernel's view of the file: type socket, permissions 0777 less the umask.
    run -0 stat -c '%F %a' "$SOCK"
    assert_output "socket $(printf '%o' $((0777 & ~$(umask))))"
    run -0 ls -l "$SOCK"
    assert_output --regexp '^srwx'
    # The lab's own lstat line shows what ls -l shows.
    local mode=${output%% *}
    read_lab_output
    assert_line --regexp "^lstat\\(\"$SOCK\"\\) = 0  $mode"
    run -0 listed "$SOCK"
    assert_output --regexp "^u_str +LISTEN "
    assert_output --partial "pid=$LAB_PID,"
}

# hint: Print "accept(FD) ..." BEFORE accept(): it sleeps until a client
#   comes. Then "accept(FD) = NEW  peer (unnamed)" (describe_address()),
#   and ask the NEW socket for SO_PEERCRED with getsockopt():
#   "getsockopt(NEW, SOL_SOCKET, SO_PEERCRED) = 0  pid=PID uid=UID gid=GID",
#   the fields of its struct ucred. See unix(7) (SO_PEERCRED).
@test "accept blocks until a client connects; SO_PEERCRED gives the real client's pid, uid and gid" {
    start_server
    assert_blocked_in accept accept4
    [[ $(tail -n 1 "$LAB_OUT") =~ ^accept\([0-9]+\)\ \.\.\.$ ]] || fail "$(show_lab_output)no accept ... line last"
    refute grep -qE '^accept\([0-9]+\) = ' "$LAB_OUT"
    # nc, started directly: PEER_PID is nc's own pid, the process that connects.
    start_peer "$BATS_TEST_TMPDIR/nc.out" nc -U -d "$SOCK"
    wait_for_line "^accept\\($FD\\) = $FD  peer \\(unnamed\\)\$"
    wait_for_line "^getsockopt\\($FD, SOL_SOCKET, SO_PEERCRED\\) = 0  pid=$PEER_PID uid=$(id -u) gid=$(id -g)\$"
    # Then it waits for the client's bytes.
    assert_blocked_in recvfrom recv read
}

# hint: The uid and gid come from the kernel, not from your process: print the
#   struct ucred that getsockopt(SO_PEERCRED) filled in on the accepted
#   socket, never getuid()/getgid(). See unix(7).
@test "SO_PEERCRED reports another user's uid and gid (uid 65534, when the suite runs as root)" {
    [[ $(id -u) == 0 ]] || skip "needs root to run a client as uid 65534"
    open_dir
    SOCK=$OPEN_DIR/lab.sock
    umask 000       # a socket file everyone may write: anyone may connect
    start_server
    start_peer "$BATS_TEST_TMPDIR/nc.out" setpriv --reuid=65534 --regid=65534 --clear-groups nc -U -d "$SOCK"
    wait_for_line "^getsockopt\\($FD, SOL_SOCKET, SO_PEERCRED\\) = 0  pid=$PEER_PID uid=65534 gid=65534\$"
}

# hint: Nothing new to write here once listen() has a backlog and accept() takes
#   one client at a time: the kernel queues unix clients itself (no
#   handshake), and a client sleeps in connect() while the queue is full.
#   See listen(2), unix(7).
@test "no handshake on the wire: with the accept queue full (backlog + 1), a client sleeps inside connect until accept makes room" {
    start_server
    local backlog
    backlog=$(listed "$SOCK" | awk '{ print $4 }')
    # Stopped, it accepts nothing: backlog + 1 silent clients fill its queue.
    suspend_lab
    local i
    for ((i = 0; i <= backlog; i++)); do
        start_peer "$BATS_TEST_TMPDIR/holder.$i.out" nc -U -d "$SOCK"
    done
    poll_until 5 queued $((backlog + 1)) || fail "queue: $(listed "$SOCK")"
    # One more: its connect() neither fails nor is retried later, as TCP's
    # would be: it sleeps in the kernel (perl itself is PEER_PID here).
    start_peer "$BATS_TEST_TMPDIR/late.out" perl -MSocket=:all -e '
        alarm 30;
        socket(my $client, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
        connect($client, pack_sockaddr_un($ARGV[0])) or die "connect: $!\n";
        $| = 1;
        print "connected\n";
        sleep 30;' "$SOCK"
    assert_blocked_in -p "$PEER_PID" connect
    refute grep -q connected "$BATS_TEST_TMPDIR/late.out"
    # The lab takes the first client off the queue: room for one more.
    resume_lab
    wait_for_line '^connected$' "$BATS_TEST_TMPDIR/late.out"
    wait_for_line "^accept\\($FD\\) = $FD  peer "
}

# hint: After accept() and SO_PEERCRED, echo_until_eof(conn_fd) echoes; then
#   close() the client's socket ("close(NEW) = 0") and accept the next.
#   Name the accepted socket conn_fd. See accept(2), close(2).
@test "a stream client's bytes come back; recv returns what arrived, 0 at EOF, and the lab serves the next" {
    start_server
    run -0 unix_connect "$SOCK" "hello there"
    assert_output "hello there"
    wait_for_line "^close\\($FD\\) = 0\$"
    read_lab_output
    assert_line --regexp "^$RECV\"hello there\", [0-9]+$FLAGS\\) = 11\$"
    assert_line --regexp "^$SEND\"hello there\", 11$FLAGS\\) = 11\$"
    assert_line --regexp "^$RECV\"\", [0-9]+$FLAGS\\) = 0  EOF"
    assert_blocked_in accept accept4
    run -0 unix_connect "$SOCK" "again"
    assert_output "again"
}

# hint: A stream keeps no boundaries: one recv() returns whatever is queued.
#   With -t dgram call recvfrom() once per datagram: each is whole. Print
#   "recvfrom(FD, ..." before it and 'recvfrom(FD, "BYTES", BUFSIZE,
#   MSG_TRUNC, ADDR) = SIZE' after. The test runs
#   the lab twice on one path: the first must remove its socket file at
#   exit (remove_socket_file()), or the second bind() gets EADDRINUSE.
#   See unix(7), recvfrom(2), unlink(2).
@test "no message boundaries on a stream: two sends made while the lab is stopped come out of one recv; two datagrams stay two" {
    start_server
    suspend_lab
    start_peer "$BATS_TEST_TMPDIR/client.out" timeout "$WAIT_SECONDS" perl -e "$UNIX_PERL_PRELUDE"'
        socket(my $client, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
        connect($client, address($ARGV[0])) or die "connect: ", errno_name(), "\n";
        for my $part ("one", "two") { defined send($client, $part, 0) or die "send: $!\n" }
        print "sent twice\n";
        shutdown($client, SHUT_WR) or die "shutdown: $!\n";
        while (defined recv($client, my $chunk, 65536, 0)) { last if $chunk eq "" }' "$SOCK"
    wait_for_line '^sent twice$' "$BATS_TEST_TMPDIR/client.out"
    resume_lab
    wait_for_line "^$RECV\"onetwo\", [0-9]+$FLAGS\\) = 6\$"
    stop_lab TERM

    start_server -t dgram
    suspend_lab
    run -0 unix_datagram "$SOCK" "one"
    run -0 unix_datagram "$SOCK" "two"
    resume_lab
    wait_for_line "^recvfrom\\($FD, \"two\", [0-9]+, .*\\) = 3"
    read_lab_output
    assert_line --regexp "^recvfrom\\($FD, \"one\", [0-9]+, .*\\) = 3"
}

# hint: -n COUNT: after COUNT clients the loop ends, the socket is closed, and
#   remove_socket_file() removes the file it made: lstat() it, unlink() it,
#   print 'unlink("PATH") = 0'. See unlink(2).
@test "-n 2: after two clients it closes the socket, removes its file, and exits 0" {
    start_server -n 2
    run -0 unix_connect "$SOCK" one
    run -0 unix_connect "$SOCK" two
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    [[ ! -e $SOCK ]] || fail "the socket file is still there: $(ls -l "$SOCK")"
    read_lab_output
    assert_line "unlink(\"$SOCK\") = 0"
    poll_until 5 not_listed "$SOCK" || fail "ss still lists $SOCK"
    run -1 unix_connect "$SOCK"
    assert_output "connect: ENOENT"
}

# hint: A stop signal makes accept() return -1 with EINTR: narrate_failure()
#   it and `continue` (the loop checks stop_requested); then close() and
#   remove the socket file as at a normal end. See accept(2), signal(7).
@test "SIGTERM in accept: accept = -1 EINTR, the socket closed and its file removed, exit 0" {
    start_server
    assert_blocked_in accept accept4
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --regexp "^accept\\($FD\\) = -1 EINTR "
    assert_line --regexp "^close\\($FD\\) = 0\$"
    assert_line "unlink(\"$SOCK\") = 0"
    [[ ! -e $SOCK ]] || fail "the socket file is still there"
}

# hint: Same end after SIGINT in recv(): the loop stops, close(), and
#   remove_socket_file() must unlink() the file bind() made (lstat() it:
#   same st_dev and st_ino as right after bind()). See unlink(2).
@test "SIGINT (Ctrl-C) in recv ends it the same way: no socket file left" {
    start_server
    start_peer "$BATS_TEST_TMPDIR/nc.out" nc -U -d "$SOCK"
    wait_for_line "SO_PEERCRED"
    assert_blocked_in recvfrom recv read
    stop_lab INT
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --regexp "^$RECV.*\\) = -1 EINTR "
    assert_line "unlink(\"$SOCK\") = 0"
    [[ ! -e $SOCK ]] || fail "the socket file is still there"
}

# hint: bind() on a path where a file exists fails with EADDRINUSE, even a
#   dead server's socket file: die() with the call named ("bind(FD, ...").
#   Nothing to remove without -u. See bind(2), unix(7).
@test "after SIGKILL the file stays: connect gets ECONNREFUSED, and a new bind gets EADDRINUSE" {
    start_server
    stop_lab KILL
    assert_equal "$LAB_STATUS" 137
    # No chance to clean up: the name outlives the socket.
    [[ -S $SOCK ]] || fail "no socket file at $SOCK after SIGKILL"
    poll_until 5 not_listed "$SOCK" || fail "ss still lists $SOCK"
    run -1 unix_connect "$SOCK"
    assert_output "connect: ECONNREFUSED"
    run --separate-stderr run_lab 11-unix -s "$SOCK" -n 1
    assert_call_failed bind EADDRINUSE
    assert_stderr_contains "bind("
    [[ -S $SOCK ]] || fail "the failed run removed the file"
}

# hint: A failed bind() is die()d: one stderr line naming bind and the errno
#   (ENOENT here), exit 1. See bind(2).
@test "bind() fails at once where no file can be made: ENOENT for a folder that does not exist, exit 1" {
    run --separate-stderr run_lab 11-unix -s "$SOCKET_DIR/missing/lab.sock"
    assert_call_failed bind ENOENT
    assert_stderr_contains "bind("
}

# hint: -u calls remove_socket_file() with made == NULL before bind(): lstat()
#   the path; a socket file (S_ISSOCK) is unlink()ed, and you print
#   'unlink("PATH") = 0'. See lstat(2), unlink(2).
@test "-u removes the stale socket file first, then binds and serves" {
    start_server
    stop_lab KILL
    [[ -S $SOCK ]] || fail "no stale socket file"
    start_server -u
    read_lab_output
    assert_line "unlink(\"$SOCK\") = 0"
    assert_line --regexp "^bind\\($FD, \"$SOCK\", [0-9]+\\) = 0\$"
    run -0 unix_connect "$SOCK" "fresh"
    assert_output "fresh"
}

# hint: remove_socket_file() must unlink() only a socket: S_ISSOCK() on
#   lstat()'s st_mode. Anything else is "left alone", and bind() then fails
#   with EADDRINUSE. See lstat(2), inode(7).
@test "-u never removes a file that is not a socket: a regular file stays, and bind fails with EADDRINUSE" {
    echo "keep me" >"$SOCK"
    run --separate-stderr run_lab 11-unix -s "$SOCK" -u
    assert_call_failed bind EADDRINUSE
    refute_line "unlink(\"$SOCK\") = 0"
    run -0 cat "$SOCK"
    assert_output "keep me"
}

# hint: At exit remove only the file bind() made: compare lstat()'s st_dev and
#   st_ino with `made`, recorded right after bind(). A file put in its place
#   is left alone, with no unlink line. See lstat(2), inode(7).
@test "at exit it removes only its own socket file: a file put in its place is left alone" {
    start_server
    rm "$SOCK"
    echo "not yours" >"$SOCK"
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    run -0 cat "$SOCK"
    assert_output "not yours"
    refute grep -q '^unlink(' "$LAB_OUT"
}

# hint: Nothing to write for this one but bind() itself: the kernel checks
#   write permission on the socket file and search permission on its
#   folders at connect(). bind() makes the file 0777 less the umask; do not
#   chmod it. See unix(7), path_resolution(7).
@test "permissions are the file's: EACCES for a client that may not write the socket file or search its folder (as uid 65534)" {
    [[ $(id -u) == 0 ]] || skip "needs root to run a client as uid 65534"
    open_dir
    SOCK=$OPEN_DIR/lab.sock
    # umask 022: srwxr-xr-x, no write permission for others.
    umask 022
    start_server
    run -0 stat -c %a "$SOCK"
    assert_output 755
    run -1 unix_connect_as_nobody "$SOCK"
    assert_output "connect: EACCES"
    stop_lab TERM
    # umask 000: srwxrwxrwx, anyone may connect ...
    umask 000
    start_server
    run -0 unix_connect_as_nobody "$SOCK" "let in"
    assert_output "let in"
    # ... unless a folder on the way may not be searched.
    chmod 700 "$OPEN_DIR"
    run -1 unix_connect_as_nobody "$SOCK"
    assert_output "connect: EACCES"
}

# unix_connect as uid 65534.
unix_connect_as_nobody() {
    as_nobody bash -c "$(declare -p UNIX_PERL_PRELUDE WAIT_SECONDS); $(declare -f unix_connect); unix_connect \"\$@\"" _ "$@"
}

# hint: @NAME: sun_path[0] is a NUL byte, NAME follows with no NUL after it, and
#   the length is exactly the bytes before sun_path, that NUL and NAME:
#   "bind(FD, @NAME, LENGTH) = 0". No file, so nothing to lstat() or
#   unlink(). See unix(7) ("Abstract sockets").
@test "-s @NAME: the abstract namespace: no file, ss shows @NAME, the length is exactly the name's, and the name goes with the socket" {
    local name="unix-lab-$$-$RANDOM-$BATS_SUITE_TEST_NUMBER"
    mkdir "$SOCKET_DIR/cwd"
    cd "$SOCKET_DIR/cwd"
    local before
    before=$(ls -A)
    start_lab 11-unix -s "@$name"
    wait_for_line "^accept\\($FD\\) \\.\\.\\.\$"
    read_lab_output
    # The family (2 bytes), the leading NUL, the name: nothing more.
    assert_line --regexp "^bind\\($FD, @$name, $((2 + 1 + ${#name}))\\) = 0\$"
    assert_line --regexp "^getsockname\\($FD\\) = @$name\$"
    assert_equal "$(ls -A)" "$before"
    run -0 listed "@$name"
    assert_output --regexp "^u_str +LISTEN "
    assert_output --partial "pid=$LAB_PID,"
    run -0 unix_connect "@$name" "abstract"
    assert_output "abstract"
    stop_lab TERM
    assert_equal "$LAB_STATUS" 0
    refute grep -qE '^(lstat|unlink)\(' "$LAB_OUT"
    poll_until 5 not_listed "@$name" || fail "ss still lists @$name"
    run -1 unix_connect "@$name"
    assert_output "connect: ECONNREFUSED"
    # Free at once for the next run: nothing like TCP's TIME_WAIT holds it.
    start_lab 11-unix -s "@$name"
    wait_for_line "^bind\\($FD, @$name, [0-9]+\\) = 0\$"
}

# hint: -t dgram: recvfrom() with room for the sender's struct sockaddr_un, then
#   sendto() the bytes back to that address and length. A sender whose
#   address is no longer than sun_family bound no name: print that and do
#   not answer. See recvfrom(2), sendto(2), unix(7).
@test "-t dgram: recvfrom shows the sender's path and the lab answers there; an unnamed sender gets no answer" {
    start_server -t dgram
    read_lab_output
    assert_line --regexp "^socket\\(AF_UNIX, SOCK_DGRAM, 0\\) = $FD\$"
    run -0 listed "$SOCK" dgram
    assert_output --partial "pid=$LAB_PID,"
    assert_blocked_in recvfrom recv read
    run -0 unix_datagram "$SOCK" "named" "$SOCKET_DIR/client"
    assert_output "named"
    read_lab_output
    assert_line --regexp "^recvfrom\\($FD, \"named\", [0-9]+, $DFLAGS, \"$SOCKET_DIR/client\"\\) = 5\$"
    assert_line --regexp "^sendto\\($FD, \"named\", 5, $DFLAGS, \"$SOCKET_DIR/client\"\\) = 5\$"
    # nc -uU binds a name of its own too, so it gets its answer.
    run -0 timeout 5 nc -uU -W 1 "$SOCK" <<<"by nc"
    assert_output "by nc"
    run -0 unix_datagram "$SOCK" "anonymous"
    wait_for_line "^recvfrom\\($FD, \"anonymous\", [0-9]+, $DFLAGS, \\(unnamed\\)\\) = 9"
    assert_blocked_in recvfrom recv read
    refute grep -q '^sendto(.*"anonymous"' "$LAB_OUT"
}

# hint: Answer each datagram with a plain blocking sendto() (flags 0, no
#   MSG_DONTWAIT): when the client's queue is full the kernel makes you
#   wait, and nothing is lost. Print "sendto(...) ..." before the call.
#   See unix(7), sendto(2).
@test "-t dgram: reliable datagrams: a full receiver makes the sender sleep in sendto, and nothing is lost once it reads" {
    local qlen count
    read -r qlen </proc/sys/net/unix/max_dgram_qlen
    count=$((qlen + 5))
    start_server -t dgram
    mkfifo "$SOCKET_DIR/go"
    # A client that sends COUNT datagrams and reads none of the answers yet:
    # its receive queue fills, and the lab's next answer must wait.
    start_peer "$BATS_TEST_TMPDIR/client.out" unix_datagrams "$SOCK" "$SOCKET_DIR/client" "$count" "$SOCKET_DIR/go"
    local client=$PEER_PID
    wait_for_line "^sent $count\$" "$BATS_TEST_TMPDIR/client.out"
    assert_blocked_in sendto sendmsg
    local last answered
    last=$(tail -n 1 "$LAB_OUT")
    [[ $last =~ ^sendto\($FD,\ \"d[0-9]+\",\ [0-9]+,\ $DFLAGS,\ \"$SOCKET_DIR/client\"\)\ \.\.\.$ ]] ||
        fail "the last line is not a sendto ... line: '$last'"
    answered=$(count_lines '^sendto\(.*\) = [0-9]+$')
    ((answered >= 1 && answered < count)) || fail "$answered answers sent before the lab blocked, of $count"
    # Nothing was dropped or refused: the lab waits, as a TCP sender would.
    refute grep -qE '^sendto\(.* = -1 ' "$LAB_OUT"
    # The client reads: the lab wakes and answers every datagram, in order.
    timeout 5 bash -c 'echo go >"$1"' _ "$SOCKET_DIR/go"
    wait_for_exit "$client"
    assert_equal "$LAB_STATUS" 0
    run -0 cat "$BATS_TEST_TMPDIR/client.out"
    assert_output "$(printf 'sent %d\n' "$count"; printf 'd%d\n' $(seq "$count"); printf 'received %d' "$count")"
    wait_for_lines "$count" '^sendto\(.*\) = [0-9]+$'
    assert_blocked_in recvfrom recv read
}

# hint: -P: socketpair(), print "socketpair(AF_UNIX, SOCK_STREAM, 0, [A, B])
#   = 0", and fork() into `child`. send_descriptor(): one byte in msg_iov,
#   the fd in one SCM_RIGHTS control message, sized with CMSG_LEN() and
#   CMSG_SPACE(); receive_descriptor(): recvmsg(), then CMSG_FIRSTHDR()
#   and CMSG_DATA(). See cmsg(3), sendmsg(2), recvmsg(2), unix(7).
@test "-P FILE: socketpair and fork; the parent passes an open descriptor (SCM_RIGHTS) and the child reads a file it never opened" {
    local fifo=$SOCKET_DIR/fifo writer
    mkfifo "$fifo"
    start_lab 11-unix -P "$fifo"
    wait_for_line "^socketpair\\(AF_UNIX, SOCK_STREAM, 0, \\[$FD, $FD\\]\\) = 0\$"
    wait_for_line '^fork\(\) = [0-9]+$'
    local child
    child=$(sed -nE 's/^fork\(\) = ([0-9]+)$/\1/p' "$LAB_OUT")
    STARTED_PIDS+=("$child")
    # They talk, each way, through the pair: what one sends, the other
    # receives (whatever the words).
    assert_passed_on "" "[pid $child] "
    assert_passed_on "[pid $child] " ""
    # The parent opens the FIFO (waiting for a writer: this one).
    wait_for_line "^open(at)?\\(.*\"$fifo\", O_RDONLY[^)]*\\) \\.\\.\\."
    # (Read-write: opening a FIFO so never waits, and this shell cannot hang.)
    exec {writer}<>"$fifo"
    wait_for_line "^\\[pid $child\\] recvmsg\\($FD, .*SCM_RIGHTS, \\[$FD\\].*\\) = [1-9]"
    local passed
    passed=$(sed -nE "s/^\\[pid $child\\] recvmsg\\([0-9]+, .*SCM_RIGHTS, \\[([0-9]+)\\].*\\) = [1-9].*/\\1/p" "$LAB_OUT")
    # The child's table has the FIFO under the number it was given, and the
    # child sleeps reading it; the parent has closed its own copy.
    assert_equal "$(readlink "/proc/$child/fd/$passed")" "$fifo"
    assert_blocked_in -p "$child" read
    poll_until 5 no_fd_to "$LAB_PID" "$fifo" || fail "the parent still has $fifo open: $(ls -l "/proc/$LAB_PID/fd")"
    printf 'secret\n' >&"$writer"
    exec {writer}>&-
    wait_for_exit
    assert_equal "$LAB_STATUS" 0
    read_lab_output
    assert_line --regexp "^\\[pid $child\\] read\\($passed, \"secret\\\\n\", [0-9]+\\) = 7\$"
    assert_line --regexp "^\\[pid $child\\] read\\($passed, \"\", [0-9]+\\) = 0"
    # The parent reaped its child before it ended.
    assert_line --regexp "^wait[a-z0-9]*\\(${child}[,)].* = $child( |\$)"
}

# hint: In the parent fork() returns the child's pid: keep it in `child`, the
#   given code passes SIGTERM on to it with kill() and reaps it with
#   waitpid(). The child must be reading the descriptor it received, so
#   send_descriptor() and receive_descriptor() must work first. See
#   fork(2), kill(2), waitpid(2).
@test "-P: SIGTERM to the parent alone, while the child sleeps reading the passed FIFO: it stops the child too, reaps it, and exits 0" {
    local fifo=$SOCKET_DIR/fifo writer child
    mkfifo "$fifo"
    start_lab 11-unix -P "$fifo"
    wait_for_line '^fork\(\) = [0-9]+$'
    child=$(sed -nE 's/^fork\(\) = ([0-9]+)$/\1/p' "$LAB_OUT")
    STARTED_PIDS+=("$child")
    # A writer that stays: the child's read() has nothing to wait for but bytes.
    exec {writer}<>"$fifo"
    wait_for_line "^\\[pid $child\\] recvmsg\\(.*SCM_RIGHTS"
    assert_blocked_in -p "$child" read
    # The parent waits for the child's end of the pair to close.
    assert_blocked_in recvfrom recv read
    kill -TERM "$LAB_PID"
    wait_for_exit
    exec {writer}>&-
    assert_equal "$LAB_STATUS" 0
    [[ ! -e /proc/$child ]] || fail "the child $child outlived the lab: $(cat "/proc/$child/stat")"
    read_lab_output
    assert_line --regexp "^wait[a-z0-9]*\\(${child}[,)].* = $child( |\$)"
}

# assert_passed_on FROM TO: the bytes of the first stream write narrated
# with the prefix FROM ("" for the parent, "[pid N] " for the child) are the
# bytes of the first read narrated with the prefix TO: they crossed the pair.
assert_passed_on() {
    local from=${1//\[/\\[} to=${2//\[/\\[} sent received
    local result=', [0-9]+(, 0)?\) = [1-9]'
    wait_for_line "^$from$SEND\".*$result"
    wait_for_line "^$to$RECV\".*$result"
    sent=$(first_bytes "^$from$SEND\".*$result")
    received=$(first_bytes "^$to$RECV\".*$result")
    [[ $sent == "$received" ]] || fail "$(show_lab_output)sent $sent, but the other side received $received"
}

# first_bytes REGEX: the quoted bytes of the first line of the lab's output
# that matches.
first_bytes() {
    grep -m 1 -E -- "$1" "$LAB_OUT" | sed -E 's/^[^"]*("([^"\\]|\\.)*").*/\1/'
}

# no_fd_to PID PATH: no descriptor of PID refers to PATH.
no_fd_to() {
    local link
    for link in "/proc/$1/fd/"*; do
        [[ $(readlink "$link") != "$2" ]] || return 1
    done
}

# hint: The child reads the descriptor receive_descriptor() returns: the number
#   in CMSG_DATA() of the message received (the kernel's new number in the
#   child), not the parent's. The parent's sendmsg line ends "= 1". See
#   cmsg(3), unix(7) (SCM_RIGHTS).
@test "-P FILE with a regular file: the child prints its bytes; a file that cannot be opened is open = -1 ENOENT, exit 1, the child reaped" {
    printf 'first line\nsecond\n' >"$SOCKET_DIR/file"
    run --separate-stderr run_lab 11-unix -P "$SOCKET_DIR/file"
    assert_equal "$status" 0
    assert_line --regexp '^\[pid [0-9]+\] read\([0-9]+, "first line\\nsecond\\n", [0-9]+\) = 18$'
    assert_line --regexp '^sendmsg\([0-9]+, .*SCM_RIGHTS.*\) = [1-9][0-9]*$'
    run --separate-stderr run_lab 11-unix -P "$SOCKET_DIR/missing"
    # open() or openat(): either is right.
    assert_equal "$status" 1
    # shellcheck disable=SC2154 # $stderr: set by run --separate-stderr
    [[ $stderr =~ (^|[^[:alnum:]])open(at)?[^[:alnum:]].*ENOENT ]] ||
        fail "no line of stderr names open or openat and ENOENT: $stderr"
    # Even so, the parent reaped its child before it ended: no orphan left.
    local child
    child=$(sed -nE 's/^fork\(\) = ([0-9]+)$/\1/p' <<<"$output")
    assert_line --regexp "^wait[a-z0-9]*\\(${child}[,)].* = $child( |\$)"
    [[ ! -e /proc/$child ]] || fail "the child $child outlived the lab: $(cat "/proc/$child/stat")"
}

# hint: fill_address() refuses with usage_error() (exit 2, naming the value)
#   an empty NAME, "@" alone, and names too long for sun_path. See unix(7).
@test "bad usage exits 2 naming the bad value" {
    local long
    long=/tmp/$(printf 'x%.0s' {1..110})
    run --separate-stderr run_lab 11-unix -s "$long"
    assert_usage_error "$long"
    run --separate-stderr run_lab 11-unix -s ''
    assert_usage_error ""
    run --separate-stderr run_lab 11-unix -s @
    assert_usage_error @
    run --separate-stderr run_lab 11-unix -t seqpacket
    assert_usage_error seqpacket
    run --separate-stderr run_lab 11-unix -t ''
    assert_usage_error ""
    local value
    for value in 0 -1 99999999999999999999; do
        run --separate-stderr run_lab 11-unix -n "$value"
        assert_usage_error "$value"
    done
    for value in two '' 3x; do
        run --separate-stderr run_lab 11-unix -n "$value"
        assert_usage_error "$value"
    done
    for value in s t n P; do
        run --separate-stderr run_lab 11-unix "-$value"
        assert_usage_error "-$value"
    done
    # No ports and no IP addresses here.
    for value in a p x; do
        run --separate-stderr run_lab 11-unix "-$value" 1
        assert_usage_error "-$value"
    done
    run --separate-stderr run_lab 11-unix -P /etc/hostname -s "$SOCK"
    assert_usage_error "-P"
    run --separate-stderr run_lab 11-unix -s "$SOCK" extra
    assert_usage_error extra
    # Nothing was made on the way.
    [[ ! -e $SOCK ]] || fail "a usage error left $SOCK"
}

# hint: sun_path has 108 bytes: a path and its NUL must fit (107 bytes at
#   most); an abstract name has no NUL at its end, so "@" and 107 bytes fit. See
#   unix(7) ("Address format").
@test "sun_path holds 108 bytes: a path of 107 bytes binds, 108 is refused; @ and 107 bytes bind an abstract name, 108 is refused" {
    local path=$SOCKET_DIR/ name="unix-lab-$$-$RANDOM-"
    path+=$(printf 'p%.0s' $(seq $((107 - ${#path}))))
    name+=$(printf 'n%.0s' $(seq $((107 - ${#name}))))
    SOCK=$path
    start_server
    [[ -S $SOCK ]] || fail "no socket file at the 107-byte path"
    run -0 unix_connect "$SOCK" "long path"
    assert_output "long path"
    stop_lab TERM
    start_lab 11-unix -s "@$name"
    wait_for_line "^accept\\($FD\\) \\.\\.\\.\$"
    run -0 unix_connect "@$name" "long name"
    assert_output "long name"
    stop_lab TERM
    # One byte more, and the lab says so before it makes anything.
    run --separate-stderr run_lab 11-unix -s "${path}q"
    assert_usage_error "${path}q"
    [[ ! -e ${path}q ]] || fail "a usage error left ${path}q"
    run --separate-stderr run_lab 11-unix -s "@${name}q"
    assert_usage_error "@${name}q"
}

# hint: Nothing to write for -h: option parsing is given. If this fails, the
#   program did not build or start. See getopt(3).
@test "-h prints the usage on stdout and exits 0" {
    assert_help 11-unix unix
}

# hint: A misbehaving client ends its own connection, never the server: a
#   failed accept() that concerns one connection is narrated and the loop
#   goes on (only_this_connection_failed()); close() every accepted socket.
#   See accept(2), close(2).
@test "hostile stream clients (random bytes then gone, 1 MiB, a close with the echo unread, a half-close, a silent one) neither kill it nor leak a descriptor" {
    start_server
    local fds_before
    fds_before=$(fd_count "$LAB_PID")
    # Stopped, it accepts nothing: all connect and do their part first.
    suspend_lab
    start_peer "$BATS_TEST_TMPDIR/silent.out" nc -U -d "$SOCK"
    local silent=$PEER_PID
    poll_until 5 queued 1 || fail "the silent client is not queued: $(listed "$SOCK")"
    start_unix_hostile_clients "$SOCK"
    wait_for_line '^ready: 4 connected$' "$HOSTILE_OUT"
    resume_lab
    # An iterative server: the silent client, first in the queue, holds up
    # every other one until it leaves.
    assert_blocked_in recvfrom recv read
    assert_equal "$(count_lines '^accept\([0-9]+\) = ')" 1
    end_peer "$silent"
    wait_for_exit "$PEER_PID"
    wait_for_lines 5 "^close\\($FD\\) = 0\$"
    run -0 cat "$HOSTILE_OUT"
    assert_line "half-close: sent 0 bytes, received 0, then EOF"
    assert_line --regexp '^garbage: sent 1048576 bytes, received [0-9]+, then '
    read_lab_output
    assert_line --regexp "^$SEND.*\\) = -1 EPIPE "
    assert_line --regexp "^$RECV.*\\) = -1 ECONNRESET "
    wait_for_lines 5 "^accept\\($FD\\) = "
    assert_blocked_in accept accept4
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
    run -0 unix_connect "$SOCK" "still here"
    assert_output "still here"
}

# queued N: the listener on $SOCK has N connections waiting for accept().
queued() {
    [[ $(listed "$SOCK" | awk '{ print $3 }') == "$1" ]]
}

# hint: A failed sendto() concerns one sender: narrate_failure() it and go on
#   with the next datagram, never die(). Use MSG_TRUNC so a big datagram
#   is one truncated result. See recvfrom(2), sendto(2), unix(7).
@test "hostile datagrams (random, 100000 bytes, empty, from unnamed senders and senders already gone) neither stop it nor open a descriptor" {
    start_server -t dgram
    local fds_before
    fds_before=$(fd_count "$LAB_PID")
    run -0 hostile_unix_datagrams "$SOCK"
    assert_output 12
    wait_for_lines 12 '^recvfrom\(.*\(unnamed\)\) = [0-9]+'
    read_lab_output
    assert_line --regexp '\) = 100000( |$)'
    # Two senders gone before the answer: their answers fail, at once.
    suspend_lab
    run -0 vanished_senders "$SOCK" "$SOCKET_DIR"
    resume_lab
    wait_for_line "^sendto\\($FD, \"removed\", 7, $DFLAGS, \"$SOCKET_DIR/removed\"\\) = -1 ENOENT "
    read_lab_output
    assert_line --regexp "^sendto\\($FD, \"closed\", 6, $DFLAGS, \"$SOCKET_DIR/closed\"\\) = -1 ECONNREFUSED "
    assert_blocked_in recvfrom recv read
    assert_equal "$(fd_count "$LAB_PID")" "$fds_before"
    run -0 unix_datagram "$SOCK" "next" "$SOCKET_DIR/client"
    assert_output "next"
}
