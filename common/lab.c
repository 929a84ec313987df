/* common/lab.c - the shared mechanics; see lab.h for the contract. */
#include "lab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static const char *program_name = "lab";
static const char *usage_text = "";

void lab_start(const char *argv0, const char *usage)
{
    const char *slash = strrchr(argv0, '/');
    program_name = slash ? slash + 1 : argv0;
    usage_text = usage;
}

_Noreturn void print_usage_and_exit(void)
{
    fputs(usage_text, stdout);
    exit(0);
}

/* ---- Errors ----------------------------------------------------------- */

/* strerrorname_np() would give these names, but only on glibc 2.32 and
 * later; a table of the errors sockets meet works everywhere. */
static const struct {
    int number;
    const char *name;
} errno_names[] = {
    {EACCES, "EACCES"},           {EADDRINUSE, "EADDRINUSE"},
    {EADDRNOTAVAIL, "EADDRNOTAVAIL"}, {EAFNOSUPPORT, "EAFNOSUPPORT"},
    {EAGAIN, "EAGAIN"},           {EALREADY, "EALREADY"},
    {EBADF, "EBADF"},             {ECONNABORTED, "ECONNABORTED"},
    {ECONNREFUSED, "ECONNREFUSED"}, {ECONNRESET, "ECONNRESET"},
    {EDESTADDRREQ, "EDESTADDRREQ"}, {EFAULT, "EFAULT"},
    {EHOSTUNREACH, "EHOSTUNREACH"}, {EINPROGRESS, "EINPROGRESS"},
    {EINTR, "EINTR"},             {EINVAL, "EINVAL"},
    {EISCONN, "EISCONN"},         {EMFILE, "EMFILE"},
    {EMSGSIZE, "EMSGSIZE"},       {ENETDOWN, "ENETDOWN"},
    {ENETUNREACH, "ENETUNREACH"}, {ENFILE, "ENFILE"},
    {ENOBUFS, "ENOBUFS"},         {ENOENT, "ENOENT"},
    {ENONET, "ENONET"},
    {ENOMEM, "ENOMEM"},           {ENOPROTOOPT, "ENOPROTOOPT"},
    {ENOTCONN, "ENOTCONN"},       {ENOTSOCK, "ENOTSOCK"},
    {EOPNOTSUPP, "EOPNOTSUPP"},   {EPERM, "EPERM"},
    {EPIPE, "EPIPE"},             {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
    {EPROTO, "EPROTO"},           {EHOSTDOWN, "EHOSTDOWN"},
    {EPROTOTYPE, "EPROTOTYPE"},   {ETIMEDOUT, "ETIMEDOUT"},
#ifdef ESOCKTNOSUPPORT
    {ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT"},
#endif
};

const char *errno_name(int errnum, char unknown_buffer[32])
{
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].number == errnum)
            return errno_names[i].name;
    snprintf(unknown_buffer, 32, "errno %d", errnum);
    return unknown_buffer;
}

/* Write "CALL = -1 ENAME (text)" to `stream`, `prefix` first. */
static void print_failure(FILE *stream, const char *prefix, int errnum,
                          const char *call_format, va_list arguments)
    PRINTF_LIKE(4, 0);
static void print_failure(FILE *stream, const char *prefix, int errnum,
                          const char *call_format, va_list arguments)
{
    char unknown[32];
    fputs(prefix, stream);
    vfprintf(stream, call_format, arguments);
    fprintf(stream, " = -1 %s (%s)\n", errno_name(errnum, unknown),
            strerror(errnum));
}

_Noreturn void die(const char *call_format, ...)
{
    int saved_errno = errno;        /* fflush below may change errno */
    va_list arguments;

    fflush(stdout);                 /* keep the narration in order */
    fprintf(stderr, "%s: ", program_name);
    va_start(arguments, call_format);
    print_failure(stderr, "", saved_errno, call_format, arguments);
    va_end(arguments);
    exit(1);
}

