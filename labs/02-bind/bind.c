/* 02-bind: bind() gives a socket its local address.
 *
 * What it shows
 *   A new socket has no address. bind(fd, address, length) asks the kernel
 *   to give it one: an IP address of this host and a port. The kernel checks
 *   that the address is one of this host's, that the port is free, and that
 *   you may use it, then records the pair. bind() never blocks: it is a
 *   table look-up in the kernel, done or refused at once.
 *
 *   The lab binds, prints the address the kernel really gave it
 *   (getsockname: with -p 0 the kernel picks the port), then holds the
 *   socket in pause() until SIGINT or SIGTERM. While it holds:
 *     - a second ./bind on the same port fails with EADDRINUSE;
 *     - nc gets "Connection refused": bound is not listening.
 *
 * Run it
 *   ./bind                         127.0.0.1:2017, TCP
 *   ./bind -p 0                    let the kernel choose the port
 *   ./bind -a ::1 -t dgram         IPv6, UDP
 *   ./bind -a 192.0.2.1            not this host's address: EADDRNOTAVAIL
 *   ./bind -p 80                   as a normal user: EACCES
 *   ./bind -r                      SO_REUSEADDR: bind past TIME_WAIT
 *
 * Watch it (second terminal)
 *   ./bind                         again: EADDRINUSE
 *   nc -vz 127.0.0.1 2017          Connection refused
 *   ls -l /proc/$(pgrep -x bind)/fd    fd 3 -> socket:[...]
 *
 * See also: bind(2), getsockname(2), ip(7) (SO_REUSEADDR, port ranges), pause(2)
 */
#include "lab.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage[] =
    "usage: bind [-a ADDR] [-p PORT] [-r] [-t stream|dgram] [-h]\n"
    "  Binds a socket to ADDR:PORT and holds it until SIGINT (Ctrl-C) or SIGTERM.\n"
    "  -a ADDR   IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT   0-65535, 0 lets the kernel choose (default 2017)\n"
    "  -r        set SO_REUSEADDR first (bind past a port in TIME_WAIT)\n"
    "  -t TYPE   stream (TCP, the default) or dgram (UDP)\n"
    "  -h        show this help\n";

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    int reuse_address = 0;
    int type = SOCK_STREAM;
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:rt:h")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'r': reuse_address = 1; break;
        case 't':
            if (strcmp(optarg, "stream") == 0)
                type = SOCK_STREAM;
            else if (strcmp(optarg, "dgram") == 0)
                type = SOCK_DGRAM;
            else
                usage_error("type '%s' is neither stream nor dgram", optarg);
            break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    struct sockaddr_storage address;
    socklen_t address_length = parse_address(address_text, port, &address);
    int family = address.ss_family;
    const char *family_name = family == AF_INET ? "AF_INET" : "AF_INET6";
    const char *type_name = type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_DGRAM";

    catch_stop_signals();

    /* Step 1: a socket of the address's family. It has no address yet. */
    int fd = socket(family, type, 0);
    if (fd == -1)
        die("socket(%s, %s, 0)", family_name, type_name);
    printf("socket(%s, %s, 0) = %d\n", family_name, type_name, fd);

    /* Step 2 (with -r): SO_REUSEADDR. Without it the kernel refuses a port
     * that an old connection still holds in TIME_WAIT. It never lets two
     * sockets *listen* on one address and port at the same time. */
    /*[ With -r (reuse_address): setsockopt() SO_REUSEADDR to 1 (die() if
     *  it fails) and print "setsockopt(FD, SOL_SOCKET, SO_REUSEADDR, [1],
     *  4) = 0" (4: the option's size). See setsockopt(2), socket(7).
     *  stub: (void)reuse_address; */
    if (reuse_address) {
        int on = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
            die("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1])", fd);
        printf("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1], %zu) = 0\n", fd, sizeof on);
    }
    /*] */

    /* Step 3: bind. The kernel checks, in one go and without waiting:
     *   - the address belongs to this host        else EADDRNOTAVAIL
     *   - the port is not held by another socket  else EADDRINUSE
     *   - a port below net.ipv4.ip_unprivileged_port_start (1024) needs
     *     root or CAP_NET_BIND_SERVICE            else EACCES
     * Port 0 means "any free port": the kernel picks one from
     * net.ipv4.ip_local_port_range. */
    /*[ bind() fd to `address` (format_address() it for the lines); if it
     *  fails, die("bind(FD, ADDR:PORT)"): the errno tells which check failed.
     *  Print "bind(FD, ADDR:PORT) = 0". Then ask getsockname() which address
     *  the socket really has and print "getsockname(FD) = ADDR:PORT" (the
     *  tests read the port from this line). See bind(2), getsockname(2).
     *  stub: (void)address_length; */
    char requested[ADDRESS_TEXT_SIZE];
    format_address((struct sockaddr *)&address, requested);
    if (bind(fd, (struct sockaddr *)&address, address_length) == -1)
        die("bind(%d, %s)", fd, requested);
    printf("bind(%d, %s) = 0\n", fd, requested);

    /* Step 4: ask the kernel which address the socket now has. With -p 0
     * this is the only way to learn the port it chose. */
    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) == -1)
        die("getsockname(%d)", fd);
    char bound_text[ADDRESS_TEXT_SIZE];
    format_address((struct sockaddr *)&bound, bound_text);
    printf("getsockname(%d) = %s\n", fd, bound_text);
    /*] */

    /* Step 5: hold the address. pause() sleeps until a signal arrives.
     * The socket is bound but not listening: a TCP client that tries to
     * connect gets a reset (ECONNREFUSED), and another bind() to this port
     * fails. SIGINT/SIGTERM end the pause with -1 EINTR. */
    /*[ Until stop_requested: print "pause() ..." and call pause(); it
     *  returns -1 with EINTR when a signal arrives: print that with
     *  narrate_failure("pause()"). See pause(2), signal(7). */
    while (!stop_requested) {
        printf("pause() ...\n");
        if (pause() == -1)
            narrate_failure("pause()");
    }
    /*] */

    /* Step 6: closing the socket releases the address at once: a bound
     * socket that never connected leaves no TIME_WAIT behind. */
    if (close(fd) == -1)
        die("close(%d)", fd);
    printf("close(%d) = 0\n", fd);
    return 0;
}
