/*
 * send-recv.c - lab 06: recv() and send() on a TCP connection.
 *
 * An echo server for exactly one client. It accepts one connection, stops
 * listening, and then, until the client closes its side:
 *
 *     recv()  - sleeps while nothing has arrived; returns as soon as at
 *               least ONE byte is there (whatever has arrived, up to the
 *               buffer size), and returns 0 once the peer has closed its
 *               side and everything before that was read: EOF;
 *     send()  - copies the same bytes into the kernel's send buffer, and
 *               sleeps only while that buffer is full.
 *
 * TCP carries a stream of bytes, not messages: a small -b cuts one write
 * of the client into many recv()s, and -d (a pause before each recv)
 * lets several writes of the client come out of one recv().
 *
 * With -f BYTES the lab does not echo: it sends BYTES to a client that
 * need not read, chunk by chunk, so you can watch send() fall asleep once
 * the client's receive buffer and our send buffer are both full.
 *
 * Run:    ./send-recv [-a ADDR] [-p PORT] [-b BUFSIZE] [-d MS] [-f BYTES]
 * Watch:  nc -N 127.0.0.1 2017                  (type lines; Ctrl-D ends)
 *         cat /proc/$(pgrep -x send-recv)/wchan  (wait_woken: asleep)
 *         ss -tnm '( sport = :2017 )'           (Send-Q / Recv-Q with -f)
 *         strace -e trace=network ./send-recv   (recvfrom/sendto: glibc's
 *                                                send and recv underneath)
 *
 * Every call is printed the way strace prints it, on stdout, one line at a
 * time; a call that may sleep gets a line ending in "..." before it starts.
 *
 * See: recv(2), send(2), shutdown(2), socket(7), tcp(7), signal(7)
 */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "send-recv"

/* strace shows the first 32 bytes of a buffer; so do we. */
#define SHOWN_BYTES 32

#define ECHO_BUFFER_DEFAULT 1024    /* bytes per recv() */
#define FLOOD_CHUNK_DEFAULT 65536   /* bytes per send() with -f */

struct settings {
	struct sockaddr_storage address; /* where to listen */
	socklen_t address_length;
	long buffer_size;                /* 0 until -b or the default */
	long delay_ms;                   /* 0: no pause before recv() */
	long long flood_bytes;           /* 0: echo; else send this many */
};

/* Set by the SIGINT/SIGTERM handler; the loops look at it. */
static volatile sig_atomic_t stop_requested;

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

/* The symbolic name of an errno value, the way strace prints it. */
static const char *errno_name(int number)
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
	case ENOSPC: return "ENOSPC";
	case EPIPE: return "EPIPE";
	case ENOTSOCK: return "ENOTSOCK";
	case EDESTADDRREQ: return "EDESTADDRREQ";
	case EMSGSIZE: return "EMSGSIZE";
	case EPROTOTYPE: return "EPROTOTYPE";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case ENETDOWN: return "ENETDOWN";
	case ENETUNREACH: return "ENETUNREACH";
	case ENETRESET: return "ENETRESET";
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
	case EPROTO: return "EPROTO";
	case ENONET: return "ENONET";
	default: return "E?";
	}
}

/* The tail of a narrated call that failed: " = -1 ESYMBOL (text)". */
static void print_failure_result(int number)
{
	printf(" = -1 %s (%s)\n", errno_name(number), strerror(number));
}

/*
 * A call failed and the server cannot go on: one line on stderr with the
 * call, the errno symbol and its text, then exit status 1.
 */
static void give_up(const char *call, int number)
{
	fflush(stdout);
	fprintf(stderr, "%s: %s failed: %s (%s)\n", PROGRAM, call,
		errno_name(number), strerror(number));
	exit(1);
}

/*
 * Print bytes as strace does: in double quotes, C escapes for what is not
 * printable, the first SHOWN_BYTES only and then "..." after the quote.
 */
