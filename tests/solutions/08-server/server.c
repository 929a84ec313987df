/*
 * server.c - lab 08: every call of the earlier labs in one program, an
 * iterative HTTP/1.1 server that greets each visitor with "Hello there."
 *
 * What it shows
 *   The whole life of a TCP server, each system call narrated on stdout
 *   in strace's form: socket, setsockopt(SO_REUSEADDR), bind, listen, then
 *   for ever accept, read the request up to its blank line, write the
 *   answer, close. Every call that may sleep is announced by a line ending
 *   in "..." just before it is made, so the last line on the screen is the
 *   call the server is asleep in.
 *
 *   Being iterative, it also shows head-of-line blocking: while it waits
 *   for one client to finish its request, every other client waits in the
 *   kernel's accept queue, although their connect() has long succeeded.
 *
 * Run it
 *   make && ./server                 (127.0.0.1:2017)
 *   ./server -a ::1 -p 0 -n 3        (IPv6, a port the kernel picks, 3 clients)
 *
 * Watch from a second terminal
 *   curl -i http://127.0.0.1:2017/
 *   nc 127.0.0.1 2017                (say nothing: the next client waits)
 *   ss -ltn 'sport = :2017'          (Recv-Q: connections not yet accepted)
 *   cat /proc/$(pgrep -x server)/wchan
 *   strace -e trace=network,read,write,close -p $(pgrep -x server)
 *
 * See also
 *   socket(2), setsockopt(2), bind(2), listen(2), accept(2), read(2),
 *   write(2), shutdown(2), close(2), sigaction(2), signal(7), tcp(7),
 *   RFC 9112 (HTTP/1.1 messages), RFC 6585 (status 431).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

enum {
    DEFAULT_PORT = 2017,
    DEFAULT_BACKLOG = 10,
    REQUEST_LIMIT = 8192,         /* the longest request we will hold: 8 KiB */
    DRAIN_PIECE = 16384,          /* how much one read throws away after a 431 */
    DRAIN_LIMIT = 1024 * 1024,    /* after this much, give up on that client */
    SHOWN_BYTES = 128,            /* narration cuts byte strings here */
    ADDR_TEXT = INET6_ADDRSTRLEN + 16,
};

static const char *program = "server";

/* Set by the SIGINT / SIGTERM handler; the interrupted call says EINTR. */
static volatile sig_atomic_t stop_signal = 0;

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

/* The symbolic name of an errno value, as strace prints it. */
static const char *errno_symbol(int number)
{
    switch (number) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case EPIPE: return "EPIPE";
    case ENONET: return "ENONET";
    case EPROTO: return "EPROTO";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNRESET: return "ECONNRESET";
    case ENOBUFS: return "ENOBUFS";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EHOSTDOWN: return "EHOSTDOWN";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EALREADY: return "EALREADY";
    case EINPROGRESS: return "EINPROGRESS";
    default: return "E?";
    }
}

/* "-1 ECONNRESET (Connection reset by peer)": the tail of a failed call. */
static void print_failure(FILE *to, int number)
{
    fprintf(to, "-1 %s (%s)", errno_symbol(number), strerror(number));
}

/*
 * A call the server cannot go on from: one line on stderr naming the call,
 * the errno symbol and its text, then exit status 1. The narration line for
 * the call has been printed already by the caller.
 */
static void give_up(const char *call, int number)
{
    fprintf(stderr, "%s: cannot go on, %s() failed with %s: %s\n",
            program, call, errno_symbol(number), strerror(number));
    exit(1);
}

/*
 * Bytes as strace shows them: in double quotes, C escapes for the usual
 * control characters, octal for the rest, cut after SHOWN_BYTES with "..."
 * after the closing quote.
 */
