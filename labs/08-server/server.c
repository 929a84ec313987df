/* 08-server: all the calls together, an iterative HTTP/1.1 server.
 *
 * What it shows
 *   Labs 01 to 07 each showed one call. This one puts the TCP ones together
 *   into the server the source notes end with ("Hello there." over HTTP),
 *   made correct. For each client, one after another:
 *     accept()  wait for a connection, get a new fd for it
 *     recv()    read the request until its blank line (however many recv()
 *               calls that takes; over 8 KiB is refused with 431)
 *     send()    answer with a proper HTTP/1.1 response, looping on partial
 *               sends
 *     close()   hang up, and go back to accept()
 *   Every call is narrated in strace's form, and every call that can block
 *   says so with a "..." line first.
 *
 *   An iterative server serves one client at a time. That is simple, and it
 *   has a price that this lab shows on purpose: HEAD-OF-LINE BLOCKING. A
 *   client that connects and says nothing holds the server asleep in recv();
 *   the next client's connect() succeeds (the kernel queues it) but nobody
 *   accepts it until the first one is done.
 *
 *   A peer that misbehaves (resets, sends garbage or far too much, connects
 *   and leaves) never kills the server: the failure is narrated, that one
 *   connection is closed, and the server goes on to the next client.
 *
 * Run it
 *   ./server                       serve on 127.0.0.1:2017
 *   ./server -p 0 -n 3             kernel-chosen port; exit after 3 clients
 *   ./server -a ::1 -b 64          IPv6 loopback, backlog 64
 *
 * Watch it (second terminal)
 *   curl -v http://127.0.0.1:2017/        the request and response headers
 *   printf 'GET / HTTP/1.1\r\n\r\n' | nc -N 127.0.0.1 2017 | od -c
 *                                         every header line ends in \r \n
 *   nc 127.0.0.1 2017                     say nothing: the server sits in
 *                                         recv() on you; now curl from a
 *                                         third terminal waits too
 *   ss -tlnp 'sport = :2017'              Recv-Q: clients waiting in the
 *                                         accept queue
 *   strace -e trace=network,close -p $(pgrep -x server)
 *
 * See also: socket(2), setsockopt(2), bind(2), listen(2), accept(2),
 *   recv(2), send(2), shutdown(2), close(2), signal(7), tcp(7),
 *   RFC 9112 (HTTP/1.1 message syntax), RFC 9110 (HTTP semantics)
 */
#include "lab.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* The largest request (request line plus headers plus the blank line) the
 * server accepts. Real servers have such a limit too (nginx: 8 KiB per
 * header line by default): without one, a client could make it buffer
 * without end. */
#define REQUEST_LIMIT 8192

/* After a 431 answer, how much of the rest of an oversized request the
 * server reads and throws away before it gives up on the client. */
#define DISCARD_LIMIT (1024 * 1024)

/* Narration shows at most this many bytes of a recv or send: enough for
 * curl's request and our answer, whole. (strace shows 32; -s 128 for more.) */
#define SHOW_BYTES 128

/* The bodies of the two answers this server gives. */
#define HELLO_BODY "Hello there.\n"
#define TOO_LARGE_BODY "Request header fields over 8192 bytes.\n"

/* Room for a whole response: the headers and either body. */
#define RESPONSE_SIZE 512

static const char usage[] =
    "usage: server [-a ADDR] [-p PORT] [-b BACKLOG] [-n COUNT] [-h]\n"
    "  An iterative HTTP/1.1 server: answers every request with \"Hello there.\"\n"
    "  and narrates each system call. Runs until SIGINT (Ctrl-C) or SIGTERM.\n"
    "  -a ADDR     IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT     0-65535, 0 lets the kernel choose (default 2017)\n"
    "  -b BACKLOG  listen() backlog, at least 1 (default 10)\n"
    "  -n COUNT    exit after COUNT clients, at least 1 (default: never)\n"
    "  -h          show this help\n";

/* How reading a request ended. */
enum request_end {
    REQUEST_COMPLETE,       /* the blank line arrived: answer 200 */
    REQUEST_TOO_LARGE,      /* REQUEST_LIMIT bytes and no blank line: 431 */
    REQUEST_ABANDONED,      /* EOF, a reset or a signal first: no answer */
};

