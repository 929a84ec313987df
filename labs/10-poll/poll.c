/* 10-poll: one process, many clients: 08's HTTP server as a poll() loop.
 *
 * What it shows
 *   08-server answers one client at a time, and a client that says nothing
 *   holds everyone up (head-of-line blocking). This server gives the same
 *   answers, byte for byte, to any number of clients at once, in one
 *   process with one thread. Its sockets are non-blocking (lab 09), and it
 *   sleeps in one place only: poll(), over the listening socket and every
 *   client's socket together. When poll() returns, it does, for each ready
 *   socket, the one call that cannot wait now:
 *     listening socket readable    accept() the new client
 *     client readable (POLLIN)     recv() what arrived, add it to that
 *                                  client's request buffer
 *     client writable (POLLOUT)    send() what fits of that client's answer
 *   and goes back to poll(). Each client has its own state: the part of its
 *   request read so far, and the part of its answer sent so far. A silent
 *   client costs a slot in the poll() list, nothing more.
 *
 *   This is the design the "C10K problem" (Dan Kegel, 1999: ten thousand
 *   clients on one machine) made famous, and the heart of nginx, Node.js,
 *   Redis and most servers since, usually with epoll instead of poll.
 *
 *   Narration, in strace's form, the watched list first (the "..." line),
 *   then which sockets came back ready, then the calls made for them:
 *     poll([{fd=3, events=POLLIN}, {fd=4, events=POLLIN}], 2, -1) ...
 *     poll([{fd=3, events=POLLIN}, {fd=4, events=POLLIN}], 2, -1) = 1 ([{fd=4, revents=POLLIN}])
 *     recv(4, "GET / HTTP/1.1\r\n\r\n", 8192, 0) = 18  a blank line: the request is complete
 *
 * Run it
 *   ./poll                         serve on 127.0.0.1:2017
 *   ./poll -p 0 -n 3               kernel-chosen port; exit after 3 clients
 *   ./poll -m 2                    at most 2 clients at once; the rest wait
 *                                  in the kernel's accept queue
 *   ./poll -r 1000000              a 13 MB answer: partial sends, buffered
 *
 * Watch it (second terminal)
 *   nc 127.0.0.1 2017              say nothing: the server does not care
 *   curl http://127.0.0.1:2017/    answered at once all the same
 *   cat /proc/$(pgrep -x poll)/syscall   7 (poll on x86-64), always
 *   ls /proc/$(pgrep -x poll)/fd   one socket per client, plus fd 3
 *
 * See also: poll(2), fcntl(2), accept(2), recv(2), send(2), shutdown(2),
 *   epoll(7), select(2), RFC 9112; Kegel, "The C10K problem"
 */
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* As in 08: the largest request accepted, what is read and thrown away
 * after a 431, how much of a recv or send a line shows, and the bodies. */
#define REQUEST_LIMIT 8192
#define DISCARD_LIMIT (1024 * 1024)
#define SHOW_BYTES 128
#define HELLO_BODY "Hello there.\n"
#define TOO_LARGE_BODY "Request header fields over 8192 bytes.\n"

static const char usage[] =
    "usage: poll [-a ADDR] [-p PORT] [-b BACKLOG] [-n COUNT] [-m MAX] [-r REPEAT] [-h]\n"
    "  An HTTP/1.1 server for many clients at once, in one poll() loop:\n"
    "  answers every request with \"Hello there.\", as 08-server does.\n"
    "  -a ADDR     IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT     0-65535, 0 lets the kernel choose (default 2017)\n"
    "  -b BACKLOG  listen() backlog, at least 1 (default 10)\n"
    "  -n COUNT    accept COUNT clients, serve them, exit (default: never)\n"
    "  -m MAX      at most MAX clients at once (default 1000); past it the\n"
    "              listening socket is not polled: new clients wait in the\n"
    "              kernel's accept queue\n"
    "  -r REPEAT   the answer's body says Hello there. REPEAT times\n"
    "              (default 1; up to 1000000: an answer too big to send at once)\n"
    "  -h          show this help\n";

/* Where a client is in its visit. What the server waits for depends on it. */
enum client_state {
    READING,        /* reading its request: wait for POLLIN */
    SENDING,        /* sending its answer: wait for POLLOUT */
    DRAINING,       /* after a 431: reading the rest away, POLLIN */
};

