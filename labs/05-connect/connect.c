/* 05-connect: connect() is the client's side of the handshake.
 *
 * What it shows
 *   connect(fd, server, length) asks the kernel to open a TCP connection:
 *   it picks a local port for the socket if it has none (the implicit
 *   bind), sends a SYN, and puts the process to sleep until the server's
 *   kernel answers SYN+ACK and it has sent the final ACK. Then connect()
 *   returns 0. The server *program* plays no part: its kernel completes the
 *   handshake and queues the connection before anyone calls accept().
 *
 *   connect() blocks until the handshake is done or fails:
 *     - nothing listens on the port: a reset comes back, ECONNREFUSED at once;
 *     - the server's accept queue is full: its kernel drops the SYN, ours
 *       sends it again after 1 s, 3 s, 7 s ... and connect() sleeps on;
 *       -w SECONDS tells the kernel to give up sooner (ETIMEDOUT).
 *
 *   After connecting, the lab prints the local address the kernel chose and
 *   the peer, sends -m MESSAGE if given and half-closes (shutdown SHUT_WR:
 *   the server reads EOF), then prints everything the server sends until EOF.
 *
 * Run it
 *   ../04-accept/accept -p 2017 &   then   ./connect
 *   ./connect -p 9                  nothing listens: ECONNREFUSED
 *   ./connect -m 'hi' -p PORT       send, half-close, read the answer
 *
 * Watch it (second terminal)
 *   ss -tn                          against 03 (it keeps it): the ephemeral port
 *   strace -e trace=network ./connect
 *
 * See also: connect(2), getsockname(2), getpeername(2), shutdown(2), tcp(7)
 */
#include "lab.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: connect [-a ADDR] [-p PORT] [-m MESSAGE] [-w SECONDS] [-h]\n"
    "  Connects to ADDR:PORT, sends MESSAGE, prints what the server sends until EOF.\n"
    "  -a ADDR     the server's IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT     the server's port, 0-65535 (default 2017)\n"
    "  -m MESSAGE  send MESSAGE, then shut down the sending side (the server sees EOF)\n"
    "  -w SECONDS  give up on a handshake that takes longer, 1-3600 (ETIMEDOUT)\n"
    "  -h          show this help\n";

enum { RECEIVE_SIZE = 1024 };

