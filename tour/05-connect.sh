# shellcheck shell=bash
heading "05-connect: connect() returns when the handshake is done, not when the server accepts"
say "a greeting server (04); the client prints its kernel-chosen port, the greeting, then EOF"
serve accept labs/04-accept/accept -p 0 -n 1
port=$(port_of accept)
await accept '^accept\(3\) \.\.\.$'
shown labs/05-connect/connect -p "$port"
await accept '^close\(3\) = 0$'
say "-m against the echo server (06): send, half-close (shutdown SHUT_WR), read the echo, then EOF"
serve echo labs/06-send-recv/send-recv -p 0
port=$(port_of echo)
await echo '^accept\('
shown labs/05-connect/connect -p "$port" -m 'hi there'
await echo '^close\(4\) = 0$'
say "against 03, which never calls accept(): connect() returns at once all the same, then recv() waits for data"
serve listen labs/03-listen/listen -p 0
listen_pid=$SERVED_PID
port=$(port_of listen)
await listen '^accept queue: 0 pending'
serve connect labs/05-connect/connect -p "$port"
await connect '^recv\(3, \.\.\.$'
await listen '^accept queue: 1 pending'
finish "$SERVED_PID" INT
finish "$listen_pid" INT
say "nothing listens on port 9: the kernel answers the SYN with a reset, ECONNREFUSED at once"
shown labs/05-connect/connect -p 9
