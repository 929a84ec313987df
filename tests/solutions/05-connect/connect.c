/*
 * connect.c - lab 05: the client's side of the TCP handshake.
 *
 * What it shows
 *   connect() sleeps until the handshake is done (SYN, SYN+ACK, ACK), not
 *   until the server program calls accept(): the server's kernel finishes
 *   the handshake by itself and queues the connection. The lab times the
 *   call, prints the local port the kernel picked for us (an implicit bind:
 *   a client seldom calls bind()), optionally sends -m MESSAGE and shuts
 *   down its sending side so the server reads EOF, then prints whatever the
 *   server sends until the server's EOF.
 *
 *   Against a port where nothing listens the kernel answers with RST and
 *   connect() fails at once with ECONNREFUSED. Against a listener whose
 *   queue is full the SYN is dropped and connect() sleeps through the SYN
 *   retries; -w SECONDS sets TCP_USER_TIMEOUT so that the kernel itself
 *   gives up and connect() fails with ETIMEDOUT.
 *
 * Run it
 *   make && ./connect                       (127.0.0.1:2017)
 *   ./connect -a ::1 -p 2017 -m hello -w 2
 *
 * Watch from a second terminal
 *   cat /proc/$(pgrep -x connect)/wchan     (wait_woken while in connect)
 *   ss -tn 'dport = :2017'
 *   strace -e trace=network,read,write ./connect
 *
 * See also
 *   connect(2), getsockname(2), getpeername(2), read(2), write(2),
 *   shutdown(2), close(2), tcp(7) (TCP_USER_TIMEOUT), ip(7), ipv6(7)
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum {
    DEFAULT_PORT = 2017,
    READ_SIZE = 4096,     /* one read() asks for at most this much */
    SHOWN_BYTES = 128,    /* narration cuts byte strings here */
    MAX_WAIT = 3600,      /* -w upper bound, seconds */
    ADDR_TEXT = INET6_ADDRSTRLEN + 16,
};

static const char *program = "connect";

/* Set by the SIGINT / SIGTERM handler. */
static volatile sig_atomic_t stop_signal = 0;

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

static const char *errno_symbol(int number)
{
    static const struct {
        int number;
        const char *name;
    } names[] = {
        { EPERM, "EPERM" },               { ENOENT, "ENOENT" },
        { EINTR, "EINTR" },               { EIO, "EIO" },
        { EBADF, "EBADF" },               { EAGAIN, "EAGAIN" },
        { ENOMEM, "ENOMEM" },             { EACCES, "EACCES" },
        { EFAULT, "EFAULT" },             { EINVAL, "EINVAL" },
        { ENFILE, "ENFILE" },             { EMFILE, "EMFILE" },
        { EPIPE, "EPIPE" },               { ENOTSOCK, "ENOTSOCK" },
        { ENOPROTOOPT, "ENOPROTOOPT" },   { EPROTONOSUPPORT, "EPROTONOSUPPORT" },
        { EOPNOTSUPP, "EOPNOTSUPP" },     { EAFNOSUPPORT, "EAFNOSUPPORT" },
        { EADDRINUSE, "EADDRINUSE" },     { EADDRNOTAVAIL, "EADDRNOTAVAIL" },
        { ENETDOWN, "ENETDOWN" },         { ENETUNREACH, "ENETUNREACH" },
        { ECONNABORTED, "ECONNABORTED" }, { ECONNRESET, "ECONNRESET" },
        { ENOBUFS, "ENOBUFS" },           { EISCONN, "EISCONN" },
        { ENOTCONN, "ENOTCONN" },         { ETIMEDOUT, "ETIMEDOUT" },
        { ECONNREFUSED, "ECONNREFUSED" }, { EHOSTDOWN, "EHOSTDOWN" },
        { EHOSTUNREACH, "EHOSTUNREACH" }, { EALREADY, "EALREADY" },
        { EINPROGRESS, "EINPROGRESS" },   { EPROTO, "EPROTO" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].number == number)
            return names[i].name;
    return "E?";
}

/* Finish a narration line for a call that returned -1. */
static void print_failed_result(int number)
{
    printf("-1 %s (%s)\n", errno_symbol(number), strerror(number));
}

