/* common/lab.h - the mechanics every socket lab shares.
 *
 * Each lab keeps its own system calls in plain sight: it calls socket(),
 * bind(), accept() ... itself and checks each result where it is made.
 * This header holds only what would otherwise be copied into every lab:
 *
 *   - reporting a failed call (name, errno symbol, strerror text; exit 1),
 *   - reporting bad usage (what was wrong, then the usage; exit 2),
 *   - strict parsing of ports, counts and sizes, and of IPv4/IPv6 literals,
 *   - turning an address into "127.0.0.1:2017" or "[::1]:2017",
 *   - printing bytes as an escaped C string, the way strace shows them,
 *   - catching SIGINT and SIGTERM so that a blocked call returns EINTR.
 *
 * Narration (what a lab prints to stdout) follows strace's format:
 *     accept(3) = 4  peer 127.0.0.1:51234
 *     connect(3, 127.0.0.1:9) = -1 ECONNREFUSED (Connection refused)
 */
#ifndef SOCKET_LABS_LAB_H
#define SOCKET_LABS_LAB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define PRINTF_LIKE(fmt, first)
#endif

/* Every lab that binds defaults to loopback (reachable only from this
 * machine) and the notes' port, which is above 1023 so needs no privilege. */
#define DEFAULT_ADDRESS "127.0.0.1"
#define DEFAULT_PORT 2017

/* Room for the longest address text and its NUL: "[IPv6]:port" needs 54
 * bytes, a unix socket's path up to 108. */
#define ADDRESS_TEXT_SIZE 128

/* ---- Starting up ------------------------------------------------------ */

/* Remember the program's name and usage text for the messages below. */
void lab_start(const char *argv0, const char *usage);

/* -h: print the usage to stdout and exit 0. */
_Noreturn void print_usage_and_exit(void);

/* ---- Errors ----------------------------------------------------------- */

/* The symbolic name of an errno value ("EADDRINUSE"), from our own table so
 * that it works on any C library; "errno 123" style text for unknown ones.
 * Returns a pointer to a constant string or to the caller's buffer. */
const char *errno_name(int errnum, char unknown_buffer[32]);

/* A failed call the lab cannot go on from. Uses the current errno.
 * stderr: "bind: bind(3, 127.0.0.1:2017) = -1 EADDRINUSE (Address already in use)"
 * then exit(1). The format describes the call: die("bind(%d, %s)", fd, text). */
_Noreturn void die(const char *call_format, ...) PRINTF_LIKE(1, 2);

/* A failed call the lab goes on from (EINTR, a client's ECONNRESET ...).
 * Uses the current errno. stdout: "accept(3) = -1 EINTR (Interrupted system call)" */
void narrate_failure(const char *call_format, ...) PRINTF_LIKE(1, 2);

/* After a failed accept(): true for the errors that concern only the one
 * connection being accepted (ECONNABORTED: the client gave up while queued;
 * a network error that hit it). accept(2) asks servers to go on to the next
 * client after these, as after EINTR. */
int only_this_connection_failed(int errnum);

/* Bad usage: "bind: MESSAGE" and the usage on stderr, then exit(2). */
_Noreturn void usage_error(const char *format, ...) PRINTF_LIKE(1, 2);

/* getopt() returned ':' (missing value) or '?' (unknown option). */
_Noreturn void usage_bad_option(int getopt_result);

/* ---- Command-line values (each exits 2 with a message when bad) ------- */

/* A whole decimal number in [min, max]; `what` names it in the message. */
long parse_number(const char *text, const char *what, long min, long max);

/* A port: 0-65535, where 0 asks the kernel to choose. */
uint16_t parse_port(const char *text);

/* An IPv4 or IPv6 numeric literal ("127.0.0.1", "::1") and a port, filled
 * into *address. Returns the length to pass to bind() or connect(). */
socklen_t parse_address(const char *text, uint16_t port,
                        struct sockaddr_storage *address);