/* Print a data call the way strace shows it, without its result:
 *     recv(4, "GET / HTTP/1.1\r\n", 8192, 0)
 * the bytes escaped, and cut after SHOW_BYTES with "..." after the quote.
 * The caller finishes the line: " ...", " = 16", or a failure. */
static void print_data_call(const char *call, int fd, const char *bytes,
                            size_t shown, size_t size)
{
    printf("%s(%d, ", call, fd);
    print_escaped(bytes, shown, SHOW_BYTES);
    printf(", %zu, 0)", size);
}

/* Do the first `length` bytes of the request hold a blank line, the end of
 * the headers? HTTP ends each line with CR LF, so the headers end at
 * "\r\n\r\n". Like most servers we are lenient and also take a bare LF as a
 * line end (RFC 9112, 2.2): so we look for a LF followed by an empty line,
 * "\n\n" or "\n\r\n". */
static int has_blank_line(const char *bytes, size_t length)
{
    /*[ Return 1 if the first `length` bytes hold a LF followed by an empty
     *  line ("\n\n" or "\n\r\n"), else 0.
     *  stub: (void)bytes; (void)length; return 0; */
    for (size_t i = 0; i < length; i++) {
        if (bytes[i] != '\n')
            continue;
        if (i + 1 < length && bytes[i + 1] == '\n')
            return 1;
        if (i + 2 < length && bytes[i + 1] == '\r' && bytes[i + 2] == '\n')
            return 1;
    }
    return 0;
    /*] */
}

/* Read one request from conn_fd into request[] until its blank line.
 *
 * TCP is a byte stream: one recv() returns whatever has arrived, which may
 * be part of a request (a slow client, a big request, a client that writes
 * a line at a time) or, in principle, more than one. So the server keeps
 * calling recv() and looks for the blank line in all it has so far. */
static enum request_end read_request(int conn_fd, char request[REQUEST_LIMIT])
{
    /*[ Loop: print "recv(FD, ..." and recv() into the room left in
     *  request[] (REQUEST_LIMIT bytes in all). -1: narrate_failure(),
     *  return REQUEST_ABANDONED. Else print 'recv(FD, "BYTES", ROOM, 0)'
     *  (print_data_call()) and end the line: " = 0  EOF: the peer closed
     *  its side before a blank line" (ABANDONED); " = N  a blank line: the
     *  request is complete" once has_blank_line() finds it in all that came
     *  so far (COMPLETE); " = N  8192 bytes and no blank line: too large"
     *  when the buffer is full (TOO_LARGE); else " = N  no blank line yet:
     *  read on", and recv() again. See recv(2).
     *  stub: (void)conn_fd; (void)request; (void)has_blank_line;
     *  (void)print_data_call; return REQUEST_ABANDONED; */
    size_t used = 0;

    for (;;) {
        size_t room = REQUEST_LIMIT - used;

        /* recv() blocks until at least one byte has arrived, or EOF, or an
         * error. It does NOT wait for a whole request: it cannot know what
         * that is. A client that connects and says nothing keeps the server
         * asleep right here, and every other client waits in the accept
         * queue behind it: head-of-line blocking. */
        printf("recv(%d, ...\n", conn_fd);
        ssize_t received = recv(conn_fd, request + used, room, 0);
        if (received == -1) {
            /* ECONNRESET: the peer reset the connection. EINTR: SIGINT or
             * SIGTERM. Either way this client gets no answer. */
            narrate_failure("recv(%d, ..., %zu, 0)", conn_fd, room);
            return REQUEST_ABANDONED;
        }
        print_data_call("recv", conn_fd, request + used, (size_t)received, room);
        if (received == 0) {
            printf(" = 0  EOF: the peer closed its side before a blank line\n");
            return REQUEST_ABANDONED;
        }

        /* Search all that has come so far, not just this recv's bytes: the
         * blank line may be split between two recv() calls. */
        used += (size_t)received;
        if (has_blank_line(request, used)) {
            printf(" = %zd  a blank line: the request is complete\n", received);
            return REQUEST_COMPLETE;
        }
        if (used == REQUEST_LIMIT) {
            printf(" = %zd  %d bytes and no blank line: too large\n",
                   received, REQUEST_LIMIT);
            return REQUEST_TOO_LARGE;
        }
        printf(" = %zd  no blank line yet: read on\n", received);
    }
    /*] */
}

