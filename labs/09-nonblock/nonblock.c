/* 09-nonblock: the calls of labs 04 to 06 on non-blocking sockets, and
 * poll(), the one call that waits for them.
 *
 * What it shows
 *   The echo server of 06 for one client, with its sockets made
 *   non-blocking: fcntl(fd, F_SETFL, flags | O_NONBLOCK). From then on no
 *   call on them ever sleeps. Where 04-06 slept, the call now returns at
 *   once with -1 EAGAIN ("nothing to do yet: try later"), and the lab waits
 *   for the socket to become ready in poll(), the only call here that
 *   sleeps:
 *     accept(3) = -1 EAGAIN (Resource temporarily unavailable)
 *     poll([{fd=3, events=POLLIN}], 1, -1) ...           asleep in poll
 *     poll([{fd=3, events=POLLIN}], 1, -1) = 1 ([{fd=3, revents=POLLIN}])
 *     accept(3) = 4  peer 127.0.0.1:51234                 now it succeeds
 *   The same for recv() (POLLIN: bytes or EOF to read) and send() (POLLOUT:
 *   room in the send buffer). It never busy-loops: retrying at once after
 *   EAGAIN would burn a whole CPU doing nothing.
 *
 *   -f BYTES  send BYTES to a client that does not read, until send()
 *             returns EAGAIN: the line says how many bytes the kernel took
 *             before (what 06's blocking send() slept on); then poll() for
 *             POLLOUT, which comes only once the client reads.
 *   -c        the client side: connect() to -a ADDR -p PORT returns -1
 *             EINPROGRESS at once; poll() for POLLOUT says the handshake
 *             is over, and getsockopt(SO_ERROR) says how it ended: 0
 *             (connected) or the error (ECONNREFUSED ...).
 *
 * Run it
 *   ./nonblock                      echo server on 127.0.0.1:2017
 *   ./nonblock -f 50000000          send 50 MB to a client that must read
 *   ./nonblock -c -p 2017           connect to 127.0.0.1:2017 and report
 *
 * Watch it (second terminal)
 *   nc -N 127.0.0.1 2017            type lines: EAGAIN, poll, recv, send
 *   cat /proc/$(pgrep -x nonblock)/syscall   7 (poll on x86-64) first
 *   grep flags /proc/$(pgrep -x nonblock)/fdinfo/3   04000: O_NONBLOCK
 *   ps -o time,stat -p $(pgrep -x nonblock)  no CPU time: it sleeps
 *
 * See also: fcntl(2), poll(2), accept(2), recv(2), send(2), connect(2)
 *   (EINPROGRESS), getsockopt(2), socket(7) (SO_ERROR), tcp(7)
 */
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage[] =
    "usage: nonblock [-a ADDR] [-p PORT] [-b BUFSIZE] [-f BYTES] [-c] [-h]\n"
    "  Accepts one TCP client on a non-blocking socket and echoes what it\n"
    "  sends, waiting in poll() wherever a call returns EAGAIN.\n"
    "  -a ADDR     IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT     0-65535, 0 lets the kernel choose (default 2017)\n"
    "  -b BUFSIZE  bytes per recv(), and per send() with -f\n"
    "              (default 1024; 65536 with -f)\n"
    "  -f BYTES    do not echo: send BYTES to the client, then close\n"
    "  -c          be the client: connect to ADDR:PORT without blocking,\n"
    "              report the outcome (SO_ERROR), close\n"
    "  -h          show this help\n";

/* How many bytes of data a line shows, like strace's default (-s 32). */
enum { SHOWN_BYTES = 32 };

/* Step 2: make `fd` non-blocking.
 *
 * A descriptor has file status flags, shared by every copy of it
 * (dup, fork). F_GETFL reads them; F_SETFL writes them back with
 * O_NONBLOCK added, keeping the others. From now on, a call on this socket
 * that would have to sleep fails with EAGAIN instead. Neither call blocks. */
