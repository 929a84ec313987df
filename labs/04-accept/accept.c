/* 04-accept: accept() takes the next connection off the accept queue and
 * gives the program a new socket for it.
 *
 * What it shows
 *   The notes' "Hello there." server, done right. It listens, then, one
 *   client at a time (an ITERATIVE server):
 *     accept(3) ...                         asleep until a client is queued
 *     accept(3) = 4  peer 127.0.0.1:51234   a NEW socket, fd 4, for that client
 *     write(4, "Hello there.\n", 13) = 13   the message and a newline
 *     close(4) = 0                          the client's socket, not fd 3
 *   and goes back to accept(). The listening socket, fd 3, stays open the
 *   whole time: it is never used to talk to a client, only to take new ones.
 *
 *   accept() blocks while the queue is empty and returns as soon as a
 *   connection is waiting. The kernel completed that connection's handshake
 *   earlier, by itself (lab 03): clients that arrive while the server is busy
 *   are already connected, and wait in the queue to be accepted in turn.
 *
 *   Done right means: every call checked; the address zeroed with 0, not
 *   '0'; loopback by default; SO_REUSEADDR so a restart is not refused while
 *   the old connections sit in TIME_WAIT; every byte written, even when a
 *   write() is short; a client that resets or vanishes costs one line of
 *   narration, never the server (SIGPIPE ignored on purpose); no sleep.
 *
 * Run it
 *   ./accept                        127.0.0.1:2017, serves until Ctrl-C
 *   ./accept -p 0 -n 3              a kernel-chosen port; exit after 3 clients
 *   ./accept -m 'Good bye.'         another message
 *   ./accept -a ::1                 IPv6
 *
 * Watch it (second terminal)
 *   nc -d 127.0.0.1 2017            prints "Hello there." and exits
 *   nc -d -p 40000 127.0.0.1 2017   the lab prints peer 127.0.0.1:40000
 *   cat /proc/$(pgrep -x accept)/wchan    inet_csk_accept: asleep in accept
 *   ss -tn state time-wait          the server's side of each finished client
 *
 * See also: accept(2), listen(2), write(2), socket(7) (SO_REUSEADDR),
 *           tcp(7) (TIME_WAIT), signal(7) (SIGPIPE)
 */
#include "lab.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How many bytes of a write() the narration shows, as strace shows 32. */
#define SHOWN_BYTES 64

static const char usage[] =
    "usage: accept [-a ADDR] [-p PORT] [-b BACKLOG] [-m MESSAGE] [-n COUNT] [-h]\n"
    "  Serves clients one at a time: accepts one, writes MESSAGE and a newline,\n"
    "  closes it, and accepts the next, until SIGINT (Ctrl-C) or SIGTERM.\n"
    "  -a ADDR     IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT     0-65535, 0 lets the kernel choose (default 2017)\n"
    "  -b BACKLOG  0 or more: how many connections may wait (default 10)\n"
    "  -m MESSAGE  what each client gets (default 'Hello there.')\n"
    "  -n COUNT    exit after COUNT clients (1 or more; default: never)\n"
    "  -h          show this help\n";

/* Write all `length` bytes of `reply` to the client's socket.
 *
 * write() on a socket copies bytes into the kernel's send buffer and returns
 * how many it took. It may take fewer than asked (a signal, a nearly full
 * buffer), so the rest is written in another call until nothing is left.
 * It blocks only while the send buffer is full, which a short message on a
 * new connection never fills (lab 06 shows a write that blocks).
 *
 * A client that reset the connection or vanished makes write() fail, with
 * ECONNRESET or EPIPE. That ends this client, not the server: the failure
 * is printed and the caller closes the socket. (EPIPE also raises SIGPIPE,
 * which would kill the process; main() ignores that signal.) */
/*[ Write static void write_all(int conn_fd, const char *reply, size_t length):
 *  call write() until all `length` bytes are out, printing each call as
 *      write(FD, "BYTES", LEFT) = N
 *  (BYTES through print_escaped(), the ones this call wrote; LEFT, the
 *  bytes it was asked for). When it fails: after EINTR try again unless
 *  stop_requested; else print the same start, then narrate_failure() adds
 *  " = -1 ERRNO (text)", and return. send() (its line: send(FD, "BYTES",
 *  LEFT, 0) = N) is as right. See write(2), send(2), errno(3). */