static double milliseconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    const char *message = NULL;
    long give_up_seconds = 0;
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:m:w:h")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'm': message = optarg; break;
        case 'w': give_up_seconds = parse_number(optarg, "seconds", 1, 3600); break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    struct sockaddr_storage server;
    socklen_t server_length = parse_address(address_text, port, &server);
    char server_text[ADDRESS_TEXT_SIZE];
    format_address((struct sockaddr *)&server, server_text);
    const char *family_name = server.ss_family == AF_INET ? "AF_INET" : "AF_INET6";

    catch_stop_signals();
    /* A server that closes while we send would raise SIGPIPE, whose default
     * action kills the process. Ignored, send() fails with EPIPE instead. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal(SIGPIPE, SIG_IGN)");

    /* Step 1: a stream socket. No bind(): connect() will choose our port. */
    int fd = socket(server.ss_family, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket(%s, SOCK_STREAM, 0)", family_name);
    printf("socket(%s, SOCK_STREAM, 0) = %d\n", family_name, fd);

    /* Step 2 (with -w): TCP_USER_TIMEOUT bounds how long the kernel keeps
     * resending an unanswered SYN. When it runs out, connect() fails with
     * ETIMEDOUT: the kernel's own verdict, not a timer of ours. (Without
     * it the kernel retries net.ipv4.tcp_syn_retries times, about 2 min.) */
    if (give_up_seconds > 0) {
        unsigned int timeout_ms = (unsigned int)give_up_seconds * 1000;
        if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms) == -1)
            die("setsockopt(%d, IPPROTO_TCP, TCP_USER_TIMEOUT, [%u])", fd, timeout_ms);
        printf("setsockopt(%d, IPPROTO_TCP, TCP_USER_TIMEOUT, [%u], %zu) = 0\n",
               fd, timeout_ms, sizeof timeout_ms);
    }

    /* Step 3: connect. The kernel binds the socket to a free local port
     * (net.ipv4.ip_local_port_range), sends SYN and sleeps until SYN+ACK
     * comes back and it has answered ACK: the three-way handshake. The
     * server's kernel does its part alone and queues the connection; the
     * server program may not have called accept() yet, and need not. */
    /*[ Print "connect(FD, ADDR:PORT) ..." and call connect() to `server`,
     *  timing it (clock_gettime(CLOCK_MONOTONIC), milliseconds_since()).
     *  After EINTR: narrate_failure() the call, close fd, return 0; any other
     *  error: die("connect(FD, ADDR:PORT)"). Then print
     *  "connect(FD, ADDR:PORT) = 0  after MS ms" (MS with 3 decimals).
     *  See connect(2), clock_gettime(2).
     *  stub: (void)server_length; (void)milliseconds_since; */
    printf("connect(%d, %s) ...\n", fd, server_text);
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    if (connect(fd, (struct sockaddr *)&server, server_length) == -1) {
        if (errno == EINTR) {           /* Ctrl-C during the handshake */
            narrate_failure("connect(%d, %s)", fd, server_text);
            close(fd);
            return 0;
        }
        die("connect(%d, %s)", fd, server_text);
    }
    printf("connect(%d, %s) = 0  after %.3f ms\n", fd, server_text,
           milliseconds_since(&started));
    /*] */

    /* Step 4: the implicit bind. connect() gave the socket a local address;
     * getsockname() shows it. getpeername() shows the other end. Together
     * with the protocol they are the connection's 5-tuple. */
    /*[ The implicit bind: getsockname() fd and print
     *  "getsockname(FD) = ADDR:PORT  the port the kernel chose"; then
     *  getpeername() and print "getpeername(FD) = ADDR:PORT". die() if
     *  either fails. See getsockname(2), getpeername(2). */
    struct sockaddr_storage local, peer;
    socklen_t local_length = sizeof local, peer_length = sizeof peer;
    char local_text[ADDRESS_TEXT_SIZE], peer_text[ADDRESS_TEXT_SIZE];
    if (getsockname(fd, (struct sockaddr *)&local, &local_length) == -1)
        die("getsockname(%d)", fd);
    format_address((struct sockaddr *)&local, local_text);
    printf("getsockname(%d) = %s  the port the kernel chose\n", fd, local_text);
    if (getpeername(fd, (struct sockaddr *)&peer, &peer_length) == -1)
        die("getpeername(%d)", fd);
    format_address((struct sockaddr *)&peer, peer_text);
    printf("getpeername(%d) = %s\n", fd, peer_text);
    /*] */

    /* Step 5 (with -m): send the message. send() copies bytes into the
     * socket's send buffer and may take fewer than asked: loop until all
     * are in. Then shutdown(SHUT_WR) sends FIN: "no more from me". The
     * server's recv() returns 0 (EOF) while we can still read its answer. */
    /*[ With -m (message not NULL): send() it all, looping on partial
     *  sends, printing each call as 'send(FD, "BYTES", LEFT, 0) = N'
     *  (print_escaped(); write() is as right: 'write(FD, "BYTES", LEFT) = N');
     *  die() on failure. Then shutdown(fd, SHUT_WR) and print
     *  "shutdown(FD, SHUT_WR) = 0". See send(2), shutdown(2).
     *  stub: (void)message; */
    if (message != NULL) {
        size_t length = strlen(message), sent = 0;
        while (sent < length) {
            ssize_t n = send(fd, message + sent, length - sent, 0);
            if (n == -1)
                die("send(%d, ..., %zu, 0)", fd, length - sent);
            printf("send(%d, ", fd);
            print_escaped(message + sent, (size_t)n, 64);
            printf(", %zu, 0) = %zd\n", length - sent, n);
            sent += (size_t)n;
        }
        if (shutdown(fd, SHUT_WR) == -1)
            die("shutdown(%d, SHUT_WR)", fd);
        printf("shutdown(%d, SHUT_WR) = 0  the server will read EOF\n", fd);
    }
    /*] */

    /* Step 6: print what the server sends. recv() sleeps until at least one
     * byte is there, then returns what has arrived (up to the buffer size);
     * 0 means the server closed its side: end of file. */
    /*[ Until EOF: print "recv(FD, ..." and recv() into a buffer of
     *  RECEIVE_SIZE bytes; print 'recv(FD, "BYTES", SIZE, 0) = N' (bytes
     *  through print_escaped()); at N = 0 (EOF) stop. After EINTR:
     *  narrate_failure() and stop; other errors: die(). read() is as
     *  right ('read(FD, "BYTES", SIZE) = N'). See recv(2). */
    char buffer[RECEIVE_SIZE];
    for (;;) {
        printf("recv(%d, ...\n", fd);
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n == -1) {
            if (errno == EINTR) {
                narrate_failure("recv(%d, ..., %zu, 0)", fd, sizeof buffer);
                break;
            }
            die("recv(%d, ..., %zu, 0)", fd, sizeof buffer);
        }
        printf("recv(%d, ", fd);
        print_escaped(buffer, (size_t)n, 64);
        printf(", %zu, 0) = %zd%s\n", sizeof buffer, n,
               n == 0 ? "  EOF: the peer closed its side" : "");
        if (n == 0)
            break;
    }
    /*] */

    /* Step 7: close. */
    if (close(fd) == -1)
        die("close(%d)", fd);
    printf("close(%d) = 0\n", fd);
    return 0;
}