static void print_bytes(const char *data, size_t length)
{
	const unsigned char *bytes = (const unsigned char *)data;
	size_t shown = length < SHOWN_BYTES ? length : SHOWN_BYTES;

	putchar('"');
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = bytes[i];
		switch (c) {
		case '"': fputs("\\\"", stdout); continue;
		case '\\': fputs("\\\\", stdout); continue;
		case '\f': fputs("\\f", stdout); continue;
		case '\n': fputs("\\n", stdout); continue;
		case '\r': fputs("\\r", stdout); continue;
		case '\t': fputs("\\t", stdout); continue;
		case '\v': fputs("\\v", stdout); continue;
		default: break;
		}
		if (c >= ' ' && c <= '~') {
			putchar(c);
			continue;
		}
		/*
		 * Octal. The short form (\1) is only safe when the next byte
		 * shown is not an octal digit; otherwise use all three digits.
		 */
		bool digit_follows = i + 1 < shown &&
				     bytes[i + 1] >= '0' && bytes[i + 1] <= '7';
		if (digit_follows || c >= 0100)
			printf("\\%o%o%o", c >> 6, (c >> 3) & 7, c & 7);
		else if (c >= 010)
			printf("\\%o%o", c >> 3, c & 7);
		else
			printf("\\%o", c);
	}
	putchar('"');
	if (length > shown)
		fputs("...", stdout);
}

/* "127.0.0.1:2017" or "[::1]:2017". */
static void format_address(const struct sockaddr_storage *address,
			   char *text, size_t size)
{
	char numeric[INET6_ADDRSTRLEN];

	if (address->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 =
			(const struct sockaddr_in6 *)address;
		inet_ntop(AF_INET6, &v6->sin6_addr, numeric, sizeof numeric);
		snprintf(text, size, "[%s]:%u", numeric,
			 (unsigned)ntohs(v6->sin6_port));
	} else if (address->ss_family == AF_INET) {
		const struct sockaddr_in *v4 =
			(const struct sockaddr_in *)address;
		inet_ntop(AF_INET, &v4->sin_addr, numeric, sizeof numeric);
		snprintf(text, size, "%s:%u", numeric,
			 (unsigned)ntohs(v4->sin_port));
	} else {
		snprintf(text, size, "(family %d)", (int)address->ss_family);
	}
}

/* ------------------------------------------------------------------ */
/* The command line                                                    */
/* ------------------------------------------------------------------ */

static void print_usage(FILE *to)
{
	fprintf(to,
		"usage: %s [-a ADDR] [-p PORT] [-b BUFSIZE] [-d MS] [-f BYTES] [-h]\n"
		"  Takes one TCP client and sends back whatever it receives from it,\n"
		"  narrating every recv() and send(), until the client ends its side.\n"
		"  -a ADDR     numeric IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
		"  -p PORT     port 0-65535; 0 = the kernel picks one (default 2017)\n"
		"  -b BUFSIZE  buffer size for each recv(), 1 or more (default %d);\n"
		"              with -f the size of each send() (default %d)\n"
		"  -d MS       pause MS milliseconds (1 or more) before every recv()\n"
		"  -f BYTES    no echo: send BYTES (1 or more) to the client, then close\n"
		"  -h          print this help and exit\n",
		PROGRAM, ECHO_BUFFER_DEFAULT, FLOOD_CHUNK_DEFAULT);
}

/* Bad usage: say what was wrong, show the usage, exit 2. */
__attribute__((format(printf, 1, 2), noreturn))
static void usage_error(const char *format, ...)
{
	va_list arguments;

	fprintf(stderr, "%s: ", PROGRAM);
	va_start(arguments, format);
	vfprintf(stderr, format, arguments);
	va_end(arguments);
	fputc('\n', stderr);
	print_usage(stderr);
	exit(2);
}

/*
 * A whole decimal number from min to max. Only digits are accepted (no
 * sign, no spaces, nothing after); "what" names it in the complaint.
 */
