/* 11-unix: AF_UNIX, the socket whose address is a file.
 *
 * What it shows
 *   The calls of labs 02 to 07 in the other domain every Linux machine is
 *   full of (systemd, Docker, X11, PostgreSQL all listen on one):
 *     socket(AF_UNIX, SOCK_STREAM, 0) = 3
 *     bind(3, "lab.sock", 11) = 0            the address is a PATH ...
 *     getsockname(3) = "lab.sock"
 *     lstat("lab.sock") = 0  srwxr-xr-x ...  ... and bind() made a FILE there
 *     listen(3, 10) = 0
 *     accept(3) ...
 *     accept(3) = 4  peer (unnamed)          clients rarely bind a name
 *     getsockopt(4, SOL_SOCKET, SO_PEERCRED) = 0  pid=1234 uid=1000 gid=1000
 *   and then echoes, like 06, until the client's EOF. On SIGINT, SIGTERM or
 *   after -n COUNT clients it closes the socket and removes its file.
 *
 *   - The file is only a name. It outlives the socket: after a SIGKILL (no
 *     chance to clean up) it stays, and the next bind() to it fails with
 *     EADDRINUSE although nobody listens. -u removes such a file first,
 *     as servers do; this lab never removes a file that is not a socket.
 *   - The file's permissions are the socket's: connect() needs write
 *     permission on it (and search permission on the folders), else EACCES.
 *   - SO_PEERCRED tells who the client is: its pid, uid and gid, as the
 *     kernel recorded them at connect(). No TCP socket can tell you that.
 *   - -t dgram: datagrams as in 07, but reliable: when the receiver's queue
 *     is full, the SENDER sleeps in sendto() instead of the kernel dropping
 *     the datagram. A sender that bound no name cannot be answered.
 *   - -s @NAME: Linux's abstract namespace. The name starts with a NUL
 *     byte, no file is made, and the name goes away with the socket.
 *   - -P FILE: socketpair() gives two connected sockets at once; after a
 *     fork() parent and child talk through them, then the parent opens FILE
 *     and sends the open descriptor itself to the child (sendmsg() with
 *     SCM_RIGHTS). The child reads a file it never opened.
 *
 * Run it
 *   ./unix                          serves on ./lab.sock until Ctrl-C
 *   ./unix -s /tmp/echo.sock -n 2   another path; exit after two clients
 *   ./unix -u                       remove a stale ./lab.sock first
 *   ./unix -t dgram                 datagrams
 *   ./unix -s @lab                  the abstract name "lab": no file
 *   ./unix -P /etc/hostname         pass an open file to a child
 *
 * Watch it (second terminal)
 *   ls -l lab.sock                  srwxr-xr-x: "s", a socket file
 *   ss -xlp                         the listener, by path (or @name)
 *   nc -U lab.sock                  type lines: each is echoed
 *   nc -uU lab.sock                 the same, as datagrams
 *   ls -l /proc/$(pgrep -x unix)/fd    with -P: the child's descriptors
 *
 * See also: unix(7), socket(7) (SO_PEERCRED), socketpair(2), sendmsg(2),
 *           cmsg(3), bind(2), unlink(2), lstat(2), inode(7)
 */
#define _GNU_SOURCE     /* struct ucred, for SO_PEERCRED (unix(7)) */
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_SOCKET_PATH "lab.sock"

static const char usage[] =
    "usage: unix [-s PATH] [-t TYPE] [-u] [-n COUNT] [-h]\n"
    "       unix -P FILE\n"
    "  Binds an AF_UNIX socket to PATH and serves: stream clients one at a\n"
    "  time (accept, the client's credentials, an echo until EOF), or datagrams\n"
    "  (each echoed to its sender), until SIGINT or SIGTERM; then it closes\n"
    "  the socket and removes the socket file it made.\n"
    "  -s PATH   a path, where bind() makes a socket file (default ./"
    DEFAULT_SOCKET_PATH "),\n"
    "            or @NAME: Linux's abstract namespace, no file\n"
    "            (at most 107 bytes, or @ and 107 bytes)\n"
    "  -t TYPE   stream (default) or dgram\n"
    "  -u        first remove a socket file left at PATH (never another kind of file)\n"
    "  -n COUNT  exit after COUNT clients (stream) or datagrams (dgram)\n"
    "  -P FILE   no server: socketpair() and fork(); the parent opens FILE and\n"
    "            passes the open descriptor to the child, which reads from it\n"
    "  -h        show this help\n";

/* How many bytes of data a line shows, like strace's default (-s 32). */
enum { SHOWN_BYTES = 32 };
/* Bytes per recv(), recvfrom() and read(). */
enum { BUFFER_SIZE = 2048 };
/* An address as text: 108 bytes of path, each at most 4 characters once
 * escaped, quotes and the NUL. */
enum { NAME_TEXT_SIZE = 448 };

