/* 07-udp: recvfrom() and sendto() on a datagram (UDP) socket.
 *
 * What it shows
 *   UDP has no connections and no stream: it carries datagrams, each a
 *   separate message with its own sender. The lab binds a SOCK_DGRAM
 *   socket and loops: recvfrom() one datagram, print its bytes, size and
 *   sender, and sendto() it back to that sender (an echo):
 *       recvfrom(3, ...
 *       recvfrom(3, "hello", 2048, MSG_TRUNC, 127.0.0.1:51234) = 5
 *       sendto(3, "hello", 5, 0, 127.0.0.1:51234) = 5
 *
 *   - recvfrom() blocks until a datagram is in the receive queue, then
 *     returns exactly one: boundaries are kept, three sends are three
 *     recvfrom()s, never merged, never split.
 *   - A datagram bigger than the buffer is cut, and the rest is lost.
 *     MSG_TRUNC makes recvfrom() return the datagram's real size, so the
 *     lab can say so (-b BUFSIZE makes the buffer small).
 *   - An empty datagram is a datagram: recvfrom() returns 0. With no
 *     connection there is no EOF, and 0 does not mean the end.
 *   - sendto() hands the datagram to the kernel and returns: nobody
 *     acknowledges it, and it succeeds even when nobody will receive it.
 *
 * Run it
 *   ./udp                          127.0.0.1:2017, 2048-byte buffer, for ever
 *   ./udp -b 4                     datagrams over 4 bytes are truncated
 *   ./udp -n 3                     exit after three datagrams
 *
 * Watch it (second terminal)
 *   nc -u 127.0.0.1 2017           each line you type is one datagram, echoed
 *   printf 'one' | nc -u -w0 127.0.0.1 2017    one datagram, and nc exits
 *   ss -uanm '( sport = :2017 )'   the socket, its buffers, its drop count
 *   cat /proc/$(pgrep -x udp)/syscall          the call it sleeps in
 *
 * See also: recvfrom(2), sendto(2), udp(7), socket(7) (SO_RCVBUF)
 */
#include "lab.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage[] =
    "usage: udp [-a ADDR] [-p PORT] [-b BUFSIZE] [-n COUNT] [-h]\n"
    "  Binds a UDP socket and echoes each datagram back to its sender,\n"
    "  printing each recvfrom() and sendto(), until SIGINT or SIGTERM.\n"
    "  -a ADDR     IPv4 or IPv6 numeric address (default " DEFAULT_ADDRESS ")\n"
    "  -p PORT     0-65535, 0 lets the kernel choose (default 2017)\n"
    "  -b BUFSIZE  bytes per recvfrom(); bigger datagrams are truncated\n"
    "              (default 2048)\n"
    "  -n COUNT    exit after COUNT datagrams\n"
    "  -h          show this help\n";

/* How many bytes of data a line shows, like strace's default (-s 32). */
enum { SHOWN_BYTES = 32 };

