/* 06-send-recv: recv() and send() on a TCP connection, a stream of bytes.
 *
 * What it shows
 *   A server for one client. It accepts a connection, then loops: recv()
 *   whatever has arrived, send() it back (an echo), until recv() returns 0.
 *   Each call is printed as strace shows it, the bytes among the arguments:
 *       recv(4, ...
 *       recv(4, "hello\n", 1024, 0) = 6
 *       send(4, "hello\n", 6, 0) ...
 *       send(4, "hello\n", 6, 0) = 6
 *       recv(4, "", 1024, 0) = 0  EOF: the peer closed its side
 *
 *   - recv() blocks only until at least one byte is there (or EOF), then
 *     returns what is there, up to the buffer's size. It does not wait for
 *     EOF, nor for a whole "message": TCP has no messages, only bytes.
 *   - recv() = 0 means EOF: the peer shut down its sending side. It is the
 *     only way a reader learns that the stream has ended.
 *   - -b BUFSIZE: a small buffer cuts what arrives into many recv()s.
 *   - -d MS: a pause before each recv() lets separate writes pile up in the
 *     kernel; one recv() then returns them together: no boundaries.
 *   - -f BYTES: instead of echoing, send BYTES to a client that does not
 *     read. send() copies into the kernel's send buffer and returns; once
 *     that buffer and the client's receive buffer are full, send() blocks.
 *
 * Run it
 *   ./send-recv                    127.0.0.1:2017, echo, 1024-byte buffer
 *   ./send-recv -b 4               recv() at most 4 bytes at a time
 *   ./send-recv -d 3000            wait 3 s before each recv()
 *   ./send-recv -f 50000000        send 50 MB to the client, in 64 KiB chunks
 *
 * Watch it (second terminal)
 *   nc -N 127.0.0.1 2017           type lines: each is a recv() and an echo;
 *                                  Ctrl-D: nc (-N) shuts down its side, recv() = 0
 *   bash -c 'exec 5<>/dev/tcp/127.0.0.1/2017; sleep 60'
 *                                  a client that never reads (for -f)
 *   ss -tn '( sport = :2017 )'     Recv-Q / Send-Q: bytes waiting in the kernel
 *   cat /proc/$(pgrep -x send-recv)/syscall    the call it sleeps in
 *
 * See also: recv(2), send(2), tcp(7) (buffers), shutdown(2), socket(7)
 */
#include "lab.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: send-recv [-a ADDR] [-p PORT] [-b BUFSIZE] [-d MS] [-f BYTES] [-h]\n"
    "  Accepts one TCP client and echoes back what it sends, printing each\n"
    "  recv() and send(), until the client closes its side (EOF).\n"
    "  -a ADDR     IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT     0-65535, 0 lets the kernel choose (default 2017)\n"
    "  -b BUFSIZE  bytes per recv(), and per send() with -f\n"
    "              (default 1024; 65536 with -f)\n"
    "  -d MS       wait MS milliseconds before each recv()\n"
    "  -f BYTES    do not echo: send BYTES to the client, then close\n"
    "  -h          show this help\n";

/* How many bytes of data a line shows, like strace's default (-s 32). */
enum { SHOWN_BYTES = 32 };

/* Print `send(4, "bytes", 5, 0)` without a newline: the start of a send line. */
/*[ Write static void print_send_call(int fd, const char *bytes, size_t length):
 *  print 'send(FD, "BYTES", LENGTH, 0)' with no newline, the bytes through
 *  print_escaped() (at most SHOWN_BYTES of them). */
static void print_send_call(int fd, const char *bytes, size_t length)
{
    printf("send(%d, ", fd);
    print_escaped(bytes, length, SHOWN_BYTES);
    printf(", %zu, 0)", length);
}
/*] */

/* send() until all `length` bytes are in the kernel, or the lab must stop.
 * A blocking send() on TCP normally takes everything, sleeping while the
 * send buffer is full; it returns less only when a signal or an error
 * arrives after part of the data was copied. So loop on partial sends.
 * With `total_sent` (for -f), add to it and show the running total.
 * Returns 0 when all was sent, -1 when SIGINT/SIGTERM interrupted it. */