/* "" in the server and the parent; "[pid N] " in the child of -P, so that
 * its lines read like strace -f's. */
static char who[32] = "";

/* ---- Addresses ---------------------------------------------------------- */

/* Fill a sockaddr_un from -s NAME and return the length to give bind().
 *
 * An AF_UNIX address is a family and up to 108 bytes of sun_path:
 *   - a PATH is copied with its NUL. bind() creates a socket file there;
 *     clients find the socket by that path, through the folders' search
 *     permissions and the file's own. The length counts the NUL (the kernel
 *     would also stop at it).
 *   - @NAME is Linux's abstract namespace: sun_path[0] is a NUL byte and
 *     the name follows. There is no file; the name lives in the kernel, in
 *     this network namespace, until the socket closes. Nothing ends the
 *     name but the LENGTH: every byte up to it is part of the name, so the
 *     length must be exactly the family, the NUL and the name's bytes.
 *     Passing sizeof(struct sockaddr_un) would bind another name, padded
 *     with 107 - strlen(NAME) NUL bytes, that no client would ever find. */
static socklen_t fill_address(const char *name, struct sockaddr_un *address)
{
    /*[ Fill `address` from -s NAME; return the length to give bind().
     *  Clear it and set sun_family to AF_UNIX; then
     *  - a PATH: copy it into sun_path with its NUL. The length: the bytes
     *    before sun_path (offsetof(3)), the path's, and its NUL.
     *  - @NAME, the abstract namespace: sun_path[0] is a NUL byte and NAME's
     *    bytes (without the @) follow, with no NUL after them. Only the length
     *    ends the name, so it must be exact: the bytes before sun_path, that
     *    NUL, and NAME's bytes. sizeof(struct sockaddr_un) would bind another
     *    name, padded with NULs, that no client finds.
     *  Refuse with usage_error() (exit 2, naming the value) a NAME that is
     *  empty, "@" alone, or too long for sun_path's 108 bytes (a path and its
     *  NUL; the NUL and an abstract name). See unix(7) ("Address format").
     *  Delete the stub.
     *  stub: (void)name; memset(address, 0, sizeof *address); return 0; */
    size_t name_length = strlen(name);
    int abstract = name[0] == '@';
    /* A path and its NUL fit in sun_path; so do the NUL (written as @ here)
     * and an abstract name, which has no NUL at the end. */
    size_t limit = abstract ? sizeof address->sun_path : sizeof address->sun_path - 1;

    if (name_length == 0)
        usage_error("socket path '' is empty");
    if (name_length > limit)
        usage_error("socket path '%s' is too long (at most %zu bytes)", name, limit);
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (abstract) {
        if (name_length == 1)
            usage_error("socket path '@' names no abstract name");
        address->sun_path[0] = '\0';
        memcpy(address->sun_path + 1, name + 1, name_length - 1);
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_length);
    }
    memcpy(address->sun_path, name, name_length + 1);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_length + 1);
    /*] */
}

/* An AF_UNIX address as the narration shows it: "lab.sock" (a path, in
 * quotes as strace shows it), @name (abstract, as ss shows it), or
 * (unnamed): a socket that never bound a name, whose address is only the
 * family. The LENGTH says which, and where an abstract name ends. */
static void describe_address(const struct sockaddr_un *address, socklen_t length,
                             char text[NAME_TEXT_SIZE])
{
    size_t header = offsetof(struct sockaddr_un, sun_path);
    size_t path_length = length > header ? length - header : 0;
    if (path_length > sizeof address->sun_path)
        path_length = sizeof address->sun_path;
    if (path_length == 0) {
        strcpy(text, "(unnamed)");
        return;
    }
    const char *name = address->sun_path;
    int abstract = name[0] == '\0';
    size_t used = 0;
    if (abstract) {
        text[used++] = '@';
        name++;
        path_length--;
    } else {
        text[used++] = '"';
        path_length = strnlen(name, path_length);   /* a path ends at its NUL */
    }
    for (size_t i = 0; i < path_length; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= ' ' && c <= '~' && c != '"' && c != '\\')
            text[used++] = (char)c;
        else
            used += (size_t)snprintf(text + used, 5, "\\%03o", c);
    }
    if (!abstract)
        text[used++] = '"';
    text[used] = '\0';
}

/* "srwxr-xr-x", as ls -l shows a file's type and permissions. */
static void mode_text(mode_t mode, char text[11])
{
    text[0] = S_ISSOCK(mode) ? 's' : S_ISREG(mode) ? '-' : S_ISDIR(mode) ? 'd'
            : S_ISLNK(mode) ? 'l' : S_ISFIFO(mode) ? 'p' : '?';
    const char *letters = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        text[1 + i] = (mode & (0400u >> i)) ? letters[i] : '-';
    text[10] = '\0';
}

/* ---- Narration of data calls --------------------------------------------- */

