# shellcheck shell=bash
heading "04-accept: accept() sleeps until a connection is queued, then returns a new socket for it"
serve accept labs/04-accept/accept -p 0
accept_pid=$SERVED_PID
port=$(port_of accept)
await accept '^accept\(3\) \.\.\.$'
# The "..." line comes just before the call: look until the kernel shows it asleep (wchan is 0 while it runs).
for _ in {1..100}; do
    wchan=$(cat "/proc/$accept_pid/wchan" 2>/dev/null)
    [[ $wchan == 0 ]] || break
    sleep 0.02
done
say "no client yet: it sleeps inside accept(); /proc/$accept_pid/wchan names the wait: $wchan"
say "a client: accept() returns fd 4 and the client's address; the lab writes the message and closes fd 4"
shown nc -d 127.0.0.1 "$port"
await accept '^close\(4\) = 0$'
say "another: fd 4 again, because fd 4 was closed; the listening socket stays fd 3"
shown nc -d 127.0.0.1 "$port"
await accept '^accept\(3\) \.\.\.$'
say "the server closed first, so its side keeps each connection in TIME_WAIT, on its own port"
shown ss -tn state time-wait "( sport = :$port )"
say "Ctrl-C: accept() returns -1 EINTR, the lab closes fd 3 and exits 0"
finish "$accept_pid" INT
say "start again on the same port at once: SO_REUSEADDR lets bind() past TIME_WAIT; -n 1 serves one client"
serve accept-again labs/04-accept/accept -p "$port" -n 1
await accept-again '^accept\(3\) \.\.\.$'
shown nc -d 127.0.0.1 "$port"
await accept-again '^close\(3\) = 0$'
wait "$SERVED_PID" 2>/dev/null
sleep 0.05   # let the prefixing sed print the last lines