/* ---- Text ------------------------------------------------------------- */

/* "127.0.0.1:2017", "[::1]:2017", or a unix socket's path. */
void format_address(const struct sockaddr *address,
                    char text[ADDRESS_TEXT_SIZE]);

/* Print bytes to stdout as strace does: "Hello there.\n" in double quotes,
 * C escapes for the rest; after `limit` bytes stop and print "..." */
void print_escaped(const void *bytes, size_t length, size_t limit);

/* ---- Set-up that earlier labs showed ------------------------------------
 * A lab about accept() or recv() still needs a socket with an address. These
 * make those calls exactly as labs 01-03 do, each checked and narrated:
 *     socket(AF_INET, SOCK_STREAM, 0) = 3
 *     setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0     (if asked)
 *     bind(3, 127.0.0.1:0) = 0
 *     getsockname(3) = 127.0.0.1:41873
 *     listen(3, 10) = 0                                       (listening only)
 * A failed call ends the lab through die(). */

/* socket() of the address's family and `type`, SO_REUSEADDR when
 * `reuse_address`, bind(), getsockname(). Returns the bound socket. */
int open_bound_socket(int type, const struct sockaddr_storage *address,
                      socklen_t address_length, int reuse_address);

/* A TCP server's listening socket: open_bound_socket() with SO_REUSEADDR
 * (a restarted server binds past TIME_WAIT), then listen(fd, backlog). */
int open_listening_socket(const struct sockaddr_storage *address,
                          socklen_t address_length, int backlog);

/* ---- Non-blocking sockets and poll() (09-nonblock, 10-poll) -----------
 * 09-nonblock makes these calls itself; later labs get them from here,
 * narrated the same way, as strace shows them:
 *     fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)
 *     fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
 *     poll([{fd=3, events=POLLIN}, {fd=4, events=POLLOUT}], 2, -1) ...
 *     poll([{fd=3, events=POLLIN}, {fd=4, events=POLLOUT}], 2, -1) = 1 ([{fd=4, revents=POLLOUT}])
 */

/* Room for format_file_flags() and format_poll_events() text. */
#define FLAGS_TEXT_SIZE 128

/* Room for a poll() call's text: strace shows at most 32 entries of an
 * array, then "...", and so do these. */
#define POLL_TEXT_SIZE 2048
#define POLL_SHOWN_ENTRIES 32

/* fcntl(F_GETFL) flags as strace names them: "O_RDWR|O_NONBLOCK". */
void format_file_flags(int flags, char text[FLAGS_TEXT_SIZE]);

/* poll() event bits as strace names them: "POLLIN|POLLOUT", "0". */
void format_poll_events(short events, char text[FLAGS_TEXT_SIZE]);

/* The call: "poll([{fd=3, events=POLLIN}, ...], 2, -1)". */
void format_poll_call(const struct pollfd *fds, nfds_t count, int timeout,
                      char text[POLL_TEXT_SIZE]);

/* The result after poll() returned `ready` (0 or more): "1 ([{fd=3,
 * revents=POLLIN}])", only the entries whose revents are not 0;
 * "0 (Timeout)" for 0. */
void format_poll_result(const struct pollfd *fds, nfds_t count, int ready,
                        char text[POLL_TEXT_SIZE]);

/* Make fd non-blocking as 09-nonblock does: fcntl(F_GETFL), then
 * fcntl(F_SETFL, flags | O_NONBLOCK), each checked and narrated. */
void make_nonblocking(int fd);

/* ---- Signals ---------------------------------------------------------- */

/* Set to 1 by the SIGINT/SIGTERM handler. */
extern volatile sig_atomic_t stop_requested;

/* Install the SIGINT and SIGTERM handler *without* SA_RESTART, so that a
 * call blocked in the kernel returns -1 with errno EINTR. */
void catch_stop_signals(void);

#endif