static long long parse_number(const char *text, const char *what,
			      long long min, long long max)
{
	bool all_digits = text[0] != '\0';
	for (const char *p = text; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			all_digits = false;
	if (!all_digits)
		usage_error("bad %s \"%s\" (want a whole number, %lld-%lld)",
			    what, text, min, max);

	errno = 0;
	long long value = strtoll(text, NULL, 10);
	if (errno == ERANGE || value < min || value > max)
		usage_error("%s \"%s\" is out of range (want %lld-%lld)",
			    what, text, min, max);
	return value;
}

/*
 * Turn a numeric address into a socket address. The structure is zeroed
 * first (with the byte 0), then family, address and port are filled in.
 */
static bool parse_address(const char *text, unsigned port,
			  struct sockaddr_storage *address, socklen_t *length)
{
	memset(address, 0, sizeof *address);

	struct sockaddr_in *v4 = (struct sockaddr_in *)address;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((unsigned short)port);
		*length = sizeof *v4;
		return true;
	}

	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)address;
	if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((unsigned short)port);
		*length = sizeof *v6;
		return true;
	}
	return false;
}

static void read_command_line(int argc, char **argv, struct settings *settings)
{
	const char *address_text = "127.0.0.1";
	unsigned port = 2017;

	settings->buffer_size = 0;
	settings->delay_ms = 0;
	settings->flood_bytes = 0;

	/* All values are checked here, before any socket exists. */
	int option;
	opterr = 0; /* we word the complaints ourselves */
	while ((option = getopt(argc, argv, ":a:p:b:d:f:h")) != -1) {
		switch (option) {
		case 'a':
			address_text = optarg;
			break;
		case 'p':
			port = (unsigned)parse_number(optarg, "port", 0, 65535);
			break;
		case 'b':
			settings->buffer_size = (long)parse_number(
				optarg, "buffer size", 1, INT_MAX);
			break;
		case 'd':
			settings->delay_ms = (long)parse_number(
				optarg, "delay", 1, INT_MAX);
			break;
		case 'f':
			settings->flood_bytes = parse_number(
				optarg, "byte count", 1, LLONG_MAX);
			break;
		case 'h':
			print_usage(stdout);
			exit(0);
		case ':': {
			char name[3] = { '-', (char)optopt, '\0' };
			usage_error("option %s wants a value", name);
		}
		default: {
			char name[3] = { '-', (char)optopt, '\0' };
			usage_error("no such option \"%s\"", name);
		}
		}
	}
	if (optind < argc)
		usage_error("unexpected argument \"%s\"", argv[optind]);

	if (!parse_address(address_text, port, &settings->address,
			   &settings->address_length))
		usage_error("bad address \"%s\" (want a numeric IPv4 or IPv6 address)",
			    address_text);

	if (settings->buffer_size == 0)
		settings->buffer_size = settings->flood_bytes != 0 ?
					FLOOD_CHUNK_DEFAULT : ECHO_BUFFER_DEFAULT;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

static void note_stop(int signal_number)
{
	(void)signal_number;
	stop_requested = 1;
}

/*
 * SIGINT and SIGTERM: a handler that only sets a flag, installed WITHOUT
 * SA_RESTART, so a call sleeping in the kernel (accept, recv, send,
 * nanosleep) comes back with EINTR instead of being restarted, and the
 * lab can print that, close and end cleanly.
 *
 * SIGPIPE: sending on a connection the peer has torn down makes the kernel
 * send us SIGPIPE, which by default kills the process without a word. A
 * client must not be able to end the server, so it is ignored on purpose;
 * the failing send() then returns -1 EPIPE, which we print.
 */
static void set_up_signals(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof action);
	action.sa_handler = note_stop;
	sigemptyset(&action.sa_mask);
	action.sa_flags = 0; /* no SA_RESTART: that is the point */
	if (sigaction(SIGINT, &action, NULL) == -1)
		give_up("sigaction(SIGINT)", errno);
	if (sigaction(SIGTERM, &action, NULL) == -1)
		give_up("sigaction(SIGTERM)", errno);

	action.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &action, NULL) == -1)
		give_up("sigaction(SIGPIPE)", errno);
}

