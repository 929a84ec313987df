/*
 * accept.c - lab 04: accept(), taking finished connections off the queue.
 *
 * An iterative "Hello there." server. It listens on ADDR:PORT and, for each
 * client, in turn:
 *
 *     accept()  - sleeps until a connection has finished its handshake and
 *                 waits in the listening socket's queue, then hands back a
 *                 NEW descriptor for that one connection;
 *     send()    - gives the client MESSAGE and a newline;
 *     close()   - ends that connection (the client reads EOF).
 *
 * The listening socket stays open the whole time; only -n COUNT or
 * SIGINT/SIGTERM ends the run.
 *
 * Run:    ./accept [-a ADDR] [-p PORT] [-b BACKLOG] [-m MESSAGE] [-n COUNT]
 * Watch:  nc -d 127.0.0.1 2017                 (a client: greeting, then EOF)
 *         cat /proc/$(pgrep -x accept)/wchan    (inet_csk_accept: asleep)
 *         ss -tn '( sport = :2017 )'            (every connection on port 2017)
 *         strace -e trace=network ./accept      (the same calls, from outside)
 *
 * Every call is printed the way strace prints it, on stdout, one line at a
 * time; a call that may sleep gets a line ending in "..." before it starts.
 *
 * See: accept(2), listen(2), send(2), socket(7), tcp(7), signal(7)
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#define PROGRAM "accept"

/* strace shows the first 32 bytes of a buffer; so do we. */
#define SHOWN_BYTES 32

struct settings {
	struct sockaddr_storage address; /* where to listen */
	socklen_t address_length;
	int backlog;
	const char *message;
	long long client_limit;          /* 0: serve until a signal */
};

/* Set by the SIGINT/SIGTERM handler; the main loop looks at it. */
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
		"usage: %s [-a ADDR] [-p PORT] [-b BACKLOG] [-m MESSAGE] [-n COUNT] [-h]\n"
		"  An iterative TCP server: accept a client, send it MESSAGE plus a\n"
		"  newline, close that connection, accept the next one.\n"
		"  -a ADDR     numeric IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
		"  -p PORT     port 0-65535; 0 = the kernel picks one (default 2017)\n"
		"  -b BACKLOG  listen() backlog, 0 or more (default 10)\n"
		"  -m MESSAGE  the greeting, may be empty (default \"Hello there.\")\n"
		"  -n COUNT    stop after COUNT clients, 1 or more (default: run until\n"
		"              SIGINT or SIGTERM)\n"
		"  -h          print this help and exit\n",
		PROGRAM);
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

	settings->backlog = 10;
	settings->message = "Hello there.";
	settings->client_limit = 0;

	int option;
	opterr = 0; /* we word the complaints ourselves */
	while ((option = getopt(argc, argv, ":a:p:b:m:n:h")) != -1) {
		switch (option) {
		case 'a':
			address_text = optarg;
			break;
		case 'p':
			port = (unsigned)parse_number(optarg, "port", 0, 65535);
			break;
		case 'b':
			settings->backlog = (int)parse_number(optarg, "backlog",
							      0, INT_MAX);
			break;
		case 'm':
			settings->message = optarg;
			break;
		case 'n':
			settings->client_limit = parse_number(optarg, "count",
							      1, LLONG_MAX);
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
 * SA_RESTART, so a call sleeping in the kernel (accept) comes back with
 * EINTR instead of being restarted, and the loop can end cleanly.
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

static int open_listener(const struct settings *settings)
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
	 * This server closes each connection first, so each one leaves a
	 * TIME_WAIT entry holding our port for 60 s. SO_REUSEADDR lets a
	 * restarted server bind past those (never past a live listener).
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
	result = listen(listen_fd, settings->backlog);
	error = errno;
	printf("listen(%d, %d)", listen_fd, settings->backlog);
	if (result == -1) {
		print_failure_result(error);
		give_up("listen", error);
	}
	printf(" = 0\n");

	return listen_fd;
}

/* ------------------------------------------------------------------ */
/* One client                                                          */
/* ------------------------------------------------------------------ */

/*
 * accept() fails for reasons that lose only the one queued connection:
 * it was aborted, or (Linux) a network error was already pending on it.
 * accept(2) lists these; the server just goes on to the next one.
 */
static bool lost_only_this_connection(int number)
{
	switch (number) {
	case ECONNABORTED:
	case EPROTO:
	case ENETDOWN:
	case ENETUNREACH:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case EHOSTUNREACH:
	case ENONET:
	case EOPNOTSUPP:
		return true;
	default:
		return false;
	}
}

/*
 * send() until every byte is in the kernel, narrating each call. send()
 * may take fewer bytes than asked (a signal or an error after part was
 * copied), so the rest goes in the next call. It may sleep while the send
 * buffer is full, hence the "..." line first.
 * Returns false when the connection failed (already printed).
 */
static bool send_everything(int conn_fd, const char *data, size_t length)
{
	size_t done = 0;

	do {
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
			return false;
		}
		done += (size_t)sent;
		if (done < length)
			printf(" = %zd  short: %zu still to send\n", sent,
			       length - done);
		else
			printf(" = %zd\n", sent);
	} while (done < length && !stop_requested);

	return done == length;
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

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct settings settings;

	/* Tests and students read the narration while we run. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	read_command_line(argc, argv, &settings);

	/* The reply is made once, before any socket exists. */
	size_t message_length = strlen(settings.message);
	size_t reply_length = message_length + 1;
	char *reply = malloc(reply_length);
	if (reply == NULL)
		give_up("malloc", errno);
	memcpy(reply, settings.message, message_length);
	reply[message_length] = '\n';

	set_up_signals();

	/*
	 * Hold one descriptor that has nothing to do with the network, for
	 * the whole run, to show fd numbers are not the lesson: the sockets
	 * get whatever is the lowest free number (here 4 and 5, not 3 and 4).
	 * What matters is that the listening fd stays and the client's fd is
	 * handed back after each client.
	 */
	int unrelated_fd = open("/dev/null", O_RDONLY);
	if (unrelated_fd == -1)
		give_up("open(\"/dev/null\")", errno);

	int listen_fd = open_listener(&settings);
	long long served = 0;

	while (!stop_requested) {
		/*
		 * accept() takes the oldest completed connection off the
		 * queue, or sleeps until there is one (or a signal comes).
		 */
		struct sockaddr_storage peer;
		socklen_t peer_length = sizeof peer;

		printf("accept(%d) ...\n", listen_fd);
		int conn_fd = accept(listen_fd, (struct sockaddr *)&peer,
				     &peer_length);
		int accept_error = errno;

		printf("accept(%d)", listen_fd);
		if (conn_fd == -1) {
			print_failure_result(accept_error);
			if (accept_error == EINTR ||
			    lost_only_this_connection(accept_error))
				continue; /* the loop looks at the flag */
			give_up("accept", accept_error);
		}
		char peer_text[INET6_ADDRSTRLEN + 16];
		format_address(&peer, peer_text, sizeof peer_text);
		printf(" = %d  peer %s\n", conn_fd, peer_text);
		served++;

		/*
		 * The greeting. If the client has already gone (RST: ECONNRESET;
		 * FIN then RST: EPIPE) only this client is lost.
		 */
		send_everything(conn_fd, reply, reply_length);

		/* FIN after the data: the client reads the greeting, then EOF. */
		close_narrated(conn_fd);

		if (settings.client_limit != 0 && served >= settings.client_limit)
			break;
	}

	/* No more listening: connections still queued are reset. */
	close_narrated(listen_fd);
	close(unrelated_fd);
	free(reply);
	return 0;
}