/* A failure the client cannot go on from: one stderr line, exit 1. */
static void quit_on(const char *call, int number)
{
    fprintf(stderr, "%s: %s failed: %s (%s)\n", program, call, errno_symbol(number),
            strerror(number));
    exit(1);
}

/* Bytes in strace's style: quoted, C escapes, octal, cut with "..." after. */
static void print_bytes(const char *data, size_t length)
{
    static const char plain[] = "\t\n\v\f\r\"\\";
    static const char *const escaped[] = { "\\t", "\\n", "\\v", "\\f", "\\r", "\\\"", "\\\\" };
    size_t shown = length > SHOWN_BYTES ? SHOWN_BYTES : length;

    putchar('"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)data[i];
        const char *special = c != '\0' ? strchr(plain, c) : NULL;
        if (special != NULL)
            fputs(escaped[special - plain], stdout);
        else if (c >= 0x20 && c <= 0x7e)
            putchar(c);
        else if (i + 1 < shown && data[i + 1] >= '0' && data[i + 1] <= '7')
            printf("\\%03o", c);    /* a digit follows: all three digits */
        else
            printf("\\%o", c);
    }
    putchar('"');
    if (length > shown)
        fputs("...", stdout);
}

static void format_address(const struct sockaddr_storage *address, char *text, size_t size)
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
/* Options                                                             */
/* ------------------------------------------------------------------ */

struct request {
    struct sockaddr_storage server;
    socklen_t server_length;
    const char *message;     /* NULL: send nothing, no shutdown */
    unsigned wait_seconds;   /* 0: the kernel's own patience (~127 s) */
};

static void show_help(FILE *to)
{
    fprintf(to,
            "Usage: %s [-a ADDR] [-p PORT] [-m MESSAGE] [-w SECONDS] [-h]\n"
            "Opens a TCP connection to ADDR:PORT, timing connect(), optionally sends\n"
            "MESSAGE and half-closes, then prints all the server sends until EOF.\n"
            "  -a ADDR     server address, numeric IPv4 or IPv6 (127.0.0.1)\n"
            "  -p PORT     server port, 0..65535 (2017)\n"
            "  -m MESSAGE  bytes to send before shutdown(SHUT_WR)\n"
            "  -w SECONDS  1..3600: the kernel abandons a stalled handshake (ETIMEDOUT)\n"
            "  -h          print this help and exit\n",
            program);
}

static void bad_usage(const char *problem, const char *value)
{
    fprintf(stderr, "%s: %s (got '%s')\n", program, problem, value);
    show_help(stderr);
    exit(2);
}

/* Decimal digits only, the whole string, within [low, high]. */
static bool to_number(const char *text, unsigned long low, unsigned long high,
                      unsigned long *out)
{
    if (*text == '\0' || strspn(text, "0123456789") != strlen(text))
        return false;
    errno = 0;
    unsigned long value = strtoul(text, NULL, 10);
    if (errno == ERANGE || value < low || value > high)
        return false;
    *out = value;
    return true;
}

static void parse_command_line(int argc, char **argv, struct request *request)
{
    const char *host = "127.0.0.1";
    unsigned long port = DEFAULT_PORT;
    unsigned long seconds = 0;
    int option;

    request->message = NULL;
    opterr = 0;
    while ((option = getopt(argc, argv, ":a:p:m:w:h")) != -1) {
        char flag[3] = { '-', (char)optopt, '\0' };
        switch (option) {
        case 'a':
            host = optarg;
            break;
        case 'p':
            if (!to_number(optarg, 0, 65535, &port))
                bad_usage("-p needs a port number between 0 and 65535", optarg);
            break;
        case 'm':
            request->message = optarg;
            break;
        case 'w':
            if (!to_number(optarg, 1, MAX_WAIT, &seconds))
                bad_usage("-w needs a whole number of seconds between 1 and 3600", optarg);
            break;
        case 'h':
            show_help(stdout);
            exit(0);
        case ':':
            bad_usage("an option is missing its value", flag);
            break;
        default:
            bad_usage("unrecognised option", flag);
            break;
        }
    }
    if (optind < argc)
        bad_usage("stray argument", argv[optind]);

    memset(&request->server, 0, sizeof request->server);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&request->server;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&request->server;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        request->server_length = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        request->server_length = sizeof *v6;
    } else {
        bad_usage("-a needs a numeric IPv4 or IPv6 address", host);
    }
    request->wait_seconds = (unsigned)seconds;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