/* ------------------------------------------------------------------ */
/* The listening socket: labs 01 to 03 in brief                        */
/* ------------------------------------------------------------------ */

static int open_listener(const struct settings *settings, int backlog)
{
	char text[INET6_ADDRSTRLEN + 16];
	int family = settings->address.ss_family;
	const char *family_name = family == AF_INET6 ? "AF_INET6" : "AF_INET";

	/* A TCP socket in the family of the address; the lowest free fd. */
	int listen_fd = socket(family, SOCK_STREAM, 0);
	int error = errno;
	printf("socket(%s, SOCK_STREAM, 0)", family_name);
	if (listen_fd == -1) {
		print_failure_result(error);
		give_up("socket", error);
	}
	printf(" = %d\n", listen_fd);

	/*
	 * Whoever closes a connection first leaves a TIME_WAIT entry that
	 * holds the port for 60 s (here: with -f, or when a client quits
	 * early). SO_REUSEADDR lets the next run bind past it at once.
	 */
	int on = 1;
	int result = setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on,
				sizeof on);
	error = errno;
	printf("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [%d], %zu)",
	       listen_fd, on, sizeof on);
	if (result == -1) {
		print_failure_result(error);
		give_up("setsockopt", error);
	}
	printf(" = 0\n");

	/* Give the socket its local address and port. */
	format_address(&settings->address, text, sizeof text);
	result = bind(listen_fd, (const struct sockaddr *)&settings->address,
		      settings->address_length);
	error = errno;
	printf("bind(%d, %s)", listen_fd, text);
	if (result == -1) {
		print_failure_result(error);
		give_up("bind", error);
	}
	printf(" = 0\n");

	/* Ask the kernel what it bound: the real port when we asked for 0. */
	struct sockaddr_storage bound;
	socklen_t bound_length = sizeof bound;
	result = getsockname(listen_fd, (struct sockaddr *)&bound,
			     &bound_length);
	error = errno;
	printf("getsockname(%d)", listen_fd);
	if (result == -1) {
		print_failure_result(error);
		give_up("getsockname", error);
	}
	format_address(&bound, text, sizeof text);
	printf(" = %s\n", text);

	/*
	 * From here on the kernel completes handshakes for us and queues the
	 * connections, up to about BACKLOG of them, whether or not we accept.
	 */
	result = listen(listen_fd, backlog);
	error = errno;
	printf("listen(%d, %d)", listen_fd, backlog);
	if (result == -1) {
		print_failure_result(error);
		give_up("listen", error);
	}
	printf(" = 0\n");

	return listen_fd;
}

/* ------------------------------------------------------------------ */
/* The conversation                                                    */
/* ------------------------------------------------------------------ */

/* How a run of send()s ended. */
enum send_outcome { ALL_SENT, STOP_SIGNALLED, CONNECTION_FAILED };

/*
 * send() until every byte is in the kernel, narrating each call.
 *
 * A blocking send() on TCP sleeps while the send buffer is full (hence the
 * "..." line first) and normally takes everything; it returns a smaller
 * count only when a signal or an error came after part was copied. The
 * rest then goes in the next call, and the short count is said out loud.
 * *total, when given, counts every byte sent, for the comment.
 * On CONNECTION_FAILED *error holds the errno.
 */