/* Print `send(4, "bytes"` without the rest: the start of a data call. */
static void print_call_start(const char *call, int fd, const void *bytes, size_t length)
{
    printf("%s%s(%d, ", who, call, fd);
    print_escaped(bytes, length, SHOWN_BYTES);
}

/* send() until all `length` bytes are in the kernel. On a unix stream the
 * bytes go straight into the peer's receive queue; send() sleeps while the
 * peer has more unread bytes than its buffer allows (06 shows the same over
 * TCP). Returns 0, or -1 after a failure it has narrated: EINTR (asked to
 * stop), EPIPE (the peer closed; SIGPIPE is ignored) or ECONNRESET. */
static int send_all(int fd, const char *bytes, size_t length)
{
    size_t sent = 0;

    while (sent < length) {
        size_t left = length - sent;
        print_call_start("send", fd, bytes + sent, left);
        printf(", %zu, 0) ...\n", left);
        ssize_t count = send(fd, bytes + sent, left, 0);
        int error = errno;
        print_call_start("send", fd, bytes + sent, left);
        if (count == -1) {
            errno = error;
            narrate_failure(", %zu, 0)", left);
            return -1;
        }
        printf(", %zu, 0) = %zd\n", left, count);
        sent += (size_t)count;
    }
    return 0;
}

/* ---- The socket file ------------------------------------------------------- */

/* Remove the socket file at `path`, and never anything else. lstat() looks
 * at the name first (without following a symbolic link):
 *   - with -u, before bind() (made == NULL): a socket file left there by a
 *     server that could not clean up (killed, crashed) is removed, so that
 *     bind() can make a new one. A regular file or anything else that has
 *     the name stays, and bind() then fails with EADDRINUSE, as it should.
 *     Many servers do this, and it has two weaknesses: a LIVE server's file
 *     is removed just the same (it keeps running, unreachable), and between
 *     lstat() and unlink(), or unlink() and bind(), another process can put
 *     something there (a race: the check proves nothing a moment later).
 *     Careful servers get their socket from systemd, or keep it in a folder
 *     only they can write.
 *   - at exit (made: what lstat() said right after bind()): only the very
 *     file bind() made, same device and inode. Closing the socket does not
 *     remove it: the file is a name in a folder like any other. If someone
 *     replaced it meanwhile, the new file is left alone. */
static void remove_socket_file(const char *path, const char *text, const struct stat *made)
{
    /*[ Remove the socket file at `path`, and never anything else. lstat()
     *  the name (it does not follow a symbolic link): nothing there
     *  (ENOENT) is narrate_failure()d and returns, another error is die().
     *  Remove it only if it is a socket (S_ISSOCK) and, when `made` is not
     *  NULL (at exit), the very file bind() made: the same st_dev and
     *  st_ino. Print
     *      lstat(TEXT) = 0  MODE, inode N: WHAT
     *  (MODE from mode_text(), TEXT the name as narrated, "lab.sock"), WHAT
     *  ending in "left alone" for a file you keep. Then unlink() it (die() if
     *  that fails) and print
     *      unlink(TEXT) = 0
     *  See lstat(2), inode(7), unlink(2). Delete the stub.
     *  stub: (void)path; (void)text; (void)made; */
    struct stat now;
    char mode[11];

    if (lstat(path, &now) == -1) {
        if (errno != ENOENT)
            die("lstat(%s)", text);
        narrate_failure("lstat(%s)", text);     /* nothing there to remove */
        return;
    }
    mode_text(now.st_mode, mode);
    if (!S_ISSOCK(now.st_mode) ||
        (made != NULL && (now.st_dev != made->st_dev || now.st_ino != made->st_ino))) {
        printf("lstat(%s) = 0  %s, inode %" PRIuMAX ": not %s, left alone\n", text, mode,
               (uintmax_t)now.st_ino, made == NULL ? "a socket" : "the file this lab made");
        return;
    }
    printf("lstat(%s) = 0  %s, inode %" PRIuMAX ": %s\n", text, mode, (uintmax_t)now.st_ino,
           made == NULL ? "a socket file, stale or another server's" : "the file this lab made");
    if (unlink(path) == -1)
        die("unlink(%s)", text);
    printf("unlink(%s) = 0\n", text);
    /*] */
}

/* ---- Stream: one client at a time -------------------------------------------- */

/* Echo what the client sends until its EOF, as in 06. A client that goes
 * away costs a line of narration and its connection, never the server. */
static void echo_until_eof(int conn_fd)
{
    char buffer[BUFFER_SIZE];

    for (;;) {
        /* Blocks while nothing has arrived and the client has not closed. */
        printf("recv(%d, ...\n", conn_fd);
        ssize_t received = recv(conn_fd, buffer, sizeof buffer, 0);
        if (received == -1) {
            /* EINTR: asked to stop. ECONNRESET: the client closed with our
             * echo still unread in its queue. Either ends this client. */
            narrate_failure("recv(%d, ..., %d, 0)", conn_fd, BUFFER_SIZE);
            return;
        }
        print_call_start("recv", conn_fd, buffer, (size_t)received);
        printf(", %d, 0) = %zd", BUFFER_SIZE, received);
        if (received == 0) {
            printf("  EOF: the peer closed its side\n");
            return;
        }
        printf("\n");
        if (send_all(conn_fd, buffer, (size_t)received) == -1)
            return;
    }
}