/* Everything the server remembers about one client between two poll()s:
 * with one process for all, a client's progress cannot live on a stack
 * that waits for it, as in 08; it lives here. */
struct client {
    int fd;
    enum client_state state;
    char request[REQUEST_LIMIT];    /* the request so far */
    size_t used;                    /* bytes of it */
    const char *answer;             /* the response being sent ... */
    size_t answer_length;
    size_t sent;                    /* ... and how much of it is out */
    int too_large;                  /* the answer is the 431 */
    size_t discarded;               /* bytes read away while DRAINING */
};

/* The two answers, built once. */
static char *hello, *too_large;
static size_t hello_length, too_large_length;

/* Print a data call as strace shows it, without its result:
 *     recv(4, "GET / HTTP/1.1\r\n", 8192, 0)     (as 08) */
static void print_data_call(const char *call, int fd, const char *bytes,
                            size_t shown, size_t size)
{
    printf("%s(%d, ", call, fd);
    print_escaped(bytes, shown, SHOW_BYTES);
    printf(", %zu, 0)", size);
}

/* Does the request so far hold the blank line that ends the headers? As
 * 08: "\n\n" or "\n\r\n" (a bare LF is taken as a line end too). */
static int has_blank_line(const char *bytes, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (bytes[i] != '\n')
            continue;
        if (i + 1 < length && bytes[i + 1] == '\n')
            return 1;
        if (i + 2 < length && bytes[i + 1] == '\r' && bytes[i + 2] == '\n')
            return 1;
    }
    return 0;
}

/* Build an HTTP/1.1 response, 08's bytes exactly: CR LF line ends,
 * Content-Type, the counted Content-Length, Connection: close, the body
 * `repeat` times. Returns it (malloc'd); its length in *length. */
static char *build_response(const char *status, const char *body, long repeat,
                            size_t *length)
{
    size_t body_length = strlen(body) * (size_t)repeat;
    char head[256];
    int head_length = snprintf(head, sizeof head,
                               "HTTP/1.1 %s\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: %zu\r\n"
                               "Connection: close\r\n"
                               "\r\n",
                               status, body_length);
    *length = (size_t)head_length + body_length;
    char *response = malloc(*length);
    if (response == NULL)
        die("malloc(%zu)", *length);
    memcpy(response, head, (size_t)head_length);
    for (long i = 0; i < repeat; i++)
        memcpy(response + head_length + (size_t)i * strlen(body), body, strlen(body));
    return response;
}

/* The client's visit is over, however it ended: close its socket (one fd
 * per client, given back every time) and forget it. */
static void close_client(struct client *client)
{
    if (close(client->fd) == -1)
        die("close(%d)", client->fd);
    printf("close(%d) = 0\n", client->fd);
    free(client);
}

/* POLLIN (or POLLERR/POLLHUP) on a client that is sending its request:
 * one recv(), of what has arrived. It cannot sleep: the socket is
 * non-blocking, and poll() said there is something (bytes, EOF or an
 * error). Returns 0 to keep the client, -1 when its visit is over. */
static int read_request(struct client *client)
{
    /*[ One recv() into what is left of this client's own buffer
     *  (client->request, client->used bytes used, REQUEST_LIMIT in all): it
     *  cannot sleep. -1 EAGAIN: narrate_failure() it and keep the client
     *  (return 0); another error: narrate_failure() and return -1. Print
     *  'recv(FD, "BYTES", ROOM, 0)' (print_data_call()) and its result:
     *  " = 0  EOF: the peer closed its side before a blank line" (return
     *  -1); else add the bytes to client->used and look for the blank line
     *  in the whole request so far (has_blank_line()): found, " = N  a
     *  blank line: the request is complete", answer hello; the buffer full
     *  without it, " = N  8192 bytes and no blank line: too large", answer
     *  too_large (client->too_large = 1); neither, " = N  no blank line
     *  yet: read on" and return 0. With an answer: client->state = SENDING,
     *  return 0. See recv(2).
     *  stub: (void)client; (void)has_blank_line; return -1; */
    size_t room = REQUEST_LIMIT - client->used;
    ssize_t received = recv(client->fd, client->request + client->used, room, 0);
    if (received == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* Readiness is a hint (lab 09): nothing after all. */
            narrate_failure("recv(%d, ..., %zu, 0)", client->fd, room);
            return 0;
        }
        narrate_failure("recv(%d, ..., %zu, 0)", client->fd, room);  /* ECONNRESET */
        return -1;
    }
    print_data_call("recv", client->fd, client->request + client->used,
                    (size_t)received, room);
    if (received == 0) {
        printf(" = 0  EOF: the peer closed its side before a blank line\n");
        return -1;
    }
    /* Search everything so far: the blank line may span two recv()s. */
    client->used += (size_t)received;
    if (has_blank_line(client->request, client->used)) {
        printf(" = %zd  a blank line: the request is complete\n", received);
        client->answer = hello;
        client->answer_length = hello_length;
    } else if (client->used == REQUEST_LIMIT) {
        printf(" = %zd  %d bytes and no blank line: too large\n", received, REQUEST_LIMIT);
        client->answer = too_large;
        client->answer_length = too_large_length;
        client->too_large = 1;
    } else {
        printf(" = %zd  no blank line yet: read on\n", received);
        return 0;
    }
    client->state = SENDING;            /* from now on, wait for POLLOUT */
    return 0;
    /*] */
}