static void remember_signal(int number)
{
    stop_signal = number;
}

/*
 * SIGINT/SIGTERM without SA_RESTART: connect() or read() returns -1 EINTR
 * and we end cleanly. SIGPIPE ignored: a write to a connection the server
 * has reset fails with EPIPE instead of killing us silently.
 */
static void set_up_signals(void)
{
    struct sigaction stop, ignore, before;

    memset(&stop, 0, sizeof stop);
    stop.sa_handler = remember_signal;
    sigemptyset(&stop.sa_mask);
    stop.sa_flags = 0;   /* no SA_RESTART, on purpose */
    if (sigaction(SIGINT, &stop, NULL) == -1 || sigaction(SIGTERM, &stop, NULL) == -1)
        quit_on("sigaction", errno);

    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGPIPE, &ignore, &before) == -1) {
        int saved = errno;
        fputs("sigaction(SIGPIPE, {sa_handler=SIG_IGN}, ...) = ", stdout);
        print_failed_result(saved);
        quit_on("sigaction", saved);
    }
    printf("sigaction(SIGPIPE, {sa_handler=SIG_IGN}, {sa_handler=%s}) = 0"
           "  a reset peer gives EPIPE, not death\n",
           before.sa_handler == SIG_IGN ? "SIG_IGN" : "SIG_DFL");
}

/* ------------------------------------------------------------------ */
/* Steps after the handshake                                           */
/* ------------------------------------------------------------------ */

/* Close the socket, narrated, and leave with status 0 (after a signal). */
static void close_and_leave(int fd)
{
    if (close(fd) == -1) {
        int saved = errno;
        printf("close(%d) = ", fd);
        print_failed_result(saved);
    } else {
        printf("close(%d) = 0\n", fd);
    }
    exit(0);
}

/* A call returned -1: EINTR ends the run with 0, anything else with 1. */
static void after_failure(int fd, const char *call, int number)
{
    if (number == EINTR)
        close_and_leave(fd);
    quit_on(call, number);
}

static void print_endpoints(int fd)
{
    struct sockaddr_storage address;
    socklen_t length;
    char text[ADDR_TEXT];

    /* The implicit bind: connect() gave the socket a local address and port. */
    memset(&address, 0, sizeof address);
    length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) == -1) {
        int saved = errno;
        printf("getsockname(%d) = ", fd);
        print_failed_result(saved);
        quit_on("getsockname", saved);
    }
    format_address(&address, text, sizeof text);
    printf("getsockname(%d) = %s  picked by the kernel, we never called bind\n", fd, text);

    memset(&address, 0, sizeof address);
    length = sizeof address;
    if (getpeername(fd, (struct sockaddr *)&address, &length) == -1) {
        int saved = errno;
        printf("getpeername(%d) = ", fd);
        print_failed_result(saved);
        quit_on("getpeername", saved);
    }
    format_address(&address, text, sizeof text);
    printf("getpeername(%d) = %s\n", fd, text);
}

/*
 * write() may take fewer bytes than offered: loop. It sleeps only while
 * the send buffer is full. Then shutdown(SHUT_WR): the kernel queues a FIN
 * after our bytes, the server's read returns 0, and we can still read.
 */
static void send_message(int fd, const char *message)
{
    size_t length = strlen(message);
    size_t sent = 0;

    while (sent < length) {
        const char *next = message + sent;
        size_t left = length - sent;
        printf("write(%d, ", fd);
        print_bytes(next, left);
        printf(", %zu) ...\n", left);
        ssize_t n = write(fd, next, left);
        int saved = errno;
        printf("write(%d, ", fd);
        print_bytes(next, left);
        printf(", %zu) = ", left);
        if (n == -1) {
            print_failed_result(saved);
            after_failure(fd, "write", saved);
        }
        printf("%zd\n", n);
        sent += (size_t)n;
    }

    if (shutdown(fd, SHUT_WR) == -1) {
        int saved = errno;
        printf("shutdown(%d, SHUT_WR) = ", fd);
        print_failed_result(saved);
        quit_on("shutdown", saved);
    }
    printf("shutdown(%d, SHUT_WR) = 0  FIN queued: the server will read EOF\n", fd);
}