static enum send_outcome send_everything(int conn_fd, const char *data,
					 size_t length, long long *total,
					 int *error)
{
	size_t done = 0;

	while (done < length) {
		const char *rest = data + done;
		size_t left = length - done;

		printf("send(%d, ", conn_fd);
		print_bytes(rest, left);
		printf(", %zu, 0) ...\n", left);

		ssize_t sent = send(conn_fd, rest, left, 0);
		int send_error = errno;

		printf("send(%d, ", conn_fd);
		print_bytes(rest, left);
		printf(", %zu, 0)", left);
		if (sent == -1) {
			print_failure_result(send_error);
			if (send_error == EINTR)
				return STOP_SIGNALLED; /* nothing was sent */
			*error = send_error;
			return CONNECTION_FAILED;
		}

		done += (size_t)sent;
		printf(" = %zd", sent);
		if (total != NULL)
			*total += sent;
		if (done < length)
			printf("  short: %zu still to send", length - done);
		if (total != NULL)
			printf("  (%lld so far)", *total);
		printf("\n");

		/* A short count because of SIGINT/SIGTERM: stop here. */
		if (stop_requested)
			return STOP_SIGNALLED;
	}
	return ALL_SENT;
}

static void close_narrated(int fd)
{
	int result = close(fd);
	int close_error = errno;

	printf("close(%d)", fd);
	if (result == -1)
		print_failure_result(close_error);
	else
		printf(" = 0\n");
}

/*
 * The end of a run stopped by SIGINT/SIGTERM: the interrupted call has
 * been printed; close the connection and leave with status 0.
 */
static void finish_on_signal(int conn_fd, char *buffer)
{
	close_narrated(conn_fd);
	free(buffer);
	exit(0);
}

/*
 * With -d: sleep before recv(), so that what the client sends meanwhile
 * piles up in the receive buffer. Returns false if SIGINT/SIGTERM cut the
 * sleep short.
 */
static bool pause_before_recv(long delay_ms)
{
	struct timespec pause = {
		.tv_sec = delay_ms / 1000,
		.tv_nsec = (delay_ms % 1000) * 1000000L,
	};

	printf("nanosleep({tv_sec=%lld, tv_nsec=%ld}, NULL) ...\n",
	       (long long)pause.tv_sec, pause.tv_nsec);
	int result = nanosleep(&pause, NULL);
	int sleep_error = errno;
	printf("nanosleep({tv_sec=%lld, tv_nsec=%ld}, NULL)",
	       (long long)pause.tv_sec, pause.tv_nsec);
	if (result == -1) {
		print_failure_result(sleep_error);
		if (sleep_error == EINTR)
			return false;
		give_up("nanosleep", sleep_error);
	}
	printf(" = 0\n");
	return true;
}

/*
 * The echo: receive whatever has arrived, send it back, until EOF.
 */
static void echo_until_eof(int conn_fd, const struct settings *settings,
			   char *buffer, size_t size)
{
	for (;;) {
		if (stop_requested)
			finish_on_signal(conn_fd, buffer);
		if (settings->delay_ms > 0 &&
		    !pause_before_recv(settings->delay_ms))
			finish_on_signal(conn_fd, buffer);

		/*
		 * recv() returns at once if the receive buffer holds at least
		 * one byte (SO_RCVLOWAT is 1), with up to `size` of them; it
		 * returns 0 at once after the peer's FIN; otherwise it sleeps.
		 */
		printf("recv(%d, %p, %zu, 0) ...\n", conn_fd, (void *)buffer,
		       size);
		ssize_t received = recv(conn_fd, buffer, size, 0);
		int recv_error = errno;

		if (received == -1) {
			printf("recv(%d, %p, %zu, 0)", conn_fd, (void *)buffer,
			       size);
			print_failure_result(recv_error);
			if (recv_error == EINTR)
				finish_on_signal(conn_fd, buffer);
			give_up("recv", recv_error);
		}

		printf("recv(%d, ", conn_fd);
		print_bytes(buffer, (size_t)received);
		printf(", %zu, 0) = %zd", size, received);
		if (received == 0) {
			printf("  EOF: the peer closed its side\n");
			break;
		}
		printf("\n");

		/* The same bytes back to the client. */
		int send_error = 0;
		switch (send_everything(conn_fd, buffer, (size_t)received,
					NULL, &send_error)) {
		case ALL_SENT:
			break;
		case STOP_SIGNALLED:
			finish_on_signal(conn_fd, buffer);
			break;
		case CONNECTION_FAILED:
			give_up("send", send_error);
			break;
		}
	}

	/*
	 * Everything the client sent has been read, so this close sends a
	 * FIN (not a RST): the client gets the whole echo, then EOF.
	 */
	close_narrated(conn_fd);
}