/*[ Write static int send_all(int conn_fd, const char *bytes, size_t length,
 *  long long *total_sent), as the comment above says. Before each send():
 *  return -1 if stop_requested; print the call and " ..." (the lines below
 *  the lab's header comment show them). After it: the call and " = N",
 *  then "  partial: M bytes not sent yet" if N is short, then (when
 *  total_sent is not NULL) "  (T sent in all)". EINTR: narrate_failure(),
 *  return -1; other errors: die("send(FD, ..., LEFT, 0)"). See send(2). */
static int send_all(int conn_fd, const char *bytes, size_t length,
                    long long *total_sent)
{
    size_t sent = 0;

    while (sent < length) {
        if (stop_requested)
            return -1;
        size_t left = length - sent;
        print_send_call(conn_fd, bytes + sent, left);
        printf(" ...\n");
        ssize_t count = send(conn_fd, bytes + sent, left, 0);
        if (count == -1) {
            if (errno == EINTR) {
                narrate_failure("send(%d, ..., %zu, 0)", conn_fd, left);
                return -1;
            }
            /* The client is gone: ECONNRESET (it reset the connection) or
             * EPIPE (it had closed, and we wrote anyway). With SIGPIPE
             * ignored this is an error return, not the death of the lab. */
            die("send(%d, ..., %zu, 0)", conn_fd, left);
        }
        print_send_call(conn_fd, bytes + sent, left);
        printf(" = %zd", count);
        if ((size_t)count < left)
            printf("  partial: %zu bytes not sent yet", left - (size_t)count);
        if (total_sent != NULL) {
            *total_sent += count;
            printf("  (%lld sent in all)", *total_sent);
        }
        printf("\n");
        sent += (size_t)count;
    }
    return 0;
}
/*] */

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    long buffer_size = 0;               /* 0: not given, use the default */
    long delay_ms = 0;                  /* 0: no pause before recv() */
    long long flood_bytes = 0;          /* 0: echo; else send this many */
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:b:d:f:h")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'b': buffer_size = parse_number(optarg, "buffer size", 1, 1 << 24); break;
        case 'd': delay_ms = parse_number(optarg, "delay", 1, 3600 * 1000); break;
        case 'f': flood_bytes = parse_number(optarg, "byte count", 1, LONG_MAX); break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (buffer_size == 0)
        buffer_size = flood_bytes > 0 ? 65536 : 1024;

    struct sockaddr_storage address;
    socklen_t address_length = parse_address(address_text, port, &address);

    char *buffer = malloc((size_t)buffer_size);
    if (buffer == NULL)
        die("malloc(%ld)", buffer_size);
    if (flood_bytes > 0)
        memset(buffer, 'x', (size_t)buffer_size);   /* what -f sends */

    /* Writing to a connection the peer has closed raises SIGPIPE, whose
     * default action kills the process without a word. A server must not
     * die because a client left: ignore it, and send() fails with EPIPE
     * instead, which the lab reports. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal(SIGPIPE, SIG_IGN)");
    catch_stop_signals();

    /* Steps 1-3, from labs 01 to 03, done by common/lab.c and narrated the
     * same way: a TCP socket; SO_REUSEADDR, so that a restarted lab can bind
     * its port while the last connection still sits in TIME_WAIT; bind()
     * and the getsockname() line; listen() with a backlog of 1: one client
     * is all this lab serves. From here the kernel completes handshakes. */
    int listen_fd = open_listening_socket(&address, address_length, 1);

    /* Step 4: accept one connection (see 04-accept). Blocks until a client
     * has connected; returns a new socket for that one connection. */
    struct sockaddr_storage peer;
    socklen_t peer_length = sizeof peer;
    printf("accept(%d) ...\n", listen_fd);
    int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_length);
    if (conn_fd == -1) {
        if (errno != EINTR)
            die("accept(%d)", listen_fd);
        narrate_failure("accept(%d)", listen_fd);   /* SIGINT or SIGTERM */
        if (close(listen_fd) == -1)
            die("close(%d)", listen_fd);
        printf("close(%d) = 0\n", listen_fd);
        free(buffer);
        return 0;
    }
    char peer_text[ADDRESS_TEXT_SIZE];
    format_address((struct sockaddr *)&peer, peer_text);
    printf("accept(%d) = %d  peer %s\n", listen_fd, conn_fd, peer_text);

    /* Step 5: the listening socket is no longer needed. Closing it stops
     * new clients (they are refused) but leaves this connection alone:
     * conn_fd is a socket of its own. */
    if (close(listen_fd) == -1)
        die("close(%d)", listen_fd);
    printf("close(%d) = 0  one client only: no longer listening\n", listen_fd);

    /*[ Step 6. With -f (flood_bytes > 0): send_all() flood_bytes bytes of
     *  buffer in chunks of buffer_size (counting in a total), until done,
     *  stop_requested, or send_all() returns -1. Else echo until EOF: with
     *  -d (delay_ms), first print "nanosleep(MS ms) ...", nanosleep(), then
     *  "nanosleep(MS ms) = 0" (EINTR: narrate_failure() and stop); print
     *  "recv(FD, ..." and recv() up to buffer_size bytes; print
     *  'recv(FD, "BYTES", BUFSIZE, 0) = N' (print_escaped(), SHOWN_BYTES),
     *  adding "  EOF: the peer closed its side" and stopping at N = 0;
     *  EINTR: narrate_failure("recv(FD, ..., BUFSIZE, 0)") and stop; other
     *  errors: die(); then send_all() the N bytes back.
     *  See recv(2), send(2), nanosleep(2).
     *  stub: (void)delay_ms; */
    if (flood_bytes > 0) {
        /* Step 6 (-f): send BYTES in chunks. Each send() copies the chunk
         * into this socket's send buffer and returns at once; TCP moves it
         * to the client's receive buffer in the background. When the client
         * does not read, its receive buffer fills, then our send buffer, and
         * send() sleeps until the client reads and space opens up. */
        long long total_sent = 0, left = flood_bytes;
        while (left > 0 && !stop_requested) {
            size_t chunk = left < buffer_size ? (size_t)left : (size_t)buffer_size;
            if (send_all(conn_fd, buffer, chunk, &total_sent) == -1)
                break;
            left -= (long long)chunk;
        }
    } else {
        /* Step 6: the echo loop. */
        while (!stop_requested) {
            /* With -d, sleep first. Meanwhile whatever the client sends
             * waits in the kernel's receive buffer, one write after another,
             * with nothing to mark where one ended and the next began. */
            if (delay_ms > 0) {
                struct timespec delay = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
                printf("nanosleep(%ld ms) ...\n", delay_ms);
                if (nanosleep(&delay, NULL) == -1) {
                    narrate_failure("nanosleep(%ld ms)", delay_ms);
                    break;          /* EINTR: SIGINT or SIGTERM */
                }
                printf("nanosleep(%ld ms) = 0\n", delay_ms);
            }

            /* recv() blocks while the receive buffer is empty and the
             * client has not shut down its side. As soon as there is at
             * least one byte it returns what is there, up to buffer_size,
             * without waiting for more. 0 means EOF: the client sent FIN
             * (shutdown or close) and every byte before it has been read. */
            printf("recv(%d, ...\n", conn_fd);
            ssize_t received = recv(conn_fd, buffer, (size_t)buffer_size, 0);
            if (received == -1) {
                if (errno == EINTR) {
                    narrate_failure("recv(%d, ..., %ld, 0)", conn_fd, buffer_size);
                    break;
                }
                /* ECONNRESET: the client reset the connection (it closed
                 * with data unread, or crashed). The stream is broken. */
                die("recv(%d, ..., %ld, 0)", conn_fd, buffer_size);
            }
            printf("recv(%d, ", conn_fd);
            print_escaped(buffer, (size_t)received, SHOWN_BYTES);
            printf(", %ld, 0) = %zd", buffer_size, received);
            if (received == 0) {
                printf("  EOF: the peer closed its side\n");
                break;
            }
            printf("\n");

            /* Echo it back. The client may still be reading after it has
             * shut down its own sending side (a half-close). */
            if (send_all(conn_fd, buffer, (size_t)received, NULL) == -1)
                break;
        }
    }
    /*] */

    /* Step 7: close the connection. The kernel still delivers what is in
     * the send buffer, then sends FIN: the client reads EOF after the last
     * byte. */
    if (close(conn_fd) == -1)
        die("close(%d)", conn_fd);
    printf("close(%d) = 0\n", conn_fd);
    free(buffer);
    return 0;
}