static void write_all(int conn_fd, const char *reply, size_t length)
{
    size_t written = 0;

    while (written < length) {
        ssize_t result = write(conn_fd, reply + written, length - written);
        if (result == -1) {
            if (errno == EINTR && !stop_requested)
                continue;               /* not asked to stop: try again */
            /* Show the call as it was made, then its error (printing may
             * change errno: keep it). */
            int error = errno;
            printf("write(%d, ", conn_fd);
            print_escaped(reply + written, length - written, SHOWN_BYTES);
            errno = error;
            narrate_failure(", %zu)", length - written);
            return;
        }
        printf("write(%d, ", conn_fd);
        print_escaped(reply + written, (size_t)result, SHOWN_BYTES);
        printf(", %zu) = %zd\n", length - written, result);
        written += (size_t)result;
    }
}
/*] */

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    int backlog = 10;
    const char *message = "Hello there.";
    long count = 0;                     /* 0: serve until a signal */
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:b:m:n:h")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'b': backlog = (int)parse_number(optarg, "backlog", 0, INT_MAX); break;
        case 'm': message = optarg; break;
        case 'n': count = parse_number(optarg, "count", 1, LONG_MAX); break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    /* parse_address() zeroes the whole structure with the byte 0 first. */
    struct sockaddr_storage address;
    socklen_t address_length = parse_address(address_text, port, &address);

    /* What every client gets: the message and a newline, built once. */
    size_t reply_length = strlen(message) + 1;
    char *reply = malloc(reply_length);
    if (reply == NULL)
        die("malloc(%zu)", reply_length);
    memcpy(reply, message, reply_length - 1);
    reply[reply_length - 1] = '\n';

    catch_stop_signals();

    /* A client that goes away makes our next write() fail with EPIPE, and
     * the kernel also sends SIGPIPE, whose default action ends the process
     * without a word. A server must not die because of a client: ignore
     * the signal, and handle the EPIPE where the write is made. */
    /*[ Ignore SIGPIPE, checking the result (die() if it fails). See signal(2). */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal(SIGPIPE, SIG_IGN)");
    /*] */

    /* Steps 1-4, from labs 01 to 03, done by common/lab.c and narrated the
     * same way: socket(); SO_REUSEADDR, because this server closes each
     * connection first and so leaves it in TIME_WAIT on its own port for
     * 60 s, and without the option a restarted server's bind() would fail
     * with EADDRINUSE until those expire; bind() to one address (loopback
     * unless -a says otherwise); getsockname(), the port with -p 0; and
     * listen(), which returns at once: from here the kernel completes
     * clients' handshakes and queues them by itself (lab 03). */
    int listen_fd = open_listening_socket(&address, address_length, backlog);

    long served = 0;
    while (!stop_requested && (count == 0 || served < count)) {
        /* Step 5: accept. If the queue is empty the process sleeps in the
         * kernel (wchan: inet_csk_accept) until a connection is queued or a
         * signal arrives. Then the kernel takes the oldest connection off the
         * queue, makes a new socket for it with the lowest free fd, and
         * fills `peer` with the client's address and port. The new socket
         * shares the listening socket's local address and port: accept()
         * opens no new port. What tells the connections apart is the whole
         * 5-tuple: protocol, local address and port, peer address and port. */
        /*[ Serve one client. Print "accept(FD) ..." and call accept(). If it
         *  fails with EINTR, or with an error that concerns only that one
         *  connection (only_this_connection_failed()), print the failure with
         *  narrate_failure() and `continue`; any other error: die(). Else
         *  print "accept(FD) = NEW  peer ADDR:PORT" (format_address() the
         *  peer, two spaces before "peer"), write_all() the reply, close()
         *  the new socket ("close(NEW) = 0"), and count it in `served`.
         *  Delete the stub's `break`. See accept(2), close(2).
         *  stub: break; */
        printf("accept(%d) ...\n", listen_fd);
        struct sockaddr_storage peer;
        socklen_t peer_length = sizeof peer;
        int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_length);
        if (conn_fd == -1) {
            if (errno == EINTR || only_this_connection_failed(errno)) {
                narrate_failure("accept(%d)", listen_fd);
                continue;               /* the loop checks stop_requested */
            }
            die("accept(%d)", listen_fd);
        }
        char peer_text[ADDRESS_TEXT_SIZE];
        format_address((struct sockaddr *)&peer, peer_text);
        printf("accept(%d) = %d  peer %s\n", listen_fd, conn_fd, peer_text);

        /* Step 6: answer, every byte of it. */
        write_all(conn_fd, reply, reply_length);

        /* Step 7: close the client's socket. The kernel sends our FIN after
         * the data still in the send buffer; the client reads the message,
         * then EOF. Since we close first, this side of the connection waits
         * in TIME_WAIT afterwards. Closing also frees fd 4 for the next
         * accept(): one descriptor per client at a time, never a leak. */
        if (close(conn_fd) == -1)
            die("close(%d)", conn_fd);
        printf("close(%d) = 0\n", conn_fd);
        served++;
        /* No sleep here: the next client is taken at once. */
        /*] */
    }

    /* Step 8: closing the listening socket stops new connections; any
     * still waiting in the queue are reset. */
    if (close(listen_fd) == -1)
        die("close(%d)", listen_fd);
    printf("close(%d) = 0\n", listen_fd);
    free(reply);
    return 0;
}