static void serve_stream(int listen_fd, long count)
{
    long served = 0;

    while (!stop_requested && (count == 0 || served < count)) {
        /* accept, as in 04: sleeps until a client is queued. The client's
         * address is usually "unnamed": a unix client does not need a name
         * to connect, and the kernel gives it none (there are no ports). */
        /*[ Print "accept(FD) ..." and call accept(), with room for the
         *  peer's address in a struct sockaddr_un. If it fails with EINTR, or
         *  with an error that concerns this one connection only
         *  (only_this_connection_failed()): narrate_failure() and `continue`;
         *  any other error: die(). Else print
         *      accept(FD) = NEW  peer ADDR
         *  (describe_address() the peer: a client that bound no name is
         *  "(unnamed)"). Name the new socket `conn_fd`: the code below uses it.
         *  Delete the stub. See accept(2), unix(7).
         *  stub: (void)listen_fd;
         *  int conn_fd = -1;
         *  break; */
        printf("accept(%d) ...\n", listen_fd);
        struct sockaddr_un peer;
        socklen_t peer_length = sizeof peer;
        int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_length);
        if (conn_fd == -1) {
            if (errno == EINTR || only_this_connection_failed(errno)) {
                narrate_failure("accept(%d)", listen_fd);
                continue;               /* the loop checks stop_requested */
            }
            die("accept(%d)", listen_fd);
        }
        char peer_text[NAME_TEXT_SIZE];
        describe_address(&peer, peer_length, peer_text);
        printf("accept(%d) = %d  peer %s\n", listen_fd, conn_fd, peer_text);
        /*] */

        /* Who is it? The kernel recorded the client's process id, user id
         * and group id when it called connect(), and hands them over on
         * request: the client does not send them and cannot choose them.
         * Servers use this to decide what a client may do (systemd, D-Bus,
         * PostgreSQL's "peer" authentication). A TCP peer is an address
         * and a port; nothing more can be known. */
        /*[ Ask the kernel who the client is: getsockopt() on the new
         *  socket, level SOL_SOCKET, option SO_PEERCRED, into a struct ucred
         *  (die() if it fails), and print
         *      getsockopt(NEW, SOL_SOCKET, SO_PEERCRED) = 0  pid=PID uid=UID gid=GID
         *  See unix(7) (SO_PEERCRED), getsockopt(2). */
        struct ucred credentials;
        socklen_t credentials_length = sizeof credentials;
        if (getsockopt(conn_fd, SOL_SOCKET, SO_PEERCRED, &credentials,
                       &credentials_length) == -1)
            die("getsockopt(%d, SOL_SOCKET, SO_PEERCRED)", conn_fd);
        printf("getsockopt(%d, SOL_SOCKET, SO_PEERCRED) = 0  pid=%ld uid=%lu gid=%lu\n",
               conn_fd, (long)credentials.pid, (unsigned long)credentials.uid,
               (unsigned long)credentials.gid);
        /*] */

        echo_until_eof(conn_fd);

        if (close(conn_fd) == -1)
            die("close(%d)", conn_fd);
        printf("close(%d) = 0\n", conn_fd);
        served++;
    }
}

/* ---- Datagrams ------------------------------------------------------------------ */

