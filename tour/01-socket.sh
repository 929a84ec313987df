# shellcheck shell=bash
heading "01-socket: socket() returns a file descriptor, the lowest free one"
say "six sockets, fds 3 to 8 (0-2 are stdin, stdout, stderr); close 3, and the next socket gets 3 again"
shown labs/01-socket/socket
say "a pair the kernel does not support fails with its errno, exit status 1"
shown labs/01-socket/socket -d inet -t seqpacket
