# shellcheck shell=bash
heading "03-listen: listen() returns at once, and the kernel completes the handshakes itself"
say "backlog 1; the lab never calls accept(), and prints the accept queue's length when it changes"
serve listen labs/03-listen/listen -b 1 -p 0
listen_pid=$SERVED_PID
port=$(port_of listen)
await listen '^accept queue: 0 pending'
say "two clients: each connect() succeeds at once, though nothing accepts"
serve client1 nc -v -d 127.0.0.1 "$port"
await client1 'succeeded!$'
await listen '^accept queue: 1 pending'
serve client2 nc -v -d 127.0.0.1 "$port"
await client2 'succeeded!$'
await listen '^accept queue: 2 pending'
say "the kernel's view: on a listening socket Recv-Q is the queue and Send-Q the backlog"
shown ss -ltn "sport = :$port"
say "a third client: backlog 1 admits 2, so the kernel drops its SYN; connect hangs until nc gives up (1 s)"
shown nc -v -w 1 127.0.0.1 "$port"
say "Ctrl-C: poll() returns -1 EINTR; closing the listening socket resets both queued clients"
finish "$listen_pid" INT