/* Build an HTTP/1.1 response in response[] and return its length.
 *   - every line ends in CR LF, and an empty line ends the headers;
 *   - Content-Length says where the body ends, so the client need not
 *     wait for the connection to close to know it has it all; it must be
 *     the body's exact size in bytes, so it is counted, not typed in;
 *   - Connection: close tells the client this server hangs up after one
 *     answer, so it must not send a second request on this connection. */
static size_t format_response(char response[RESPONSE_SIZE], const char *status,
                              const char *body)
{
    /*[ snprintf() into response (RESPONSE_SIZE bytes) the status line
     *  "HTTP/1.1 STATUS", the headers Content-Type: text/plain,
     *  Content-Length (strlen(body)) and Connection: close, every line ended
     *  by "\r\n", an empty line, then the body; return its length.
     *  See RFC 9112, sections 2 and 6.
     *  stub: (void)status; (void)body; response[0] = '\0'; return 0; */
    int length = snprintf(response, RESPONSE_SIZE,
                          "HTTP/1.1 %s\r\n"
                          "Content-Type: text/plain\r\n"
                          "Content-Length: %zu\r\n"
                          "Connection: close\r\n"
                          "\r\n"
                          "%s",
                          status, strlen(body), body);
    return (size_t)length;
    /*] */
}

/* Send all `length` bytes. send() may send fewer bytes than asked (a
 * partial send: the socket's send buffer had room for only part), so loop
 * until all are out. Returns 0, or -1 after narrating the failure. */
static int send_all(int conn_fd, const char *bytes, size_t length)
{
    /*[ Until all `length` bytes are sent: print the call
     *  (print_data_call("send", ...)) and " ...", send() what is left;
     *  -1: narrate_failure("send(FD, ..., LEFT, 0)") and return -1; else
     *  print the call again and " = N", plus "  partial: M bytes still to
     *  send" when N is short. Return 0. See send(2).
     *  stub: (void)conn_fd; (void)bytes; (void)length; return -1; */
    size_t sent_so_far = 0;

    while (sent_so_far < length) {
        const char *next = bytes + sent_so_far;
        size_t left = length - sent_so_far;

        /* send() copies the bytes into the socket's send buffer and
         * returns; the kernel transmits them later. It blocks only while
         * that buffer is full (a client that does not read). It fails with
         * ECONNRESET or EPIPE if the client has gone: since SIGPIPE is
         * ignored, EPIPE is an error code here, not a fatal signal. */
        print_data_call("send", conn_fd, next, left, left);
        printf(" ...\n");
        ssize_t sent = send(conn_fd, next, left, 0);
        if (sent == -1) {
            narrate_failure("send(%d, ..., %zu, 0)", conn_fd, left);
            return -1;
        }
        print_data_call("send", conn_fd, next, left, left);
        if ((size_t)sent < left)
            printf(" = %zd  partial: %zu bytes still to send\n", sent, left - (size_t)sent);
        else
            printf(" = %zd\n", sent);
        sent_so_far += (size_t)sent;
    }
    return 0;
    /*] */
}

/* After a 431 answer the client may still be sending its oversized request.
 * If we closed now, with its bytes unread in our receive buffer, the kernel
 * would not send a polite FIN but a reset (RST), and a reset can reach the
 * client before it has read our answer, or while it is still sending, so
 * that all it reports is "Connection reset by peer" (RFC 9112, 9.6).
 * So: shutdown(SHUT_WR) sends our FIN now (the answer is complete), then we
 * read and throw away what the client still sends, until its EOF, at most
 * DISCARD_LIMIT bytes. */