/*
 * -f: send flood_bytes of 'x' in chunks to a client that may never read.
 * Once its receive buffer and our send buffer are full, send() sleeps.
 */
static void flood(int conn_fd, const struct settings *settings,
		  char *buffer, size_t chunk)
{
	memset(buffer, 'x', chunk);

	long long total = 0;
	while (total < settings->flood_bytes) {
		long long left = settings->flood_bytes - total;
		size_t this_time = left < (long long)chunk ? (size_t)left : chunk;
		int send_error = 0;

		switch (send_everything(conn_fd, buffer, this_time, &total,
					&send_error)) {
		case ALL_SENT:
			break;
		case STOP_SIGNALLED:
			finish_on_signal(conn_fd, buffer);
			break;
		case CONNECTION_FAILED:
			give_up("send", send_error);
			break;
		}
	}

	/* The kernel still delivers what is buffered, then FIN. */
	close_narrated(conn_fd);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct settings settings;

	/* Tests and students read the narration while we run. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	read_command_line(argc, argv, &settings);

	/*
	 * The one buffer, made before any socket exists: what recv() fills
	 * (and send() echoes), or with -f one chunk of 'x' to send.
	 */
	size_t buffer_size = (size_t)settings.buffer_size;
	if (settings.flood_bytes > 0 &&
	    settings.flood_bytes < settings.buffer_size)
		buffer_size = (size_t)settings.flood_bytes;
	char *buffer = malloc(buffer_size);
	if (buffer == NULL)
		give_up("malloc", errno);

	set_up_signals();

	/* A backlog of 1: this lab only ever takes one client. */
	int listen_fd = open_listener(&settings, 1);

	/*
	 * accept() sleeps until a client's handshake has completed, then
	 * returns a new socket for that connection.
	 */
	int conn_fd = -1;
	while (conn_fd == -1) {
		struct sockaddr_storage peer;
		socklen_t peer_length = sizeof peer;

		printf("accept(%d) ...\n", listen_fd);
		conn_fd = accept(listen_fd, (struct sockaddr *)&peer,
				 &peer_length);
		int accept_error = errno;

		printf("accept(%d)", listen_fd);
		if (conn_fd == -1) {
			print_failure_result(accept_error);
			if (accept_error == EINTR) {
				close_narrated(listen_fd);
				free(buffer);
				return 0;
			}
			/* The queued connection died before we took it. */
			if (accept_error == ECONNABORTED ||
			    accept_error == EPROTO)
				continue;
			give_up("accept", accept_error);
		}
		char peer_text[INET6_ADDRSTRLEN + 16];
		format_address(&peer, peer_text, sizeof peer_text);
		printf(" = %d  peer %s\n", conn_fd, peer_text);
	}

	/*
	 * One client is all this lab serves: stop listening now. The
	 * connection lives on in conn_fd; a second client is refused.
	 */
	int result = close(listen_fd);
	int close_error = errno;
	printf("close(%d)", listen_fd);
	if (result == -1)
		print_failure_result(close_error);
	else
		printf(" = 0  a single client: nobody else may connect now\n");

	if (settings.flood_bytes > 0)
		flood(conn_fd, &settings, buffer, buffer_size);
	else
		echo_until_eof(conn_fd, &settings, buffer, buffer_size);
	free(buffer);
	return 0;
}