static void serve_datagrams(int fd, long count)
{
    char buffer[BUFFER_SIZE];
    long received_count = 0;

    while (!stop_requested && (count == 0 || received_count < count)) {
        /* recvfrom, as in 07: one whole datagram per call, with its
         * sender's address; MSG_TRUNC returns its real size. */
        /*[ One datagram. Print "recvfrom(FD, ..." and call recvfrom() into
         *  buffer with MSG_TRUNC (the result is then the datagram's real
         *  size, even when it did not fit), with room for the sender's
         *  address in a struct sockaddr_un. After EINTR narrate_failure()
         *  and break; other errors: die(). Count it in received_count.
         *  Print the bytes that fit (print_call_start()) and the sender
         *  (describe_address()):
         *      recvfrom(FD, "BYTES", BUFSIZE, MSG_TRUNC, ADDR) = SIZE
         *  adding "  truncated: SIZE bytes, KEPT fit" when it was cut. A sender
         *  that bound no name (its address is no longer than sun_family) cannot
         *  be answered: end the line with "  an unnamed sender: no address to
         *  answer" and `continue`. See recvfrom(2), unix(7). Delete the stub.
         *  stub: (void)fd;
         *  (void)buffer;
         *  break; */
        struct sockaddr_un sender;
        socklen_t sender_length = sizeof sender;
        printf("recvfrom(%d, ...\n", fd);
        ssize_t size = recvfrom(fd, buffer, sizeof buffer, MSG_TRUNC,
                                (struct sockaddr *)&sender, &sender_length);
        if (size == -1) {
            if (errno == EINTR) {
                narrate_failure("recvfrom(%d, ..., %d, MSG_TRUNC, ...)", fd, BUFFER_SIZE);
                break;
            }
            die("recvfrom(%d, ..., %d, MSG_TRUNC, ...)", fd, BUFFER_SIZE);
        }
        received_count++;
        size_t kept = (size_t)size < sizeof buffer ? (size_t)size : sizeof buffer;
        char sender_text[NAME_TEXT_SIZE];
        describe_address(&sender, sender_length, sender_text);
        print_call_start("recvfrom", fd, buffer, kept);
        printf(", %d, MSG_TRUNC, %s) = %zd", BUFFER_SIZE, sender_text, size);
        if ((size_t)size > kept)
            printf("  truncated: %zd bytes, %zu fit", size, kept);
        /* A sender that never bound a name has no address: there is no
         * "ephemeral port" here, nothing to send an answer to. */
        int unnamed = sender_length <= offsetof(struct sockaddr_un, sun_path);
        printf("%s\n", unnamed ? "  an unnamed sender: no address to answer" : "");
        if (unnamed)
            continue;
        /*] */

        /* sendto, back to the sender. Unlike UDP, a unix datagram goes
         * straight into the receiver's queue, and when that queue is full
         * (net.unix.max_dgram_qlen datagrams, or its buffer) the kernel does
         * not drop it: the sender SLEEPS here until the receiver reads. A
         * receiver that is gone is known at once: ECONNREFUSED (its file
         * is still there) or ENOENT (removed). */
        /*[ Send the bytes that fit back to the sender's address with
         *  sendto(). It may sleep, so print the line before the call,
         *  ending in " ...", and after it:
         *      sendto(FD, "BYTES", KEPT, 0, ADDR) = SENT
         *  A failed sendto() concerns one sender: narrate_failure() it (save
         *  errno before you print anything) and `continue`, never die().
         *  See sendto(2), unix(7). */
        print_call_start("sendto", fd, buffer, kept);
        printf(", %zu, 0, %s) ...\n", kept, sender_text);
        ssize_t sent = sendto(fd, buffer, kept, 0, (struct sockaddr *)&sender, sender_length);
        int error = errno;
        print_call_start("sendto", fd, buffer, kept);
        if (sent == -1) {
            /* One datagram to one sender failed: say so, serve the next
             * (EINTR too: the loop then ends). */
            errno = error;
            narrate_failure(", %zu, 0, %s)", kept, sender_text);
            continue;
        }
        printf(", %zu, 0, %s) = %zd\n", kept, sender_text, sent);
        /*] */
    }
}

/* ---- -P: socketpair() and a descriptor passed to a child --------------------- */

/* Close and narrate, with a comment after the result. */
static void close_narrated(int fd, const char *comment)
{
    if (close(fd) == -1)
        die("%sclose(%d)", who, fd);
    printf("%sclose(%d) = 0%s\n", who, fd, comment);
}

/* One recv() on the pair, narrated; returns its result. */
static ssize_t receive_once(int fd, char *buffer, size_t size)
{
    printf("%srecv(%d, ...\n", who, fd);
    ssize_t received = recv(fd, buffer, size, 0);
    if (received == -1) {
        narrate_failure("%srecv(%d, ..., %zu, 0)", who, fd, size);
        return -1;
    }
    print_call_start("recv", fd, buffer, (size_t)received);
    printf(", %zu, 0) = %zd%s\n", size, received,
           received == 0 ? "  EOF: the other end is closed" : "");
    return received;
}

/* The parent: send the open descriptor `file_fd` over the pair.
 *
 * Data and descriptors travel differently. The data (here one byte: on a
 * stream at least one must go with the descriptor) goes in msg_iov. The
 * descriptor goes in the ANCILLARY data, msg_control: a list of control
 * messages, each a struct cmsghdr followed by its data. This one is
 * level SOL_SOCKET, type SCM_RIGHTS, data one int; cmsg_len is the header
 * and the data, CMSG_LEN(sizeof(int)), and msg_controllen the room for it,
 * padded, CMSG_SPACE(sizeof(int)). The kernel does not send the number:
 * it takes a reference to the open file behind it and, in the receiver,
 * installs that open file under the receiver's lowest free number. */