static void discard_rest_of_request(int conn_fd, char buffer[REQUEST_LIMIT])
{
    /*[ shutdown(conn_fd, SHUT_WR) (failure: narrate_failure(), return) and
     *  print "shutdown(FD, SHUT_WR) = 0  FIN: no more from us; now drain the
     *  request". Then, up to DISCARD_LIMIT bytes: print "recv(FD, ..." and
     *  recv() into buffer (REQUEST_LIMIT bytes); -1: narrate_failure(),
     *  return; print the call (print_data_call()) and " = 0  EOF: the
     *  client has finished" (return) or " = N  thrown away". Past the
     *  limit, say so and return. See shutdown(2), recv(2).
     *  stub: (void)conn_fd; (void)buffer; */
    /* shutdown(SHUT_WR) never blocks: it queues a FIN after the answer. */
    if (shutdown(conn_fd, SHUT_WR) == -1) {
        narrate_failure("shutdown(%d, SHUT_WR)", conn_fd);
        return;
    }
    printf("shutdown(%d, SHUT_WR) = 0  FIN: no more from us; now drain the request\n",
           conn_fd);

    size_t discarded = 0;
    while (discarded < DISCARD_LIMIT) {
        /* Blocks like any recv(): until bytes, EOF or an error. */
        printf("recv(%d, ...\n", conn_fd);
        ssize_t received = recv(conn_fd, buffer, REQUEST_LIMIT, 0);
        if (received == -1) {
            narrate_failure("recv(%d, ..., %d, 0)", conn_fd, REQUEST_LIMIT);
            return;
        }
        print_data_call("recv", conn_fd, buffer, (size_t)received, REQUEST_LIMIT);
        if (received == 0) {
            printf(" = 0  EOF: the client has finished\n");
            return;
        }
        printf(" = %zd  thrown away\n", received);
        discarded += (size_t)received;
    }
    printf("(%d bytes thrown away and still more: give up on this client)\n",
           DISCARD_LIMIT);
    /*] */
}

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    int backlog = 10;               /* the source notes' value */
    long client_limit = 0;          /* 0: serve until a signal */
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:b:n:h")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'b': backlog = (int)parse_number(optarg, "backlog", 1, INT_MAX); break;
        case 'n': client_limit = parse_number(optarg, "count", 1, LONG_MAX); break;
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

    /* SIGINT/SIGTERM without SA_RESTART: a blocked accept(), recv() or
     * send() returns -1 EINTR, and the server closes up and exits 0. */
    catch_stop_signals();

    /* SIGPIPE: sending on a connection the peer has closed makes the kernel
     * send this signal, and its default action kills the process. One
     * client that hangs up early must not take the server down, so ignore
     * it on purpose: send() then fails with EPIPE and we carry on. */
    /*[ Ignore SIGPIPE with signal() (die() if it fails) and print
     *  "signal(SIGPIPE, SIG_IGN) = PREVIOUS  a vanished client means EPIPE,
     *  not death", PREVIOUS being SIG_IGN or SIG_DFL as signal() returned.
     *  See signal(2), signal(7). */
    void (*previous)(int) = signal(SIGPIPE, SIG_IGN);
    if (previous == SIG_ERR)
        die("signal(SIGPIPE, SIG_IGN)");
    printf("signal(SIGPIPE, SIG_IGN) = %s  a vanished client means EPIPE, not death\n",
           previous == SIG_IGN ? "SIG_IGN" : "SIG_DFL");
    /*] */

    /*[ Steps 1-4, as labs 01-03 did them, each call checked with die() and
     *  printed: "socket(FAMILY, SOCK_STREAM, 0) = FD", "setsockopt(FD,
     *  SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0", "bind(FD, ADDR:PORT) = 0",
     *  "getsockname(FD) = ADDR:PORT", "listen(FD, BACKLOG) = 0".
     *  See socket(2), setsockopt(2), bind(2), getsockname(2), listen(2).
     *  stub: int listen_fd = -1;
     *  (void)family_name; (void)address_length; (void)backlog; */
    /* Step 1 (lab 01): a TCP socket of the address's family. */
    int listen_fd = socket(family, SOCK_STREAM, 0);
    if (listen_fd == -1)
        die("socket(%s, SOCK_STREAM, 0)", family_name);
    printf("socket(%s, SOCK_STREAM, 0) = %d\n", family_name, listen_fd);

    /* Step 2 (lab 02): SO_REUSEADDR. This server closes each connection
     * first, so each leaves a TIME_WAIT record on our port for 60 s; without
     * this option a restart within that minute fails with EADDRINUSE. */
    int on = 1;
    if (setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
        die("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1])", listen_fd);
    printf("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1], %zu) = 0\n", listen_fd, sizeof on);

    /* Step 3 (lab 02): bind to the address, loopback unless -a says
     * otherwise (the notes' INADDR_ANY would serve every network this host
     * is on). Never blocks. parse_address() zeroed the structure first. */
    char requested[ADDRESS_TEXT_SIZE];
    format_address((struct sockaddr *)&address, requested);
    if (bind(listen_fd, (struct sockaddr *)&address, address_length) == -1)
        die("bind(%d, %s)", listen_fd, requested);
    printf("bind(%d, %s) = 0\n", listen_fd, requested);

    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    if (getsockname(listen_fd, (struct sockaddr *)&bound, &bound_length) == -1)
        die("getsockname(%d)", listen_fd);
    char bound_text[ADDRESS_TEXT_SIZE];
    format_address((struct sockaddr *)&bound, bound_text);
    printf("getsockname(%d) = %s\n", listen_fd, bound_text);

    /* Step 4 (lab 03): listen. From now on the kernel completes clients'
     * handshakes by itself and queues them (Linux: up to backlog + 1),
     * even while we are busy with someone else. Never blocks. */
    if (listen(listen_fd, backlog) == -1)
        die("listen(%d, %d)", listen_fd, backlog);
    printf("listen(%d, %d) = 0\n", listen_fd, backlog);
    /*] */

    /* The two answers this server gives, built once: they never change. */
    char hello[RESPONSE_SIZE], too_large[RESPONSE_SIZE];
    size_t hello_length = format_response(hello, "200 OK", HELLO_BODY);
    size_t too_large_length = format_response(too_large,
                                              "431 Request Header Fields Too Large",
                                              TOO_LARGE_BODY);
    char request[REQUEST_LIMIT];
    long clients = 0;

    while (!stop_requested && (client_limit == 0 || clients < client_limit)) {
        /* Step 5 (lab 04): accept blocks until a connection is waiting in
         * the queue, then returns a NEW fd for it; listen_fd goes on
         * listening. */
        /*[ Print "accept(FD) ..." and accept() a connection as lab 04 does
         *  (EINTR or only_this_connection_failed(): narrate_failure() and
         *  `continue`; else die()); count it in `clients`; print
         *  "accept(FD) = CONN  peer ADDR:PORT". See accept(2).
         *  stub: int conn_fd = -1; */
        struct sockaddr_storage peer;
        socklen_t peer_length = sizeof peer;
        printf("accept(%d) ...\n", listen_fd);
        int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_length);
        if (conn_fd == -1) {
            if (errno == EINTR || only_this_connection_failed(errno)) {
                narrate_failure("accept(%d)", listen_fd);
                continue;           /* the loop checks stop_requested */
            }
            die("accept(%d)", listen_fd);
        }
        clients++;
        char peer_text[ADDRESS_TEXT_SIZE];
        format_address((struct sockaddr *)&peer, peer_text);
        printf("accept(%d) = %d  peer %s\n", listen_fd, conn_fd, peer_text);
        /*] */

        /* Step 6 (lab 06): read the request, up to its blank line. */
        enum request_end end = read_request(conn_fd, request);

        /* Step 7 (lab 06): answer. The notes' Python server sent
         * "HTTP/1.1 200 OK\n\nHello there.\n": bare LF line ends and no
         * Content-Length. This one is a well-formed HTTP/1.1 response. */
        if (end == REQUEST_COMPLETE) {
            send_all(conn_fd, hello, hello_length);
        } else if (end == REQUEST_TOO_LARGE) {
            if (send_all(conn_fd, too_large, too_large_length) == 0)
                discard_rest_of_request(conn_fd, request);
        }

        /* Step 8: close this connection, whatever happened on it: one fd
         * per client, given back every time, or the server would run out
         * of descriptors (EMFILE) after about a thousand clients. close()
         * does not block: the kernel sends what is still buffered, then
         * FIN, by itself. No sleep(1) here: the next client is served as
         * soon as it is accepted. */
        if (close(conn_fd) == -1)
            die("close(%d)", conn_fd);
        printf("close(%d) = 0\n", conn_fd);
    }

    /* Step 9: stop listening. Clients still in the accept queue are reset. */
    if (close(listen_fd) == -1)
        die("close(%d)", listen_fd);
    printf("close(%d) = 0\n", listen_fd);
    return 0;
}