static void set_nonblocking(int fd)
{
    /*[ Read the flags with fcntl(fd, F_GETFL) and print
     *  "fcntl(FD, F_GETFL) = 0xFLAGS (flags NAMES)"; write them back with
     *  O_NONBLOCK added, fcntl(fd, F_SETFL, flags | O_NONBLOCK), and print
     *  "fcntl(FD, F_SETFL, NAMES) = 0" (format_file_flags() spells the
     *  flags: O_RDWR|O_NONBLOCK). A failure: die("fcntl(FD, F_GETFL)") or
     *  die("fcntl(FD, F_SETFL, NAMES)"). See fcntl(2), "File status flags".
     *  stub: (void)fd; */
    char text[FLAGS_TEXT_SIZE];

    int flags = fcntl(fd, F_GETFL);
    if (flags == -1)
        die("fcntl(%d, F_GETFL)", fd);
    format_file_flags(flags, text);
    printf("fcntl(%d, F_GETFL) = %#x (flags %s)\n", fd, (unsigned)flags, text);

    format_file_flags(flags | O_NONBLOCK, text);
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
        die("fcntl(%d, F_SETFL, %s)", fd, text);
    printf("fcntl(%d, F_SETFL, %s) = 0\n", fd, text);
    /*] */
}

/* Wait in poll() until `fd` is ready for `events` (POLLIN: something to
 * read, or a connection to accept, or EOF; POLLOUT: room to write, or a
 * connect() that has finished).
 *
 * poll() is the one call in this lab that sleeps: with a timeout of -1 it
 * waits for as long as it takes. The kernel puts the process to sleep on
 * the socket's wait queue; the event that makes the socket ready (a
 * connection queued, bytes arrived, an ACK that frees the send buffer)
 * wakes it. While it sleeps it uses no CPU at all. The kernel always adds
 * POLLERR and POLLHUP to revents when they hold, asked or not.
 * Returns the revents, or -1 when SIGINT/SIGTERM interrupted the wait. */
static int wait_until_ready(int fd, short events)
{
    /*[ Watch one descriptor: a struct pollfd {fd, events}. Before poll(),
     *  print the call and " ...", as strace shows it:
     *  "poll([{fd=FD, events=POLLIN}], 1, -1) ..." (format_poll_call()).
     *  Then poll(&watched, 1, -1): no timeout, it sleeps until the socket is
     *  ready. After it, the call again and its result, the revents named:
     *  "poll([{fd=FD, events=POLLIN}], 1, -1) = 1 ([{fd=FD, revents=POLLIN}])"
     *  (format_poll_result()). -1 with EINTR (a stop signal):
     *  narrate_failure() the call and return -1; any other error: die().
     *  Return the revents. See poll(2).
     *  stub: (void)fd; (void)events; return -1; */
    struct pollfd watched = {.fd = fd, .events = events, .revents = 0};
    char call[POLL_TEXT_SIZE], result[POLL_TEXT_SIZE];

    format_poll_call(&watched, 1, -1, call);
    printf("%s ...\n", call);
    int ready = poll(&watched, 1, -1);
    if (ready == -1) {
        if (errno != EINTR)
            die("%s", call);
        narrate_failure("%s", call);
        return -1;
    }
    format_poll_result(&watched, 1, ready, result);
    printf("%s = %s\n", call, result);
    return watched.revents;
    /*] */
}

/*[ Write static void print_send_call(int fd, const char *bytes, size_t
 *  length): print 'send(FD, "BYTES", LENGTH, 0)' with no newline, the bytes
 *  through print_escaped() (at most SHOWN_BYTES of them), as lab 06. */
/* Print `send(4, "bytes", 5, 0)` without a newline: the start of a send line. */
static void print_send_call(int fd, const char *bytes, size_t length)
{
    printf("send(%d, ", fd);
    print_escaped(bytes, length, SHOWN_BYTES);
    printf(", %zu, 0)", length);
}
/*] */

/* send() all `length` bytes on the non-blocking socket.
 *
 * A non-blocking send() copies as much as fits into the socket's send
 * buffer and returns that count at once, which may be less than asked
 * (a partial send); when nothing fits it fails with EAGAIN instead of
 * sleeping. Then wait in poll() for POLLOUT: room in the buffer again,
 * which comes when the peer reads and acknowledges what it has.
 * With `total_sent` (for -f), count every byte and say, at each EAGAIN,
 * how many the kernel has taken so far.
 * Returns 0 when all was sent, -1 when SIGINT/SIGTERM interrupted it. */