static int send_descriptor(int fd, int file_fd)
{
    /*[ Send one byte, "F", in msg_iov, and `file_fd` in msg_control: one
     *  control message, SOL_SOCKET, SCM_RIGHTS, its data one int, sized as
     *  the comment above says (CMSG_LEN for cmsg_len, CMSG_SPACE for the
     *  buffer, which must be aligned for a struct cmsghdr: a union with
     *  one). CMSG_FIRSTHDR() and CMSG_DATA() find where to write. Call
     *  sendmsg() and print
     *      sendmsg(FD, {iov=[{"F", 1}], control=[{cmsg_len=LEN, SOL_SOCKET,
     *              SCM_RIGHTS, [FILE_FD]}]}, 0) = 1     (one line)
     *  and return 0; if it fails, narrate_failure() the same call and return
     *  -1. See cmsg(3), sendmsg(2), unix(7) (SCM_RIGHTS). Delete the stub.
     *  stub: (void)fd; (void)file_fd; return -1; */
    char byte = 'F';
    struct iovec data = {.iov_base = &byte, .iov_len = 1};
    union {                         /* a buffer aligned for a cmsghdr */
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {0};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof control.space;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &file_fd, sizeof file_fd);

    ssize_t sent = sendmsg(fd, &message, 0);
    if (sent == -1) {
        narrate_failure("sendmsg(%d, {iov=[{\"F\", 1}], control=[{cmsg_len=%zu, SOL_SOCKET, "
                        "SCM_RIGHTS, [%d]}]}, 0)", fd, (size_t)header->cmsg_len, file_fd);
        return -1;
    }
    printf("sendmsg(%d, {iov=[{\"F\", 1}], control=[{cmsg_len=%zu, SOL_SOCKET, SCM_RIGHTS, "
           "[%d]}]}, 0) = %zd\n", fd, (size_t)header->cmsg_len, file_fd, sent);
    return 0;
    /*] */
}

/* The child: receive a descriptor; returns it, or -1. recvmsg() blocks
 * like recv() until the byte is there. */
static int receive_descriptor(int fd)
{
    /*[ Print `who` then "recvmsg(FD, ..." and call recvmsg() for one
     *  byte, with msg_control room for one SCM_RIGHTS message (as in
     *  send_descriptor()). Failed: narrate_failure(), return -1. The
     *  descriptor came if recvmsg() returned more than 0 and the first
     *  control message (CMSG_FIRSTHDR()) is SOL_SOCKET, SCM_RIGHTS, with
     *  cmsg_len for one int: the int in CMSG_DATA() is the new descriptor.
     *  Print (`who` first)
     *      recvmsg(FD, {iov=[{"F", 1}], control=[{cmsg_len=LEN, SOL_SOCKET,
     *              SCM_RIGHTS, [NEW]}]}, 0) = 1  fd NEW: ...     (one line)
     *  and return NEW; or end the line "control=[]}, 0) = N  no descriptor
     *  came" and return -1. See cmsg(3), recvmsg(2), unix(7). Delete the stub.
     *  stub: (void)fd; return -1; */
    char byte = 0;
    struct iovec data = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {0};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof control.space;

    printf("%srecvmsg(%d, ...\n", who, fd);
    ssize_t received = recvmsg(fd, &message, 0);
    if (received == -1) {
        narrate_failure("%srecvmsg(%d, ...)", who, fd);
        return -1;
    }
    /* The descriptor is there if the first control message is SCM_RIGHTS
     * with room for one int; none came if the sender got cmsg_len wrong. */
    struct cmsghdr *header = received > 0 ? CMSG_FIRSTHDR(&message) : NULL;
    int passed_fd = -1;
    if (header != NULL && header->cmsg_level == SOL_SOCKET &&
        header->cmsg_type == SCM_RIGHTS && header->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&passed_fd, CMSG_DATA(header), sizeof passed_fd);
    printf("%srecvmsg(%d, {iov=[{", who, fd);
    print_escaped(&byte, (size_t)received, SHOWN_BYTES);
    if (passed_fd == -1)
        printf(", %zd}], control=[]}, 0) = %zd  no descriptor came\n", received, received);
    else
        printf(", %zd}], control=[{cmsg_len=%zu, SOL_SOCKET, SCM_RIGHTS, [%d]}]}, 0) = %zd"
               "  fd %d: a file this process never opened\n",
               received, (size_t)header->cmsg_len, passed_fd, received, passed_fd);
    return passed_fd;
    /*] */
}

/* The child's side: greet back, take the descriptor, read the file to EOF.
 * Returns the child's exit status. */
static int child_side(int fd, int parent_end)
{
    char buffer[BUFFER_SIZE];

    /* fork() copied both ends; this one is the parent's. */
    close_narrated(parent_end, "");
    if (receive_once(fd, buffer, sizeof buffer) <= 0)
        return stop_requested ? 0 : 1;
    if (send_all(fd, "hello, parent\n", 14) == -1)
        return 1;

    int file_fd = receive_descriptor(fd);
    if (file_fd == -1)
        return stop_requested ? 0 : 1;

    /* read(), like on any file the child had opened itself: the descriptor
     * shares the parent's open file (the same offset, the same flags). */
    for (;;) {
        printf("%sread(%d, ...\n", who, file_fd);
        ssize_t count = read(file_fd, buffer, sizeof buffer);
        if (count == -1) {
            narrate_failure("%sread(%d, ..., %zu)", who, file_fd, sizeof buffer);
            break;
        }
        print_call_start("read", file_fd, buffer, (size_t)count);
        printf(", %zu) = %zd%s\n", sizeof buffer, count, count == 0 ? "  EOF" : "");
        if (count == 0)
            break;
    }
    close_narrated(file_fd, "");
    close_narrated(fd, "");
    return 0;
}

