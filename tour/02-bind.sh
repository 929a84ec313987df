# shellcheck shell=bash
heading "02-bind: bind() gives the socket an address, or refuses at once"
say "-p 0: the kernel picks the port; the lab then holds it in pause()"
serve bind labs/02-bind/bind -p 0
port=$(port_of bind)
await bind '^pause'
say "the same port again: refused at once, nothing waits"
shown labs/02-bind/bind -p "$port"
say "bound is not listening: a client's SYN is answered with a reset"
shown nc -vz 127.0.0.1 "$port"
say "an address this host does not have"
shown labs/02-bind/bind -a 192.0.2.1
say "Ctrl-C: pause() returns -1 EINTR, the lab closes its socket and exits 0"
finish "$SERVED_PID" INT