/* POLLOUT on a client being answered: one send() of what is left. A
 * non-blocking send() takes what fits in the socket's send buffer and
 * returns that count, maybe less than asked (a partial send): remember how
 * far we got and send the rest at the next POLLOUT. Never drop it.
 * Returns 0 to keep the client, -1 when its visit is over. */
static int send_answer(struct client *client)
{
    /*[ One send() of what is left of this client's answer (client->answer,
     *  client->answer_length, client->sent so far). -1 EAGAIN:
     *  narrate_failure() and return 0 (poll() says when to try again);
     *  another error (EPIPE, ECONNRESET): narrate_failure(), return -1.
     *  Print 'send(FD, "BYTES", LEFT, 0)' (print_data_call()), add the
     *  count to client->sent, and if some is left print " = N  partial: M
     *  bytes still to send" and return 0: the rest goes at the next POLLOUT,
     *  never dropped. All sent: " = N"; then return -1 (answered: close),
     *  unless it was the 431: then shutdown(fd, SHUT_WR), print
     *  "shutdown(FD, SHUT_WR) = 0  FIN: no more from us; now drain the
     *  request", client->state = DRAINING, return 0. See send(2).
     *  stub: (void)client; return -1; */
    const char *next = client->answer + client->sent;
    size_t left = client->answer_length - client->sent;
    ssize_t sent = send(client->fd, next, left, 0);
    if (sent == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            narrate_failure("send(%d, ..., %zu, 0)", client->fd, left);
            return 0;
        }
        /* EPIPE or ECONNRESET: the client is gone (SIGPIPE is ignored). */
        narrate_failure("send(%d, ..., %zu, 0)", client->fd, left);
        return -1;
    }
    print_data_call("send", client->fd, next, left, left);
    client->sent += (size_t)sent;
    if (client->sent < client->answer_length) {
        printf(" = %zd  partial: %zu bytes still to send\n", sent, left - (size_t)sent);
        return 0;
    }
    printf(" = %zd\n", sent);
    if (!client->too_large)
        return -1;                      /* answered: close */

    /* After a 431 (as 08): FIN now, then read the rest of the oversized
     * request away, so that closing does not reset the connection before
     * the client has read the answer. */
    if (shutdown(client->fd, SHUT_WR) == -1) {
        narrate_failure("shutdown(%d, SHUT_WR)", client->fd);
        return -1;
    }
    printf("shutdown(%d, SHUT_WR) = 0  FIN: no more from us; now drain the request\n",
           client->fd);
    client->state = DRAINING;
    return 0;
    /*] */
}