static int pass_descriptor(const char *file)
{
    char buffer[BUFFER_SIZE];
    int pair[2];

    /* socketpair: two sockets already connected to each other, with no
     * name, no file, no listen() and no accept(). Never blocks. */
    /*[ Make the pair: socketpair(), AF_UNIX, SOCK_STREAM, into `pair`
     *  (die() if it fails), and print
     *      socketpair(AF_UNIX, SOCK_STREAM, 0, [FD0, FD1]) = 0
     *  See socketpair(2). Delete the stub.
     *  stub: pair[0] = pair[1] = -1; */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == -1)
        die("socketpair(AF_UNIX, SOCK_STREAM, 0)");
    printf("socketpair(AF_UNIX, SOCK_STREAM, 0, [%d, %d]) = 0\n", pair[0], pair[1]);
    /*] */

    /* fork: the child gets a copy of every descriptor, both ends
     * included. Each side closes the end it will not use. */
    /*[ fork(), keeping what it returns in `child` (the code below uses
     *  it), and die() if it fails. See fork(2). Delete the stub.
     *  stub: pid_t child = -1; */
    pid_t child = fork();
    if (child == -1)
        die("fork()");
    /*] */
    if (child == 0) {
        snprintf(who, sizeof who, "[pid %ld] ", (long)getpid());
        exit(child_side(pair[1], pair[0]));
    }
    printf("fork() = %ld\n", (long)child);
    int fd = pair[0];
    close_narrated(pair[1], "");

    /* Talk: one line each way, like any connected stream. Waiting for the
     * child's answer also keeps the descriptor's byte from joining the
     * greeting in one of the child's recv()s. */
    int stopped = send_all(fd, "hello, child\n", 13) == -1 ||
                  receive_once(fd, buffer, sizeof buffer) <= 0;

    /* open: a new open file, under our lowest free number. It may block on
     * a FIFO until a writer opens it. If it fails, the child is still
     * reaped below before the lab reports the failure and exits 1. */
    int file_fd = -1, open_error = 0;
    if (!stopped) {
        printf("open(\"%s\", O_RDONLY) ...\n", file);
        file_fd = open(file, O_RDONLY);
        if (file_fd == -1) {
            open_error = errno;
            if (errno == EINTR)
                narrate_failure("open(\"%s\", O_RDONLY)", file);
            stopped = 1;
        } else {
            printf("open(\"%s\", O_RDONLY) = %d\n", file, file_fd);
        }
    }
    if (!stopped) {
        stopped = send_descriptor(fd, file_fd) == -1;
        /* Our copy is no longer needed: the child's keeps the file open. */
        close_narrated(file_fd, "  the child's copy keeps the file open");
    }

    /* Wait for the child to finish: its end closes, recv() returns 0. */
    while (!stopped && receive_once(fd, buffer, sizeof buffer) > 0)
        continue;
    if (stop_requested) {
        /* Ctrl-C reached us, maybe not the child: pass SIGTERM on. */
        if (kill(child, SIGTERM) == -1)
            die("kill(%ld, SIGTERM)", (long)child);
        printf("kill(%ld, SIGTERM) = 0\n", (long)child);
    }
    close_narrated(fd, "");

    int status;
    pid_t ended;
    while ((ended = waitpid(child, &status, 0)) == -1 && errno == EINTR)
        continue;                       /* a second signal: wait still */
    if (ended == -1)
        die("waitpid(%ld)", (long)child);
    if (WIFEXITED(status))
        printf("waitpid(%ld) = %ld  exited %d\n", (long)child, (long)ended, WEXITSTATUS(status));
    else
        printf("waitpid(%ld) = %ld  killed by signal %d\n", (long)child, (long)ended,
               WTERMSIG(status));
    if (open_error != 0 && open_error != EINTR) {
        errno = open_error;
        die("open(\"%s\", O_RDONLY)", file);
    }
    /* The child's failure is the lab's, unless we were asked to stop. */
    if (!stop_requested && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "unix: the child did not exit with status 0\n");
        return 1;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static int parse_type(const char *text)
{
    if (strcmp(text, "stream") == 0)
        return SOCK_STREAM;
    if (strcmp(text, "dgram") == 0)
        return SOCK_DGRAM;
    usage_error("type '%s' is not stream or dgram", text);
}