void narrate_failure(const char *call_format, ...)
{
    int saved_errno = errno;
    va_list arguments;

    va_start(arguments, call_format);
    print_failure(stdout, "", saved_errno, call_format, arguments);
    va_end(arguments);
    errno = saved_errno;
}

_Noreturn void usage_error(const char *format, ...)
{
    va_list arguments;

    fprintf(stderr, "%s: ", program_name);
    va_start(arguments, format);
    vfprintf(stderr, format, arguments);
    va_end(arguments);
    fprintf(stderr, "\n%s", usage_text);
    exit(2);
}

int only_this_connection_failed(int errnum)
{
    /* Linux hands a network error that hit a queued connection to the
     * accept() that takes it (accept(2), "Error handling"). */
    return errnum == ECONNABORTED || errnum == EPROTO || errnum == ENETDOWN ||
           errnum == ENOPROTOOPT || errnum == EHOSTDOWN || errnum == EHOSTUNREACH ||
           errnum == ENONET || errnum == EOPNOTSUPP || errnum == ENETUNREACH;
}

_Noreturn void usage_bad_option(int getopt_result)
{
    /* getopt() was given an optstring starting with ':' so that it says
     * nothing itself and tells the two cases apart. */
    if (getopt_result == ':')
        usage_error("option -%c needs a value", optopt);
    usage_error("unknown option -%c", optopt);
}

/* ---- Command-line values ---------------------------------------------- */

long parse_number(const char *text, const char *what, long min, long max)
{
    const char *digits = (text[0] == '-' || text[0] == '+') ? text + 1 : text;
    char *end;
    long value;

    /* strtol() alone would accept " 12", "12abc" and "" (as 0). */
    if (digits[0] < '0' || digits[0] > '9')
        usage_error("%s '%s' is not a number", what, text);
    errno = 0;
    value = strtol(text, &end, 10);
    if (*end != '\0')
        usage_error("%s '%s' is not a number", what, text);
    if (errno == ERANGE || value < min || value > max)
        usage_error("%s '%s' is out of range (%ld-%ld)", what, text, min, max);
    return value;
}

uint16_t parse_port(const char *text)
{
    return (uint16_t)parse_number(text, "port", 0, 65535);
}

socklen_t parse_address(const char *text, uint16_t port,
                        struct sockaddr_storage *address)
{
    /* Zero the whole structure first: unused fields (sin_zero, the IPv6
     * flow label and scope) must be 0, and 0 is the byte 0, not '0'. */
    memset(address, 0, sizeof *address);

    struct sockaddr_in *ipv4 = (struct sockaddr_in *)address;
    /* inet_pton() returns 1 on success and 0 for text that is not an
     * address of that family; it does not set errno for that case. */
    if (inet_pton(AF_INET, text, &ipv4->sin_addr) == 1) {
        ipv4->sin_family = AF_INET;
        ipv4->sin_port = htons(port);       /* network byte order */
        return sizeof *ipv4;
    }
    struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)address;
    if (inet_pton(AF_INET6, text, &ipv6->sin6_addr) == 1) {
        ipv6->sin6_family = AF_INET6;
        ipv6->sin6_port = htons(port);
        return sizeof *ipv6;
    }
    usage_error("address '%s' is not an IPv4 or IPv6 numeric address", text);
}

/* ---- Text ------------------------------------------------------------- */

void format_address(const struct sockaddr *address,
                    char text[ADDRESS_TEXT_SIZE])
{
    char host[INET6_ADDRSTRLEN];

    switch (address->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *ipv4 = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &ipv4->sin_addr, host, sizeof host);
        snprintf(text, ADDRESS_TEXT_SIZE, "%s:%u", host, ntohs(ipv4->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *ipv6 = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &ipv6->sin6_addr, host, sizeof host);
        snprintf(text, ADDRESS_TEXT_SIZE, "[%s]:%u", host, ntohs(ipv6->sin6_port));
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *local = (const struct sockaddr_un *)address;
        snprintf(text, ADDRESS_TEXT_SIZE, "%s",
                 local->sun_path[0] ? local->sun_path : "(unnamed)");
        break;
    }
    default:
        snprintf(text, ADDRESS_TEXT_SIZE, "(address family %d)", address->sa_family);
    }
}

