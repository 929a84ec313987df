# shellcheck shell=bash
heading "11-unix: an AF_UNIX socket's address is a path, and bind() makes a file there"
sock=$TOUR_TMP/lab.sock
serve unix labs/11-unix/unix -s "$sock"
await unix '^accept\(3\) \.\.\.'
say "the file bind() made: 's' for socket, permissions 0777 less the umask"
shown ls -l "$sock"
say "the kernel's view: a listener named by its path, no address, no port"
shown ss -xlp "src $sock"
say "a client: nc -U; SO_PEERCRED tells the lab nc's pid, uid and gid"
printf '$ printf '"'"'hello\\n'"'"' | nc -NU %s\n' "$sock"
printf 'hello\n' | timeout 5 nc -NU "$sock"
await unix '^close\(4\) = 0'
say "SIGKILL: no chance to clean up, and the file outlives the socket"
printf '$ kill -KILL %s\n' "$SERVED_PID"
kill -KILL "$SERVED_PID"
wait "$SERVED_PID" 2>/dev/null
shown ls -l "$sock"
say "nobody listens, yet the name is taken: the next bind() gets EADDRINUSE"
shown labs/11-unix/unix -s "$sock"
say "-u removes a socket file left behind, then binds (and never removes another kind of file)"
serve unix labs/11-unix/unix -s "$sock" -u
await unix '^accept\(3\) \.\.\.'
say "Ctrl-C: accept() returns EINTR; the lab closes the socket and removes its file"
finish "$SERVED_PID" INT
shown ls -l "$sock"

say "datagrams: the same calls as 07; nc -uU binds a name of its own, so it can be answered"
serve unix labs/11-unix/unix -s "$sock" -t dgram -n 1
await unix '^recvfrom\(3, \.\.\.'
printf '$ printf '"'"'ping\\n'"'"' | nc -uU -W 1 %s\n' "$sock"
printf 'ping\n' | timeout 5 nc -uU -W 1 "$sock"
await unix '^unlink\('

say "@NAME: the abstract namespace: no file at all, and ss shows the name with an @"
serve unix labs/11-unix/unix -s @socket-labs-tour
await unix '^accept\(3\) \.\.\.'
shown ss -xlp "src @socket-labs-tour"
finish "$SERVED_PID" INT

say "-P: socketpair(), fork(), and an open file passed from parent to child (SCM_RIGHTS)"
printf 'a line the child reads\n' >"$TOUR_TMP/passed.txt"
shown labs/11-unix/unix -P "$TOUR_TMP/passed.txt"