int main(int argc, char *argv[])
{
    const char *name = DEFAULT_SOCKET_PATH;
    int type = SOCK_STREAM;
    int unlink_first = 0;
    long count = 0;                     /* 0: serve until a signal */
    const char *passed_file = NULL;
    int server_option = 0;              /* -s, -t, -u or -n: not with -P */
    int option;

    setvbuf(stdout, NULL, _IOLBF, 0);   /* narration a line at a time */
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":s:t:un:P:h")) != -1) {
        switch (option) {
        case 's': name = optarg; server_option = 1; break;
        case 't': type = parse_type(optarg); server_option = 1; break;
        case 'u': unlink_first = 1; server_option = 1; break;
        case 'n': count = parse_number(optarg, "count", 1, LONG_MAX); server_option = 1; break;
        case 'P': passed_file = optarg; break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (passed_file != NULL && server_option)
        usage_error("-P makes no server: it takes no -s, -t, -u or -n");

    struct sockaddr_un address;
    socklen_t address_length = 0;
    if (passed_file == NULL)
        address_length = fill_address(name, &address);

    /* A client that leaves makes our next send() fail with EPIPE, and the
     * kernel raises SIGPIPE too, which would end the lab: ignore it. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal(SIGPIPE, SIG_IGN)");
    catch_stop_signals();

    if (passed_file != NULL)
        return pass_descriptor(passed_file);

    /* Step 1: socket, as in 01, in the unix domain. Never blocks. */
    const char *type_name = type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_DGRAM";
    int fd = socket(AF_UNIX, type, 0);
    if (fd == -1)
        die("socket(AF_UNIX, %s, 0)", type_name);
    printf("socket(AF_UNIX, %s, 0) = %d\n", type_name, fd);

    char address_text[NAME_TEXT_SIZE];
    describe_address(&address, address_length, address_text);
    int made_file = address.sun_path[0] != '\0';    /* a path, not @name */

    /* Step 2 (-u): remove a socket file left behind, right before bind(). */
    if (unlink_first && made_file)
        remove_socket_file(address.sun_path, address_text, NULL);

    /* Step 3: bind. For a path the kernel creates the socket file, like
     * mknod() would: type socket, permissions 0777 less the umask, owned by
     * us. If ANY file already has that name, bind() fails with EADDRINUSE,
     * even a socket file whose server is long dead: the kernel does not
     * look behind the name. An abstract name is in use only while a socket
     * holds it. bind() never blocks. */
    /*[ bind() the socket to `address`, giving exactly address_length
     *  (die() if it fails, naming the call as its line would), and print
     *      bind(FD, ADDR, LENGTH) = 0
     *  ADDR as address_text has it. See bind(2), unix(7). */
    if (bind(fd, (struct sockaddr *)&address, address_length) == -1)
        die("bind(%d, %s, %u)", fd, address_text, (unsigned)address_length);
    printf("bind(%d, %s, %u) = 0\n", fd, address_text, (unsigned)address_length);
    /*] */

    /* Step 4: getsockname, the name as the kernel keeps it. */
    struct sockaddr_un bound;
    socklen_t bound_length = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) == -1)
        die("getsockname(%d)", fd);
    char bound_text[NAME_TEXT_SIZE];
    describe_address(&bound, bound_length, bound_text);
    printf("getsockname(%d) = %s\n", fd, bound_text);

    /* Step 5: the file bind() made, as ls -l would show it. Its inode is
     * remembered, so that at exit only this very file is removed. */
    struct stat made;
    if (made_file) {
        if (lstat(address.sun_path, &made) == -1)
            die("lstat(%s)", address_text);
        char mode[11];
        mode_text(made.st_mode, mode);
        printf("lstat(%s) = 0  %s, inode %" PRIuMAX ": the file bind() made\n",
               address_text, mode, (uintmax_t)made.st_ino);
    }

    if (type == SOCK_STREAM) {
        /* Step 6: listen, as in 03. There is no handshake on the wire: a
         * client's connect() is queued here directly, and sleeps while
         * the queue is full (TCP would drop its SYN and retry). */
        /*[ listen() with a backlog of 10 (die() if it fails), and print
         *      listen(FD, 10) = 0
         *  See listen(2). */
        if (listen(fd, 10) == -1)
            die("listen(%d, 10)", fd);
        printf("listen(%d, 10) = 0\n", fd);
        /*] */
        serve_stream(fd, count);
    } else {
        serve_datagrams(fd, count);
    }

    /* Step 7: close the socket. An abstract name goes with it; a socket
     * file does not, so the lab removes it: clients then get ENOENT, and
     * the next run can bind the path again. (No TIME_WAIT here: unix
     * sockets have no ports to hold.) */
    if (close(fd) == -1)
        die("close(%d)", fd);
    printf("close(%d) = 0\n", fd);
    if (made_file)
        remove_socket_file(address.sun_path, address_text, &made);
    return 0;
}