void print_escaped(const void *bytes, size_t length, size_t limit)
{
    const unsigned char *byte = bytes;
    size_t shown = length < limit ? length : limit;

    putchar('"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = byte[i];
        switch (c) {
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\v': fputs("\\v", stdout); break;
        case '\f': fputs("\\f", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '"':  fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default:
            if (c >= ' ' && c <= '~') {
                putchar(c);
            } else {
                /* Octal, as short as it can be unless a digit follows
                 * (then "\0" + "1" would read as "\01"): strace's rule. */
                int digit_follows = i + 1 < shown && byte[i + 1] >= '0' && byte[i + 1] <= '7';
                if (digit_follows)
                    printf("\\%03o", c);
                else
                    printf("\\%o", c);
            }
        }
    }
    putchar('"');
    if (shown < length)
        fputs("...", stdout);
}

/* ---- Signals ---------------------------------------------------------- */

volatile sig_atomic_t stop_requested = 0;

static void on_stop_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;         /* all a handler may safely do here */
}

void catch_stop_signals(void)
{
    struct sigaction action;

    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    /* No SA_RESTART in sa_flags: after the handler runs, the interrupted
     * call fails with EINTR instead of quietly starting again. */
    action.sa_flags = 0;
    if (sigaction(SIGINT, &action, NULL) == -1)
        die("sigaction(SIGINT)");
    if (sigaction(SIGTERM, &action, NULL) == -1)
        die("sigaction(SIGTERM)");
}

/* ---- Set-up that earlier labs showed ---------------------------------- */

int open_bound_socket(int type, const struct sockaddr_storage *address,
                      socklen_t address_length, int reuse_address)
{
    const char *family_name = address->ss_family == AF_INET ? "AF_INET" : "AF_INET6";
    const char *type_name = type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_DGRAM";

    /* 01-socket: a new endpoint, no address yet. */
    int fd = socket(address->ss_family, type, 0);
    if (fd == -1)
        die("socket(%s, %s, 0)", family_name, type_name);
    printf("socket(%s, %s, 0) = %d\n", family_name, type_name, fd);

    /* 02-bind: let bind() past connections still in TIME_WAIT. */
    if (reuse_address) {
        int on = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
            die("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1])", fd);
        printf("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1], %zu) = 0\n", fd, sizeof on);
    }

    /* 02-bind: the address, refused at once if taken or not ours. */
    char text[ADDRESS_TEXT_SIZE];
    format_address((const struct sockaddr *)address, text);
    if (bind(fd, (const struct sockaddr *)address, address_length) == -1)
        die("bind(%d, %s)", fd, text);
    printf("bind(%d, %s) = 0\n", fd, text);

    /* 02-bind: the address the kernel really gave (the port, with -p 0). */
    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) == -1)
        die("getsockname(%d)", fd);
    format_address((struct sockaddr *)&bound, text);
    printf("getsockname(%d) = %s\n", fd, text);
    return fd;
}

int open_listening_socket(const struct sockaddr_storage *address,
                          socklen_t address_length, int backlog)
{
    int fd = open_bound_socket(SOCK_STREAM, address, address_length, 1);

    /* 03-listen: passive from now on; the kernel completes handshakes and
     * queues the connections by itself. Never blocks. */
    if (listen(fd, backlog) == -1)
        die("listen(%d, %d)", fd, backlog);
    printf("listen(%d, %d) = 0\n", fd, backlog);
    return fd;
}

/* ---- Non-blocking sockets and poll() ---------------------------------- */

/* Append `name` to `text`, after a "|" unless it is the first. */
static void append_flag(char text[FLAGS_TEXT_SIZE], const char *name)
{
    size_t used = strlen(text);
    snprintf(text + used, FLAGS_TEXT_SIZE - used, "%s%s", used > 0 ? "|" : "", name);
}