int main(int argc, char *argv[])
{
    const char *address_text = DEFAULT_ADDRESS;
    uint16_t port = DEFAULT_PORT;
    long buffer_size = 2048;
    long count = 0;                     /* 0: for ever */
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":a:p:b:n:h")) != -1) {
        switch (option) {
        case 'a': address_text = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'b': buffer_size = parse_number(optarg, "buffer size", 1, 65536); break;
        case 'n': count = parse_number(optarg, "count", 1, 1000000000); break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    struct sockaddr_storage address;
    socklen_t address_length = parse_address(address_text, port, &address);

    char *buffer = malloc((size_t)buffer_size);
    if (buffer == NULL)
        die("malloc(%ld)", buffer_size);

    catch_stop_signals();

    /* Steps 1-2, from labs 01 and 02, done by common/lab.c and narrated the
     * same way: a datagram socket (UDP needs no listen() and no accept():
     * one socket receives from every sender), bound, and the getsockname()
     * line. From then on the kernel queues every datagram sent to this
     * address and port in the socket's receive buffer, until the buffer
     * (SO_RCVBUF) is full; then it drops them. */
    int fd = open_bound_socket(SOCK_DGRAM, &address, address_length, 0);

    long received_count = 0;
    while (!stop_requested && (count == 0 || received_count < count)) {
        /* Step 3: recvfrom. Blocks while the receive queue is empty, then
         * takes exactly one datagram off it and fills `sender` with the
         * address it came from. Without MSG_TRUNC it would return only the
         * bytes that fit in the buffer, and the cut would go unnoticed;
         * with it, the return value is the datagram's real length. */
        /*[ One datagram. Print "recvfrom(FD, ..." and recvfrom() with
         *  MSG_TRUNC into buffer (buffer_size bytes), learning the sender;
         *  after EINTR narrate_failure() and break, other errors: die().
         *  Count it in received_count. Print
         *  'recvfrom(FD, "BYTES", BUFSIZE, MSG_TRUNC, ADDR:PORT) = SIZE',
         *  the bytes that fit, then "  an empty datagram ..." for SIZE 0 or
         *  "  truncated: the datagram had SIZE bytes, KEPT fit, LOST were
         *  lost". Then sendto() the bytes that fit back to the sender and
         *  print 'sendto(FD, "BYTES", KEPT, 0, ADDR:PORT) = SENT'; a failed
         *  sendto is narrate_failure()d, never fatal. See recvfrom(2),
         *  sendto(2), udp(7).
         *  stub: break; */
        struct sockaddr_storage sender;
        socklen_t sender_length = sizeof sender;
        printf("recvfrom(%d, ...\n", fd);
        ssize_t size = recvfrom(fd, buffer, (size_t)buffer_size, MSG_TRUNC,
                                (struct sockaddr *)&sender, &sender_length);
        if (size == -1) {
            if (errno == EINTR) {
                narrate_failure("recvfrom(%d, ..., %ld, MSG_TRUNC, ...)", fd, buffer_size);
                break;
            }
            die("recvfrom(%d, ..., %ld, MSG_TRUNC, ...)", fd, buffer_size);
        }
        received_count++;
        size_t kept = (size_t)size < (size_t)buffer_size ? (size_t)size : (size_t)buffer_size;
        char sender_text[ADDRESS_TEXT_SIZE];
        format_address((struct sockaddr *)&sender, sender_text);
        printf("recvfrom(%d, ", fd);
        print_escaped(buffer, kept, SHOWN_BYTES);
        printf(", %ld, MSG_TRUNC, %s) = %zd", buffer_size, sender_text, size);
        if (size == 0)
            printf("  an empty datagram: not EOF, there is no connection to end");
        else if ((size_t)size > kept)
            printf("  truncated: the datagram had %zd bytes, %zu fit, %zd were lost",
                   size, kept, size - (ssize_t)kept);
        printf("\n");

        /* Step 4: sendto, back to the sender. The kernel wraps the bytes
         * in one datagram and sends it; nothing waits for an answer or an
         * acknowledgement. It could only sleep while this socket's own
         * send buffer is full of datagrams not yet handed to the network,
         * which practically never happens. If the sender is gone, the
         * datagram is dropped at its host, and this call still succeeds. */
        ssize_t sent = sendto(fd, buffer, kept, 0, (struct sockaddr *)&sender, sender_length);
        if (sent == -1) {
            /* A failure here concerns one datagram to one sender: report
             * it and serve the next. (EINTR too: the loop then ends.) */
            narrate_failure("sendto(%d, ..., %zu, 0, %s)", fd, kept, sender_text);
            continue;
        }
        printf("sendto(%d, ", fd);
        print_escaped(buffer, kept, SHOWN_BYTES);
        printf(", %zu, 0, %s) = %zd\n", kept, sender_text, sent);
        /*] */
    }

    /* Step 5: close. Datagrams still queued are discarded with it. */
    if (close(fd) == -1)
        die("close(%d)", fd);
    printf("close(%d) = 0\n", fd);
    free(buffer);
    return 0;
}
