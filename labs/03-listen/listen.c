/* 03-listen: listen() makes a socket passive; from then on the kernel
 * answers clients by itself.
 *
 * What it shows
 *   listen(fd, backlog) returns at once. It does not wait for a client: it
 *   tells the kernel "accept connections on this address for me". From that
 *   moment the kernel completes each client's TCP handshake on its own and
 *   puts the finished connection in the socket's ACCEPT QUEUE, where it waits
 *   for the program to call accept(). The client's connect() has already
 *   returned by then.
 *
 *   This lab never calls accept(). It listens, then looks at the accept
 *   queue every 100 ms (Linux's TCP_INFO on a listening socket gives its
 *   length and the backlog) and prints a line each time the length changes:
 *       accept queue: N pending (backlog B)
 *   Between two looks it sleeps in poll() with a timeout. It holds the
 *   socket until SIGINT or SIGTERM.
 *
 *   With -b 1, two clients connect at once and the queue reads 1, then 2:
 *   Linux lets backlog+1 connections wait. A third client's handshake does
 *   not complete: the kernel drops its SYN, and the client's connect()
 *   hangs while it sends the SYN again (after 1 s, 3 s, 7 s ...).
 *
 * Run it
 *   ./listen                     127.0.0.1:2017, backlog 10
 *   ./listen -b 1 -p 0           backlog 1, a port the kernel chooses
 *   ./listen -b 100000           the kernel caps it at net.core.somaxconn
 *
 * Watch it (second terminal)
 *   nc -v -d 127.0.0.1 2017      "succeeded" at once, though nothing accepts
 *   ss -ltn 'sport = :2017'      Recv-Q = queue length, Send-Q = backlog
 *   nc -v -w 3 127.0.0.1 2017    once the queue is full: "timed out"
 *   strace -p $(pgrep -x listen) poll() and getsockopt(TCP_INFO): never accept()
 *
 * Lines meant to be read by scripts (and by other labs' tests):
 *   listen(FD, B) = 0                  it is listening: clients may connect
 *   accept queue: N pending (backlog B)  one line per change, starting at 0
 *
 * See also: listen(2), tcp(7) (TCP_INFO, tcp_max_syn_backlog), poll(2),
 *           ss(8); /proc/sys/net/core/somaxconn
 */
#include "lab.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long to sleep between two looks at the queue. */
#define LOOK_INTERVAL_MS 100

static const char usage[] =
    "usage: listen [-a ADDR] [-p PORT] [-b BACKLOG] [-h]\n"
    "  Listens on ADDR:PORT, never accepts, and prints the accept queue's\n"
    "  length each time it changes, until SIGINT (Ctrl-C) or SIGTERM.\n"
    "  -a ADDR     IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT     0-65535, 0 lets the kernel choose (default 2017)\n"
    "  -b BACKLOG  0 or more: how many connections may wait (default 10;\n"
    "              the kernel caps it at net.core.somaxconn)\n"
    "  -h          show this help\n";

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    int backlog = 10;
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:b:h")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'b': backlog = (int)parse_number(optarg, "backlog", 0, INT_MAX); break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    struct sockaddr_storage address;
    socklen_t address_length = parse_address(address_text, port, &address);

    catch_stop_signals();

    /* Steps 1-2, from labs 01 and 02, done by common/lab.c and narrated the
     * same way: a TCP socket (until listen() it could as well become a
     * client), bound to the address clients will connect to, and the
     * getsockname() line with the real port. */
    int listen_fd = open_bound_socket(SOCK_STREAM, &address, address_length, 0);

    /* Step 3: listen. The kernel marks the socket passive and gives it an
     * accept queue; it never waits for anything, so listen() returns at once.
     * From now on, for each client's SYN the kernel itself answers SYN-ACK,
     * and when the client's ACK arrives the connection is complete: it goes
     * into the accept queue, and the client's connect() returns. The backlog
     * bounds that queue: Linux admits backlog+1 connections (the check is
     * "more than backlog") and silently lowers a backlog above
     * net.core.somaxconn to that value. */
    /*[ listen() on listen_fd with `backlog` (die() if it fails) and print
     *  "listen(FD, BACKLOG) = 0". See listen(2).
     *  stub: (void)backlog; */
    if (listen(listen_fd, backlog) == -1)
        die("listen(%d, %d)", listen_fd, backlog);
    printf("listen(%d, %d) = 0\n", listen_fd, backlog);
    /*] */

    /* Step 4: watch the queue, and never accept. The kernel sends no event
     * when the queue grows from 1 to 2 (poll() on the listening socket only
     * says "at least one is waiting"), so the lab looks again every
     * LOOK_INTERVAL_MS and prints only what changed. */
    /*[ Until stop_requested: read the queue with getsockopt(listen_fd,
     *  IPPROTO_TCP, TCP_INFO) (die() if it fails); when tcpi_unacked differs
     *  from what you printed last (or nothing was printed yet), print
     *  "accept queue: N pending (backlog B)" (B: tcpi_sacked) and then
     *  "poll(NULL, 0, 100) ...". Then sleep in poll(NULL, 0,
     *  LOOK_INTERVAL_MS); after EINTR print it with narrate_failure(), any
     *  other error: die(). Never call accept(). See tcp(7), poll(2). */
    int64_t shown_pending = -1;     /* nothing printed yet */
    while (!stop_requested) {
        /* TCP_INFO on a *listening* socket: Linux reuses two fields of the
         * structure for the queue: tcpi_unacked is the number of complete
         * connections waiting for accept(), tcpi_sacked the backlog in force
         * (after the somaxconn cap). Connections still in their handshake
         * are not counted. getsockopt() only reads: it never blocks. */
        struct tcp_info info;
        socklen_t info_length = sizeof info;
        if (getsockopt(listen_fd, IPPROTO_TCP, TCP_INFO, &info, &info_length) == -1)
            die("getsockopt(%d, IPPROTO_TCP, TCP_INFO)", listen_fd);
        if (info.tcpi_unacked != shown_pending) {
            shown_pending = info.tcpi_unacked;
            printf("accept queue: %u pending (backlog %u)\n",
                   (unsigned)info.tcpi_unacked, (unsigned)info.tcpi_sacked);
            /* One "..." line per change, not one per look: the looks that
             * find nothing new (poll's "= 0 (Timeout)") are not printed. */
            printf("poll(NULL, 0, %d) ...\n", LOOK_INTERVAL_MS);
        }

        /* Sleep between looks. poll() with no descriptors is a plain timed
         * sleep that a signal interrupts: the process sits in the kernel for
         * up to LOOK_INTERVAL_MS, and SIGINT/SIGTERM end it with EINTR. */
        if (poll(NULL, 0, LOOK_INTERVAL_MS) == -1) {
            if (errno != EINTR)
                die("poll(NULL, 0, %d)", LOOK_INTERVAL_MS);
            narrate_failure("poll(NULL, 0, %d)", LOOK_INTERVAL_MS);
        }
    }
    /*] */

    /* Step 5: closing a listening socket throws away its accept queue: each
     * waiting connection is reset, and its client's next read or write
     * fails with ECONNRESET. */
    if (close(listen_fd) == -1)
        die("close(%d)", listen_fd);
    printf("close(%d) = 0\n", listen_fd);
    return 0;
}