void format_file_flags(int flags, char text[FLAGS_TEXT_SIZE])
{
    static const struct { int bit; const char *name; } names[] = {
        {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_ASYNC, "O_ASYNC"},
    };
    int access = flags & O_ACCMODE;

    text[0] = '\0';
    append_flag(text, access == O_RDONLY ? "O_RDONLY" : access == O_WRONLY ? "O_WRONLY" : "O_RDWR");
    flags &= ~O_ACCMODE;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (flags & names[i].bit) {
            append_flag(text, names[i].name);
            flags &= ~names[i].bit;
        }
    }
    if (flags != 0) {
        char rest[16];
        snprintf(rest, sizeof rest, "%#o", (unsigned)flags);
        append_flag(text, rest);
    }
}

void format_poll_events(short events, char text[FLAGS_TEXT_SIZE])
{
    static const struct { short bit; const char *name; } names[] = {
        {POLLIN, "POLLIN"}, {POLLPRI, "POLLPRI"}, {POLLOUT, "POLLOUT"},
        {POLLERR, "POLLERR"}, {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"},
    };
    unsigned rest = (unsigned short)events;

    text[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (rest & (unsigned short)names[i].bit) {
            append_flag(text, names[i].name);
            rest &= ~(unsigned short)names[i].bit;
        }
    }
    if (rest != 0 || text[0] == '\0') {
        char number[16];
        snprintf(number, sizeof number, "%#x", rest);
        append_flag(text, rest != 0 ? number : "0");
    }
}

/* Append printf-style text to a POLL_TEXT_SIZE buffer (cut if it is full). */
static void append_text(char text[POLL_TEXT_SIZE], const char *format, ...)
    PRINTF_LIKE(2, 3);
static void append_text(char text[POLL_TEXT_SIZE], const char *format, ...)
{
    size_t used = strlen(text);
    va_list arguments;

    if (used + 1 >= POLL_TEXT_SIZE)
        return;
    va_start(arguments, format);
    vsnprintf(text + used, POLL_TEXT_SIZE - used, format, arguments);
    va_end(arguments);
}

void format_poll_call(const struct pollfd *fds, nfds_t count, int timeout,
                      char text[POLL_TEXT_SIZE])
{
    char events[FLAGS_TEXT_SIZE];

    text[0] = '\0';
    append_text(text, "poll([");
    for (nfds_t i = 0; i < count; i++) {
        if (i == POLL_SHOWN_ENTRIES) {
            append_text(text, ", ...");
            break;
        }
        format_poll_events(fds[i].events, events);
        append_text(text, "%s{fd=%d, events=%s}", i > 0 ? ", " : "", fds[i].fd, events);
    }
    append_text(text, "], %lu, %d)", (unsigned long)count, timeout);
}

void format_poll_result(const struct pollfd *fds, nfds_t count, int ready,
                        char text[POLL_TEXT_SIZE])
{
    char events[FLAGS_TEXT_SIZE];
    int shown = 0;

    text[0] = '\0';
    if (ready == 0) {
        append_text(text, "0 (Timeout)");
        return;
    }
    append_text(text, "%d ([", ready);
    for (nfds_t i = 0; i < count; i++) {
        if (fds[i].revents == 0)
            continue;
        if (shown == POLL_SHOWN_ENTRIES) {
            append_text(text, ", ...");
            break;
        }
        format_poll_events(fds[i].revents, events);
        append_text(text, "%s{fd=%d, revents=%s}", shown > 0 ? ", " : "", fds[i].fd, events);
        shown++;
    }
    append_text(text, "])");
}

void make_nonblocking(int fd)
{
    char text[FLAGS_TEXT_SIZE];

    /* 09-nonblock: read the file status flags, then set them again with
     * O_NONBLOCK added. Neither call blocks. */
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1)
        die("fcntl(%d, F_GETFL)", fd);
    format_file_flags(flags, text);
    printf("fcntl(%d, F_GETFL) = %#x (flags %s)\n", fd, (unsigned)flags, text);

    format_file_flags(flags | O_NONBLOCK, text);
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
        die("fcntl(%d, F_SETFL, %s)", fd, text);
    printf("fcntl(%d, F_SETFL, %s) = 0\n", fd, text);
}