/* POLLIN on a client being drained after its 431. */
static int drain_request(struct client *client)
{
    ssize_t received = recv(client->fd, client->request, REQUEST_LIMIT, 0);
    if (received == -1) {
        narrate_failure("recv(%d, ..., %d, 0)", client->fd, REQUEST_LIMIT);
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
    print_data_call("recv", client->fd, client->request, (size_t)received, REQUEST_LIMIT);
    if (received == 0) {
        printf(" = 0  EOF: the client has finished\n");
        return -1;
    }
    printf(" = %zd  thrown away\n", received);
    client->discarded += (size_t)received;
    if (client->discarded >= DISCARD_LIMIT) {
        printf("(%d bytes thrown away and still more: give up on this client)\n",
               DISCARD_LIMIT);
        return -1;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    int backlog = 10;
    long client_limit = 0;              /* -n: 0 means serve for ever */
    long max_clients = 1000;            /* -m */
    long repeat = 1;                    /* -r */
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:b:n:m:r:h")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'b': backlog = (int)parse_number(optarg, "backlog", 1, INT_MAX); break;
        case 'n': client_limit = parse_number(optarg, "count", 1, LONG_MAX); break;
        case 'm': max_clients = parse_number(optarg, "max clients", 1, 1000000); break;
        case 'r': repeat = parse_number(optarg, "repeat", 1, 1000000); break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    struct sockaddr_storage address;
    socklen_t address_length = parse_address(address_text, port, &address);

    hello = build_response("200 OK", HELLO_BODY, repeat, &hello_length);
    too_large = build_response("431 Request Header Fields Too Large", TOO_LARGE_BODY, 1,
                               &too_large_length);

    /* The clients being served, and poll()'s list: the listening socket
     * first, then one entry per client, in the same order as clients[]. */
    struct client **clients = calloc((size_t)max_clients, sizeof *clients);
    struct pollfd *watched = calloc((size_t)max_clients + 1, sizeof *watched);
    if (clients == NULL || watched == NULL)
        die("calloc(%ld)", max_clients);
    long client_count = 0, accepted = 0;

    catch_stop_signals();
    /* A client that hangs up mid-answer must cost one EPIPE, not the
     * server: ignore SIGPIPE (labs 04, 06, 08). */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal(SIGPIPE, SIG_IGN)");

    /* Step 1 (labs 01-03, by common/lab.c): socket, SO_REUSEADDR, bind,
     * getsockname, listen. Step 2 (lab 09, by common/lab.c): O_NONBLOCK on
     * the listener, so that an accept() after a stale POLLIN (the
     * connection gone in between) returns EAGAIN instead of sleeping. */
    int listen_fd = open_listening_socket(&address, address_length, backlog);
    make_nonblocking(listen_fd);

    int listener_watched = 1;           /* is fd 3 in the poll() list? */
    int accept_blocked = 0;             /* EMFILE: wait for a client to go */

    /* Step 3: the event loop. */
    while (!stop_requested) {
        int done_accepting = client_limit > 0 && accepted >= client_limit;
        if (done_accepting && client_count == 0)
            break;                      /* -n: all served */

        /* 3a. Watch the listener only while there is room for a client.
         * Left out of the list, it is not polled, and new connections wait
         * in the kernel's accept queue (lab 03) until it is watched again. */
        int watch_listener = !done_accepting && !accept_blocked && client_count < max_clients;
        if (watch_listener != listener_watched) {
            if (watch_listener)
                printf("(a client left: fd %d is watched again)\n", listen_fd);
            else if (done_accepting)
                printf("(-n %ld reached: fd %d is left out of poll())\n", client_limit, listen_fd);
            else if (accept_blocked)
                printf("(no descriptor for another client: fd %d is left out of poll()"
                       " until a client leaves)\n", listen_fd);
            else
                printf("(-m %ld reached: fd %d is left out of poll();"
                       " new clients wait in the accept queue)\n", max_clients, listen_fd);
            listener_watched = watch_listener;
        }

        /*[ 3b-3e, the event loop's body. Build the list in `watched`: the
         *  listener first (POLLIN) if watch_listener, then each client of
         *  clients[], POLLOUT if its state is SENDING, else POLLIN. Print
         *  the call and " ...": "poll([{fd=3, events=POLLIN}, {fd=4,
         *  events=POLLIN}], 2, -1) ..." (format_poll_call()); poll(watched,
         *  count, -1), the only call here that sleeps; -1 EINTR:
         *  narrate_failure() and `continue` (others: die()). Print the call
         *  again with " = " and its result, "1 ([{fd=4, revents=POLLIN}])"
         *  (format_poll_result()). For each client whose revents is not 0:
         *  read_request(), send_answer() or drain_request() by its state;
         *  -1: close_client() it and drop it from clients[] (set
         *  accept_blocked = 0: a descriptor came free). Then, if the
         *  listener came back with POLLIN: accept() one client. -1 EMFILE or
         *  ENFILE: narrate_failure() and set accept_blocked (polling the
         *  listener again would spin); EAGAIN, EINTR or
         *  only_this_connection_failed(): narrate_failure(); else die().
         *  Success: "accept(3) = NEW  peer ADDR:PORT", count it in
         *  `accepted`, make_nonblocking(NEW) (accept() does not pass
         *  O_NONBLOCK on), and add a client (calloc) in state READING.
         *  See poll(2), accept(2).
         *  stub: (void)read_request; (void)send_answer; (void)drain_request;
         *  break; */
        /* 3b. The list: what to wait for on each socket. */
        nfds_t count = 0;
        if (watch_listener)
            watched[count++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        for (long i = 0; i < client_count; i++)
            watched[count++] = (struct pollfd){
                .fd = clients[i]->fd,
                .events = clients[i]->state == SENDING ? POLLOUT : POLLIN,
            };

        /* 3c. poll(): the one call in this server that sleeps, until at
         * least one socket in the list is ready, or a signal arrives. */
        char call[POLL_TEXT_SIZE], result[POLL_TEXT_SIZE];
        format_poll_call(watched, count, -1, call);
        printf("%s ...\n", call);
        int ready = poll(watched, count, -1);
        if (ready == -1) {
            if (errno != EINTR)
                die("%s", call);
            narrate_failure("%s", call);
            continue;                   /* the loop checks stop_requested */
        }
        format_poll_result(watched, count, ready, result);
        printf("%s = %s\n", call, result);

        /* 3d. Serve each ready client: one call each, none can sleep.
         * Clients whose visit is over are closed and dropped from the
         * array, which is packed as we go. */
        nfds_t entry = watch_listener ? 1 : 0;
        long kept = 0;
        for (long i = 0; i < client_count; i++, entry++) {
            struct client *client = clients[i];
            int keep = 1;
            if (watched[entry].revents != 0) {
                if (client->state == READING)
                    keep = read_request(client) == 0;
                else if (client->state == SENDING)
                    keep = send_answer(client) == 0;
                else
                    keep = drain_request(client) == 0;
            }
            if (keep)
                clients[kept++] = client;
            else
                close_client(client);
        }
        if (kept < client_count)
            accept_blocked = 0;         /* a descriptor came free */
        client_count = kept;

        /* 3e. A connection waits in the queue: accept it (one per poll();
         * if more wait, the next poll() says so at once). */
        if (watch_listener && (watched[0].revents & POLLIN)) {
            struct sockaddr_storage peer;
            socklen_t peer_length = sizeof peer;
            int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_length);
            if (conn_fd == -1) {
                if (errno == EMFILE || errno == ENFILE) {
                    /* Out of descriptors. The connection stays queued and
                     * fd 3 stays readable: polling it now would return at
                     * once, for ever (a busy loop). Stop watching it until a
                     * client leaves. */
                    narrate_failure("accept(%d)", listen_fd);
                    accept_blocked = 1;
                } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                           only_this_connection_failed(errno)) {
                    narrate_failure("accept(%d)", listen_fd);
                } else {
                    die("accept(%d)", listen_fd);
                }
            } else {
                char peer_text[ADDRESS_TEXT_SIZE];
                format_address((struct sockaddr *)&peer, peer_text);
                printf("accept(%d) = %d  peer %s\n", listen_fd, conn_fd, peer_text);
                accepted++;

                /* Step 4 (lab 09): the new socket does not inherit
                 * O_NONBLOCK. Without it, one recv() or send() on a client
                 * that poll() called ready but that is not (after all)
                 * would put the whole server to sleep for that client. */
                make_nonblocking(conn_fd);

                struct client *client = calloc(1, sizeof *client);
                if (client == NULL)
                    die("calloc(%zu)", sizeof *client);
                client->fd = conn_fd;
                client->state = READING;
                clients[client_count++] = client;
            }
        }
        /*] */
    }

    /* Step 5: the end (signal or -n): close every client still here, then
     * the listener. Clients still queued in the kernel are reset. */
    for (long i = 0; i < client_count; i++)
        close_client(clients[i]);
    if (close(listen_fd) == -1)
        die("close(%d)", listen_fd);
    printf("close(%d) = 0\n", listen_fd);
    free(clients);
    free(watched);
    free(hello);
    free(too_large);
    return 0;
}