static int send_all(int conn_fd, const char *bytes, size_t length,
                    long long *total_sent)
{
    /*[ Loop until all `length` bytes are out. send() what is left; on
     *  success print 'send(FD, "BYTES", LEFT, 0) = N' (print_send_call()),
     *  then "  partial: M bytes not sent yet" if N < LEFT, then, with
     *  total_sent, add N to it and print "  (T sent in all)"; newline.
     *  -1 EAGAIN (or EWOULDBLOCK): the buffers are full. Print the call and
     *  " = -1 EAGAIN (Resource temporarily unavailable)", with total_sent
     *  "  T bytes taken by the kernel so far" (the tests read that number),
     *  then wait_until_ready(fd, POLLOUT), and try again; never retry at
     *  once (a busy loop). EINTR: retry unless stop_requested, else
     *  narrate_failure() and return -1. Other errors (EPIPE, ECONNRESET):
     *  die("send(FD, ..., LEFT, 0)"). See send(2), EAGAIN.
     *  stub: (void)conn_fd; (void)bytes; (void)length; (void)total_sent;
     *  return -1; */
    size_t sent = 0;

    while (sent < length) {
        size_t left = length - sent;
        ssize_t count = send(conn_fd, bytes + sent, left, 0);
        if (count == -1) {
            int error = errno;
            if (error == EAGAIN || error == EWOULDBLOCK) {
                /* The buffers are full: the peer is not reading. */
                char unknown[32];
                print_send_call(conn_fd, bytes + sent, left);
                printf(" = -1 %s (%s)", errno_name(error, unknown), strerror(error));
                if (total_sent != NULL)
                    printf("  %lld bytes taken by the kernel so far", *total_sent);
                printf("\n");
                if (wait_until_ready(conn_fd, POLLOUT) == -1)
                    return -1;
                continue;
            }
            if (error == EINTR && !stop_requested)
                continue;
            if (error == EINTR) {
                narrate_failure("send(%d, ..., %zu, 0)", conn_fd, left);
                return -1;
            }
            /* The client is gone: ECONNRESET or EPIPE (SIGPIPE is ignored). */
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
    /*] */
}

/* -c: the client side. connect() on a non-blocking socket.
 *
 * A blocking connect() sleeps until the handshake is over (lab 05). A
 * non-blocking one sends the SYN and returns -1 EINPROGRESS at once: not a
 * failure, "started". The handshake goes on in the kernel. When it ends,
 * either way, the socket becomes writable: poll() reports POLLOUT (with
 * POLLERR and POLLHUP if it failed). Which way it ended is then read from
 * the socket's pending error, getsockopt(SO_ERROR): 0 means connected;
 * anything else is the errno a blocking connect() would have returned. */
static int run_client(const struct sockaddr_storage *server, socklen_t server_length)
{
    const char *family_name = server->ss_family == AF_INET ? "AF_INET" : "AF_INET6";
    char server_text[ADDRESS_TEXT_SIZE];
    format_address((const struct sockaddr *)server, server_text);

    /* Step 1 (lab 01): a TCP socket. */
    int fd = socket(server->ss_family, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket(%s, SOCK_STREAM, 0)", family_name);
    printf("socket(%s, SOCK_STREAM, 0) = %d\n", family_name, fd);

    /* Step 2: non-blocking, before connect(). */
    set_nonblocking(fd);

    /*[ Steps 3 to 5: connect() to the server. On a non-blocking socket it
     *  returns -1 EINPROGRESS at once: narrate_failure() it,
     *  "connect(FD, ADDR:PORT) = -1 EINPROGRESS (Operation now in progress)",
     *  then wait_until_ready(fd, POLLOUT) (-1: close the socket, print
     *  "close(FD) = 0", return 0). Then read the outcome with
     *  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) and print
     *  "getsockopt(FD, SOL_SOCKET, SO_ERROR, [0], [4]) = 0", the error
     *  named by errno_name() when it is not 0 ([ECONNREFUSED]). Not 0: set
     *  errno to it and die("connect(FD, ADDR:PORT)"). connect() = 0 at once
     *  (allowed): print "connect(FD, ADDR:PORT) = 0". Any other error at
     *  once: die(). See connect(2) (EINPROGRESS), socket(7) (SO_ERROR),
     *  getsockopt(2).
     *  stub: (void)server_length; errno = ENOSYS;
     *  die("connect(%d, %s)", fd, server_text); */
    /* Step 3: connect() starts the handshake and returns at once. */
    if (connect(fd, (const struct sockaddr *)server, server_length) == 0) {
        /* Allowed by POSIX for a connection that completes at once. */
        printf("connect(%d, %s) = 0\n", fd, server_text);
    } else if (errno == EINPROGRESS) {
        narrate_failure("connect(%d, %s)", fd, server_text);

        /* Step 4: wait for the end of the handshake: POLLOUT. */
        if (wait_until_ready(fd, POLLOUT) == -1) {
            if (close(fd) == -1)
                die("close(%d)", fd);
            printf("close(%d) = 0\n", fd);
            return 0;
        }

        /* Step 5: how did it end? SO_ERROR is the only way to know: POLLOUT
         * comes for a refused connection too. Reading it also clears it. */
        int error = 0;
        socklen_t error_length = sizeof error;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_length) == -1)
            die("getsockopt(%d, SOL_SOCKET, SO_ERROR)", fd);
        char unknown[32];
        printf("getsockopt(%d, SOL_SOCKET, SO_ERROR, [%s], [%u]) = 0\n", fd,
               error == 0 ? "0" : errno_name(error, unknown), (unsigned)error_length);
        if (error != 0) {
            /* The connect() failed after all: report it as the failed call
             * it is, with the errno a blocking connect() would have set. */
            errno = error;
            die("connect(%d, %s)", fd, server_text);
        }
    } else {
        die("connect(%d, %s)", fd, server_text);    /* failed at once */
    }

    /*] */

    /* Step 6 (lab 05): connected. The implicit bind gave us a port. */
    struct sockaddr_storage local;
    socklen_t local_length = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &local_length) == -1)
        die("getsockname(%d)", fd);
    char local_text[ADDRESS_TEXT_SIZE];
    format_address((struct sockaddr *)&local, local_text);
    printf("getsockname(%d) = %s  connected: the port the kernel chose\n", fd, local_text);

    if (close(fd) == -1)
        die("close(%d)", fd);
    printf("close(%d) = 0\n", fd);
    return 0;
}

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    long buffer_size = 0;               /* 0: not given, use the default */
    long long flood_bytes = 0;          /* 0: echo; else send this many */
    int client = 0;
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:b:f:ch")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'b': buffer_size = parse_number(optarg, "buffer size", 1, 1 << 24); break;
        case 'f': flood_bytes = parse_number(optarg, "byte count", 1, LONG_MAX); break;
        case 'c': client = 1; break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (client && (flood_bytes > 0 || buffer_size > 0))
        usage_error("-c connects and closes: -f and -b are for the server");
    if (buffer_size == 0)
        buffer_size = flood_bytes > 0 ? 65536 : 1024;

    struct sockaddr_storage address;
    socklen_t address_length = parse_address(address_text, port, &address);

    /* A peer that goes away makes send() raise SIGPIPE, which would kill
     * the lab: ignore it, and send() fails with EPIPE instead (lab 06). */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal(SIGPIPE, SIG_IGN)");
    catch_stop_signals();

    if (client)
        return run_client(&address, address_length);

    char *buffer = malloc((size_t)buffer_size);
    if (buffer == NULL)
        die("malloc(%ld)", buffer_size);
    if (flood_bytes > 0)
        memset(buffer, 'x', (size_t)buffer_size);   /* what -f sends */

    /* Step 1 (labs 01-03, by common/lab.c): socket, SO_REUSEADDR, bind,
     * getsockname, listen with a backlog of 1: one client is all it serves. */
    int listen_fd = open_listening_socket(&address, address_length, 1);

    /* Step 2: the listening socket becomes non-blocking. */
    set_nonblocking(listen_fd);

    /* Step 3: accept, without blocking. With the queue empty, accept()
     * returns -1 EAGAIN at once where lab 04's slept. Then poll() sleeps
     * until the listening socket is readable, which for a listener means:
     * a connection is waiting in the queue. Then accept() again: now it
     * succeeds. Never call accept() again straight after EAGAIN: that loop
     * would spin, burning a CPU, until a client came. */
    /*[ Steps 3 and 4: accept() the client without blocking. In a loop:
     *  accept(); -1 EAGAIN (the queue is empty), EINTR, or an error of that
     *  connection only (only_this_connection_failed()): narrate_failure(),
     *  "accept(FD) = -1 EAGAIN (Resource temporarily unavailable)", then
     *  sleep in wait_until_ready(listen_fd, POLLIN) and try again; any
     *  other error: die("accept(FD)"). If stop_requested or the wait
     *  returns -1: close the listener, print "close(FD) = 0", free the
     *  buffer and return 0. Success: print "accept(FD) = NEW  peer ADDR:PORT"
     *  (format_address()), then set_nonblocking(NEW): accept() does not
     *  pass O_NONBLOCK on. Never accept() again straight after EAGAIN.
     *  See accept(2), poll(2).
     *  stub: int conn_fd = -1; */
    int conn_fd;
    struct sockaddr_storage peer;
    for (;;) {
        socklen_t peer_length = sizeof peer;
        conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_length);
        if (conn_fd != -1)
            break;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
            only_this_connection_failed(errno)) {
            narrate_failure("accept(%d)", listen_fd);
        } else {
            die("accept(%d)", listen_fd);
        }
        if (stop_requested || wait_until_ready(listen_fd, POLLIN) == -1) {
            if (close(listen_fd) == -1)
                die("close(%d)", listen_fd);
            printf("close(%d) = 0\n", listen_fd);
            free(buffer);
            return 0;
        }
    }
    char peer_text[ADDRESS_TEXT_SIZE];
    format_address((struct sockaddr *)&peer, peer_text);
    printf("accept(%d) = %d  peer %s\n", listen_fd, conn_fd, peer_text);

    /* Step 4: the new socket does not inherit O_NONBLOCK from the listener
     * (on Linux; accept4(..., SOCK_NONBLOCK) would set it in one call).
     * Set it, then close the listener: one client only (as 06). */
    set_nonblocking(conn_fd);
    /*] */
    if (close(listen_fd) == -1)
        die("close(%d)", listen_fd);
    printf("close(%d) = 0  one client only: no longer listening\n", listen_fd);

    /*[ Step 5. With -f (flood_bytes > 0): send_all() flood_bytes bytes of
     *  buffer in chunks of buffer_size, counting in a total, until done,
     *  stop_requested, or send_all() returns -1. Else echo until EOF:
     *  recv() up to buffer_size bytes. -1 EAGAIN: narrate_failure(),
     *  "recv(FD, ..., BUFSIZE, 0) = -1 EAGAIN (Resource temporarily
     *  unavailable)", then wait_until_ready(fd, POLLIN) (-1: stop) and
     *  recv() again; EINTR: try again (the loop checks stop_requested);
     *  other errors: die("recv(FD, ..., BUFSIZE, 0)"). Bytes: print
     *  'recv(FD, "BYTES", BUFSIZE, 0) = N' (print_escaped(), SHOWN_BYTES)
     *  and send_all() them back (-1: stop). N = 0: add
     *  "  EOF: the peer closed its side" and stop. See recv(2).
     *  stub: (void)send_all; (void)wait_until_ready; */
    if (flood_bytes > 0) {
        /* Step 5 (-f): send BYTES in chunks. Each send() takes what fits
         * and returns; once the client's receive buffer and our send buffer
         * are full, send() fails with EAGAIN where 06's slept, and the
         * line says how many bytes the kernel took before that. poll()
         * then sleeps until the client reads and room opens up. */
        long long total_sent = 0, left = flood_bytes;
        while (left > 0 && !stop_requested) {
            size_t chunk = left < buffer_size ? (size_t)left : (size_t)buffer_size;
            if (send_all(conn_fd, buffer, chunk, &total_sent) == -1)
                break;
            left -= (long long)chunk;
        }
    } else {
        /* Step 5: the echo loop, without blocking. recv() returns what has
         * arrived, or 0 at EOF, as in 06; where 06's recv() slept (nothing
         * there yet) it fails with EAGAIN, and poll() waits for POLLIN. */
        while (!stop_requested) {
            ssize_t received = recv(conn_fd, buffer, (size_t)buffer_size, 0);
            if (received == -1) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    narrate_failure("recv(%d, ..., %ld, 0)", conn_fd, buffer_size);
                    if (wait_until_ready(conn_fd, POLLIN) == -1)
                        break;
                    continue;
                }
                if (errno == EINTR)
                    continue;               /* the loop checks stop_requested */
                /* ECONNRESET: the client reset the connection. */
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

            /* Echo it back; send_all() waits in poll() if the client is
             * not reading. */
            if (send_all(conn_fd, buffer, (size_t)received, NULL) == -1)
                break;
        }
    }
    /*] */

    /* Step 6: close. The kernel still delivers what is in the send buffer,
     * then FIN. close() does not block, O_NONBLOCK or not. */
    if (close(conn_fd) == -1)
        die("close(%d)", conn_fd);
    printf("close(%d) = 0\n", conn_fd);
    free(buffer);
    return 0;
}