static void print_bytes(const char *data, size_t length)
{
    size_t shown = length < SHOWN_BYTES ? length : SHOWN_BYTES;

    putchar('"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)data[i];
        switch (c) {
        case '\t': fputs("\\t", stdout); continue;
        case '\n': fputs("\\n", stdout); continue;
        case '\v': fputs("\\v", stdout); continue;
        case '\f': fputs("\\f", stdout); continue;
        case '\r': fputs("\\r", stdout); continue;
        case '"': fputs("\\\"", stdout); continue;
        case '\\': fputs("\\\\", stdout); continue;
        default: break;
        }
        if (c >= ' ' && c < 0x7f) {
            putchar(c);
            continue;
        }
        /* Octal; three digits if a digit follows, so it cannot run on. */
        bool digit_next = i + 1 < shown && data[i + 1] >= '0' && data[i + 1] <= '7';
        if (digit_next)
            printf("\\%03o", c);
        else
            printf("\\%o", c);
    }
    putchar('"');
    if (shown < length)
        fputs("...", stdout);
}

/* 127.0.0.1:2017 or [::1]:2017 */
static void address_text(const struct sockaddr_storage *address, char *text, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (address->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        snprintf(text, size, "[%s]:%u", host, (unsigned)ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        snprintf(text, size, "%s:%u", host, (unsigned)ntohs(v4->sin_port));
    }
}

/* ------------------------------------------------------------------ */
/* The command line                                                    */
/* ------------------------------------------------------------------ */

struct settings {
    struct sockaddr_storage address;  /* where to listen, port included */
    socklen_t address_length;
    int backlog;
    long long clients;                /* 0: serve until a signal */
};

static void print_usage(FILE *to)
{
    fprintf(to,
            "Usage: %s [-a ADDR] [-p PORT] [-b BACKLOG] [-n COUNT] [-h]\n"
            "Serves \"Hello there.\" over HTTP/1.1 to one client after another,\n"
            "printing every system call it makes; stops on Ctrl-C or SIGTERM.\n"
            "  -a ADDR     numeric IPv4 or IPv6 address to listen on (127.0.0.1)\n"
            "  -p PORT     port number 0..65535; 0 means any free port (2017)\n"
            "  -b BACKLOG  backlog for listen(), 1 or more (10)\n"
            "  -n COUNT    stop after COUNT clients, 1 or more (no limit)\n"
            "  -h          print this help and exit\n",
            program);
}

/* Bad usage: say what was wrong, show the usage, exit 2. */
static void usage_error(const char *what, const char *value)
{
    fprintf(stderr, "%s: rejected '%s': %s\n", program, value, what);
    print_usage(stderr);
    exit(2);
}

/* A whole decimal number in [low, high], digits only; false otherwise. */
static bool parse_number(const char *text, long long low, long long high, long long *result)
{
    if (text[0] == '\0')
        return false;
    for (const char *p = text; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < low || value > high)
        return false;
    *result = value;
    return true;
}

static void read_settings(int argc, char **argv, struct settings *settings)
{
    const char *address_arg = "127.0.0.1";
    long long port = DEFAULT_PORT;
    long long backlog = DEFAULT_BACKLOG;
    long long clients = 0;
    int option;

    opterr = 0;  /* our own messages, not getopt's */
    while ((option = getopt(argc, argv, ":a:p:b:n:h")) != -1) {
        switch (option) {
        case 'a':
            address_arg = optarg;
            break;
        case 'p':
            if (!parse_number(optarg, 0, 65535, &port))
                usage_error("-p takes a port number from 0 to 65535", optarg);
            break;
        case 'b':
            if (!parse_number(optarg, 1, INT_MAX, &backlog))
                usage_error("-b takes a backlog of 1 or more", optarg);
            break;
        case 'n':
            if (!parse_number(optarg, 1, LLONG_MAX, &clients))
                usage_error("-n takes a count of clients, 1 or more", optarg);
            break;
        case 'h':
            print_usage(stdout);
            exit(0);
        case ':': {
            char name[3] = { '-', (char)optopt, '\0' };
            usage_error("this option takes a value and got none", name);
            break;
        }
        default: {
            char name[3] = { '-', (char)optopt, '\0' };
            usage_error("not an option of this program", name);
            break;
        }
        }
    }
    if (optind < argc)
        usage_error("operands are not accepted, only options", argv[optind]);

    /* Zero the whole structure first: unused fields must be 0, not '0'. */
    memset(&settings->address, 0, sizeof settings->address);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&settings->address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&settings->address;
    if (inet_pton(AF_INET, address_arg, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        settings->address_length = sizeof *v4;
    } else if (inet_pton(AF_INET6, address_arg, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        settings->address_length = sizeof *v6;
    } else {
        usage_error("-a takes a numeric IPv4 or IPv6 address", address_arg);
    }
    settings->backlog = (int)backlog;
    settings->clients = clients;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

static void note_stop(int signal_number)
{
    stop_signal = signal_number;
}

/*
 * SIGINT and SIGTERM: a handler installed *without* SA_RESTART, so the
 * call we are asleep in (accept, read, write) returns -1 EINTR instead of
 * being restarted by the kernel, and the loop can end in good order.
 */
static void catch_stop_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = note_stop;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    if (sigaction(SIGINT, &action, NULL) == -1)
        give_up("sigaction", errno);
    if (sigaction(SIGTERM, &action, NULL) == -1)
        give_up("sigaction", errno);
}

/*
 * SIGPIPE: writing to a connection the peer has torn down raises it, and
 * its default action kills the process. A server must not die because a
 * client went away, so we ignore it: write() then fails with EPIPE, which
 * we report and survive.
 */
static void ignore_sigpipe(void)
{
    struct sigaction ignore, before;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGPIPE, &ignore, &before) == -1) {
        int saved = errno;
        fputs("sigaction(SIGPIPE, {sa_handler=SIG_IGN}, ...) = ", stdout);
        print_failure(stdout, saved);
        putchar('\n');
        give_up("sigaction", saved);
    }
    printf("sigaction(SIGPIPE, {sa_handler=SIG_IGN}, {sa_handler=%s}) = 0"
           "  a client that vanishes gives EPIPE, not death\n",
           before.sa_handler == SIG_IGN ? "SIG_IGN" : before.sa_handler == SIG_DFL ? "SIG_DFL" : "handler");
}

/* ------------------------------------------------------------------ */
/* The two answers                                                     */
/* ------------------------------------------------------------------ */

enum answer { ANSWER_HELLO, ANSWER_TOO_LARGE, ANSWER_COUNT };

struct response {
    const char *status_line;  /* without its CR LF */
    const char *body;
    char bytes[512];          /* the whole message, built once */
    size_t length;
};

static struct response responses[ANSWER_COUNT] = {
    [ANSWER_HELLO] = { "HTTP/1.1 200 OK", "Hello there.\n", "", 0 },
    [ANSWER_TOO_LARGE] = { "HTTP/1.1 431 Request Header Fields Too Large",
                           "Your request went past 8192 bytes before its blank line.\n", "", 0 },
};

/*
 * HTTP/1.1 wants CR LF after every line and an empty line after the
 * headers. Content-Length (counted, not typed) tells the client where the
 * body ends; Connection: close says one request per connection.
 */
static void build_responses(void)
{
    for (int i = 0; i < ANSWER_COUNT; i++) {
        struct response *r = &responses[i];
        int n = snprintf(r->bytes, sizeof r->bytes,
                         "%s\r\n"
                         "Content-Type: text/plain\r\n"
                         "Content-Length: %zu\r\n"
                         "Connection: close\r\n"
                         "\r\n"
                         "%s",
                         r->status_line, strlen(r->body), r->body);
        if (n < 0 || (size_t)n >= sizeof r->bytes) {
            fprintf(stderr, "%s: response %d does not fit its buffer\n", program, i);
            exit(1);
        }
        r->length = (size_t)n;
    }
}

/* ------------------------------------------------------------------ */
/* One connection                                                      */
/* ------------------------------------------------------------------ */

/* How a step on a connection ended. */
enum outcome {
    DONE,           /* the step succeeded */
    TOO_LARGE,      /* read_request: REQUEST_LIMIT bytes, no blank line */
    PEER_GONE,      /* EOF, a reset, EPIPE...: give up on this client */
    INTERRUPTED,    /* SIGINT / SIGTERM: stop the server */
};

/*
 * The end of the header section: a line feed followed by an empty line.
 * "\n\r\n" covers CR LF CR LF; "\n\n" lets a person typing into nc (bare
 * LF, which RFC 9112 2.2 allows a server to accept) be served too. Looks at
 * everything read so far, so an end split over two reads is found.
 */
static bool has_blank_line(const char *data, size_t length)
{
    for (size_t i = 0; i + 1 < length; i++) {
        if (data[i] != '\n')
            continue;
        if (data[i + 1] == '\n')
            return true;
        if (i + 2 < length && data[i + 1] == '\r' && data[i + 2] == '\n')
            return true;
    }
    return false;
}

/*
 * Read the request up to its blank line. TCP is a byte stream: read()
 * returns whatever has arrived, one line or a part of one, so we append to
 * one buffer, asking only for the room left, until the blank line shows up,
 * the buffer is full, or the client closes or resets.
 */
static enum outcome read_request(int conn_fd)
{
    char request[REQUEST_LIMIT];
    size_t used = 0;

    for (;;) {
        size_t room = sizeof request - used;

        /* read() sleeps until at least one byte, EOF or an error. */
        printf("read(%d, ...\n", conn_fd);
        ssize_t got = read(conn_fd, request + used, room);
        if (got == -1) {
            int saved = errno;
            printf("read(%d, ..., %zu) = ", conn_fd, room);
            print_failure(stdout, saved);
            putchar('\n');
            if (saved == EINTR)
                return INTERRUPTED;
            return PEER_GONE;   /* ECONNRESET, ETIMEDOUT...: this client only */
        }
        printf("read(%d, ", conn_fd);
        print_bytes(request + used, (size_t)got);
        printf(", %zu) = %zd", room, got);
        if (got == 0) {
            printf("  EOF: the peer closed its side, no whole request came\n");
            return PEER_GONE;
        }
        used += (size_t)got;
        if (has_blank_line(request, used)) {
            printf("  blank line seen: the request is complete\n");
            return DONE;
        }
        if (used == sizeof request) {
            printf("  buffer full (%d bytes), no blank line: too large\n", REQUEST_LIMIT);
            return TOO_LARGE;
        }
        printf("  no blank line yet: read on\n");
    }
}

/*
 * write() copies into the socket's send buffer and may take fewer bytes
 * than offered, so loop until all of it is out. It sleeps only while that
 * buffer is full.
 */
static enum outcome write_all(int conn_fd, const char *data, size_t length)
{
    size_t done = 0;

    while (done < length) {
        const char *next = data + done;
        size_t left = length - done;

        printf("write(%d, ", conn_fd);
        print_bytes(next, left);
        printf(", %zu) ...\n", left);
        ssize_t put = write(conn_fd, next, left);
        int saved = errno;

        printf("write(%d, ", conn_fd);
        print_bytes(next, left);
        printf(", %zu) = ", left);
        if (put == -1) {
            print_failure(stdout, saved);
            putchar('\n');
            return saved == EINTR ? INTERRUPTED : PEER_GONE;
        }
        printf("%zd\n", put);
        done += (size_t)put;
    }
    return DONE;
}

/*
 * After a 431 the client is probably still sending. Closing with its bytes
 * unread would make our kernel answer with a reset, which may destroy the
 * 431 before the client reads it. So: FIN first (shutdown SHUT_WR), then
 * read and discard until the client's EOF, up to DRAIN_LIMIT bytes.
 */
static enum outcome refuse_politely(int conn_fd)
{
    if (shutdown(conn_fd, SHUT_WR) == -1) {
        int saved = errno;
        printf("shutdown(%d, SHUT_WR) = ", conn_fd);
        print_failure(stdout, saved);
        putchar('\n');
        return PEER_GONE;
    }
    printf("shutdown(%d, SHUT_WR) = 0  FIN sent after the 431; discarding the rest\n", conn_fd);

    char scrap[DRAIN_PIECE];
    size_t discarded = 0;
    while (discarded < DRAIN_LIMIT) {
        printf("read(%d, ...\n", conn_fd);
        ssize_t got = read(conn_fd, scrap, sizeof scrap);
        if (got == -1) {
            int saved = errno;
            printf("read(%d, ..., %zu) = ", conn_fd, sizeof scrap);
            print_failure(stdout, saved);
            putchar('\n');
            return saved == EINTR ? INTERRUPTED : PEER_GONE;
        }
        printf("read(%d, ", conn_fd);
        print_bytes(scrap, (size_t)got);
        printf(", %zu) = %zd", sizeof scrap, got);
        if (got == 0) {
            printf("  EOF: the peer closed its side\n");
            return DONE;
        }
        printf("  discarded\n");
        discarded += (size_t)got;
    }
    printf("(%d bytes discarded and still no EOF: giving up on this client)\n", DRAIN_LIMIT);
    return DONE;
}

/* Serve one accepted connection, always closing it. False: stop the server. */
static bool serve(int conn_fd)
{
    enum outcome result = read_request(conn_fd);

    if (result == DONE) {
        result = write_all(conn_fd, responses[ANSWER_HELLO].bytes, responses[ANSWER_HELLO].length);
    } else if (result == TOO_LARGE) {
        result = write_all(conn_fd, responses[ANSWER_TOO_LARGE].bytes,
                           responses[ANSWER_TOO_LARGE].length);
        if (result == DONE)
            result = refuse_politely(conn_fd);
    }

    /* Whatever happened, the descriptor goes back: one per client, never kept. */
    if (close(conn_fd) == -1) {
        int saved = errno;
        printf("close(%d) = ", conn_fd);
        print_failure(stdout, saved);
        putchar('\n');
    } else {
        printf("close(%d) = 0\n", conn_fd);
    }
    return result != INTERRUPTED;
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */
/* ------------------------------------------------------------------ */

static int open_listener(const struct settings *settings)
{
    const char *family = settings->address.ss_family == AF_INET6 ? "AF_INET6" : "AF_INET";
    char text[ADDR_TEXT];

    /* Step 1: socket() - a new, unconnected TCP endpoint. Never blocks. */
    int listen_fd = socket(settings->address.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (listen_fd == -1) {
        int saved = errno;
        printf("socket(%s, SOCK_STREAM, IPPROTO_TCP) = ", family);
        print_failure(stdout, saved);
        putchar('\n');
        give_up("socket", saved);
    }
    printf("socket(%s, SOCK_STREAM, IPPROTO_TCP) = %d\n", family, listen_fd);

    /* Not a socket step, but it must be in place before any client comes. */
    ignore_sigpipe();

    /*
     * Step 2: SO_REUSEADDR, before bind. We close first on every client,
     * so each connection leaves TIME_WAIT on our port for 60 s; without
     * this a restart within that minute would fail with EADDRINUSE.
     */
    int on = 1;
    if (setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1) {
        int saved = errno;
        printf("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1], %zu) = ", listen_fd, sizeof on);
        print_failure(stdout, saved);
        putchar('\n');
        give_up("setsockopt", saved);
    }
    printf("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1], %zu) = 0\n", listen_fd, sizeof on);

    /* Step 3: bind() - give the socket its local address. Never blocks. */
    address_text(&settings->address, text, sizeof text);
    if (bind(listen_fd, (const struct sockaddr *)&settings->address, settings->address_length) == -1) {
        int saved = errno;
        printf("bind(%d, %s) = ", listen_fd, text);
        print_failure(stdout, saved);
        putchar('\n');
        give_up("bind", saved);
    }
    printf("bind(%d, %s) = 0\n", listen_fd, text);

    /* What the kernel actually gave us (the real port when -p 0). */
    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    memset(&bound, 0, sizeof bound);
    if (getsockname(listen_fd, (struct sockaddr *)&bound, &bound_length) == -1) {
        int saved = errno;
        printf("getsockname(%d) = ", listen_fd);
        print_failure(stdout, saved);
        putchar('\n');
        give_up("getsockname", saved);
    }
    address_text(&bound, text, sizeof text);
    printf("getsockname(%d) = %s\n", listen_fd, text);

    /*
     * Step 4: listen() - from now on the kernel completes handshakes by
     * itself and queues the connections, even while we are busy.
     */
    if (listen(listen_fd, settings->backlog) == -1) {
        int saved = errno;
        printf("listen(%d, %d) = ", listen_fd, settings->backlog);
        print_failure(stdout, saved);
        putchar('\n');
        give_up("listen", saved);
    }
    printf("listen(%d, %d) = 0\n", listen_fd, settings->backlog);
    return listen_fd;
}

/* accept() errors that belong to one would-be client, not to the server. */
static bool client_only_error(int number)
{
    switch (number) {
    case ECONNABORTED:
    case EPROTO:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETDOWN:
    case ENETUNREACH:
    case ETIMEDOUT:
        return true;
    default:
        return false;
    }
}

static void close_narrated(int fd)
{
    if (close(fd) == -1) {
        int saved = errno;
        printf("close(%d) = ", fd);
        print_failure(stdout, saved);
        putchar('\n');
    } else {
        printf("close(%d) = 0\n", fd);
    }
}

int main(int argc, char **argv)
{
    struct settings settings;

    /* Tests and students read the narration while we run: flush per line. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    read_settings(argc, argv, &settings);
    build_responses();

    /*
     * A descriptor held for the whole run, opened before any socket. It is
     * here on purpose: descriptor numbers are not the lesson, and a server
     * must never rely on its sockets getting 3 and 4. The narration prints
     * the real numbers, whatever they are.
     */
    int spare_fd = open("/dev/null", O_RDONLY);
    if (spare_fd == -1) {
        int saved = errno;
        printf("open(\"/dev/null\", O_RDONLY) = ");
        print_failure(stdout, saved);
        putchar('\n');
        give_up("open", saved);
    }
    printf("open(\"/dev/null\", O_RDONLY) = %d  held all run: fd numbers are not the lesson\n",
           spare_fd);

    catch_stop_signals();
    int listen_fd = open_listener(&settings);

    /* Step 5 onwards: one client at a time, for ever (or -n COUNT). */
    long long served = 0;
    while (settings.clients == 0 || served < settings.clients) {
        if (stop_signal != 0) {
            /* It came between calls, not inside one: nothing returned EINTR. */
            printf("(%s arrived between calls: stopping)\n",
                   stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }

        struct sockaddr_storage peer;
        socklen_t peer_length = sizeof peer;
        memset(&peer, 0, sizeof peer);

        /* accept() sleeps until a finished connection is in the queue. */
        printf("accept(%d) ...\n", listen_fd);
        int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_length);
        if (conn_fd == -1) {
            int saved = errno;
            printf("accept(%d) = ", listen_fd);
            print_failure(stdout, saved);
            putchar('\n');
            if (saved == EINTR)
                break;
            if (client_only_error(saved))
                continue;
            close_narrated(listen_fd);
            give_up("accept", saved);
        }
        char text[ADDR_TEXT];
        address_text(&peer, text, sizeof text);
        printf("accept(%d) = %d  peer %s\n", listen_fd, conn_fd, text);
        served++;

        if (!serve(conn_fd))
            break;
    }

    /* Queued connections not yet accepted are reset by the kernel now. */
    close_narrated(listen_fd);
    close_narrated(spare_fd);
    return 0;
}