/* read() sleeps until at least one byte, EOF (0) or an error. */
static void read_until_eof(int fd)
{
    char buffer[READ_SIZE];

    for (;;) {
        if (stop_signal != 0)
            close_and_leave(fd);
        printf("read(%d, ...\n", fd);
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n == -1) {
            int saved = errno;
            printf("read(%d, ..., %zu) = ", fd, sizeof buffer);
            print_failed_result(saved);
            after_failure(fd, "read", saved);
        }
        printf("read(%d, ", fd);
        print_bytes(buffer, (size_t)n);
        printf(", %zu) = %zd", sizeof buffer, n);
        if (n == 0) {
            printf("  EOF: the peer closed its side\n");
            return;
        }
        putchar('\n');
    }
}

static double milliseconds_between(const struct timespec *from, const struct timespec *to)
{
    return (double)(to->tv_sec - from->tv_sec) * 1e3 + (double)(to->tv_nsec - from->tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
    struct request request;
    char server_text[ADDR_TEXT];

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration is read while we run */
    parse_command_line(argc, argv, &request);
    format_address(&request.server, server_text, sizeof server_text);
    set_up_signals();

    /* Step 1: a TCP socket. No bind(): the kernel will choose our port. */
    const char *family = request.server.ss_family == AF_INET6 ? "AF_INET6" : "AF_INET";
    int fd = socket(request.server.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (fd == -1) {
        int saved = errno;
        printf("socket(%s, SOCK_STREAM, IPPROTO_TCP) = ", family);
        print_failed_result(saved);
        quit_on("socket", saved);
    }
    printf("socket(%s, SOCK_STREAM, IPPROTO_TCP) = %d\n", family, fd);

    /*
     * Step 2 (-w): TCP_USER_TIMEOUT, in milliseconds: how long the kernel
     * may keep retransmitting unanswered, the SYN included. Past it the
     * kernel drops the attempt and connect() fails with ETIMEDOUT.
     */
    if (request.wait_seconds > 0) {
        unsigned int timeout_ms = request.wait_seconds * 1000u;
        if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms) == -1) {
            int saved = errno;
            printf("setsockopt(%d, IPPROTO_TCP, TCP_USER_TIMEOUT, [%u], %zu) = ", fd, timeout_ms,
                   sizeof timeout_ms);
            print_failed_result(saved);
            quit_on("setsockopt", saved);
        }
        printf("setsockopt(%d, IPPROTO_TCP, TCP_USER_TIMEOUT, [%u], %zu) = 0\n", fd, timeout_ms,
               sizeof timeout_ms);
    }

    /*
     * Step 3: connect(). The kernel binds the socket implicitly, sends
     * SYN and puts us to sleep until SYN+ACK (then it ACKs and we return),
     * a RST (ECONNREFUSED), or it gives up (ETIMEDOUT). It does not wait
     * for the server program's accept().
     */
    if (stop_signal != 0)
        close_and_leave(fd);
    struct timespec started, finished;
    printf("connect(%d, %s) ...\n", fd, server_text);
    clock_gettime(CLOCK_MONOTONIC, &started);
    int connected = connect(fd, (const struct sockaddr *)&request.server, request.server_length);
    int saved = errno;
    clock_gettime(CLOCK_MONOTONIC, &finished);
    printf("connect(%d, %s) = ", fd, server_text);
    if (connected == -1) {
        print_failed_result(saved);
        after_failure(fd, "connect", saved);
    }
    printf("0  after %.3f ms\n", milliseconds_between(&started, &finished));

    /* Step 4: both ends of the connection, as the kernel records them. */
    print_endpoints(fd);

    /* Step 5 (-m): our bytes, then "nothing more from us". */
    if (request.message != NULL)
        send_message(fd, request.message);

    /* Step 6: whatever the server sends, until it closes. */
    read_until_eof(fd);

    /* Step 7: give the descriptor back. */
    if (close(fd) == -1) {
        saved = errno;
        printf("close(%d) = ", fd);
        print_failed_result(saved);
        quit_on("close", saved);
    }
    printf("close(%d) = 0\n", fd);
    return 0;
}
