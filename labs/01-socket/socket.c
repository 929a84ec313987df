/* 01-socket: socket() gives you a file descriptor.
 *
 * What it shows
 *   socket(domain, type, protocol) asks the kernel for a new communication
 *   endpoint and hands back a file descriptor for it: a small integer, the
 *   lowest one not in use, exactly as open() would return for a file. The
 *   socket has no address and no peer yet. socket() never blocks: the
 *   kernel only allocates memory for it.
 *
 *   With no options, the lab makes one socket for each domain (AF_UNIX,
 *   AF_INET, AF_INET6) and type (SOCK_STREAM, SOCK_DGRAM), shows with
 *   fstat() and /proc/self/fd that each descriptor is a socket, then closes
 *   one and makes another to show the lowest free number being reused.
 *
 * Run it
 *   ./socket                        the six sockets
 *   ./socket -d inet6 -t dgram      just one
 *   ./socket -d inet -t seqpacket   a pair the kernel refuses (ESOCKTNOSUPPORT)
 *
 * Watch it
 *   strace -e trace=socket,close ./socket     the same calls, as the kernel saw them
 *   ./socket 3</dev/null                      fd 3 is taken, so the first socket is 4
 *
 * See also: socket(2), socket(7), unix(7), ip(7), ipv6(7), fstat(2), proc(5)
 */
#include "lab.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: socket [-d DOMAIN -t TYPE] [-h]\n"
    "  Creates a socket of each domain and type, showing each is a file descriptor.\n"
    "  -d DOMAIN  make only one socket, of this domain: unix, inet or inet6\n"
    "  -t TYPE    ... and of this type: stream, dgram, seqpacket or raw\n"
    "  -h         show this help\n";

/* A name on the command line, its constant, and how strace prints it. */
struct choice {
    const char *option;
    int value;
    const char *constant;
};

static const struct choice domains[] = {
    {"unix", AF_UNIX, "AF_UNIX"},   /* same host, addressed by a path */
    {"inet", AF_INET, "AF_INET"},   /* IPv4: address + port */
    {"inet6", AF_INET6, "AF_INET6"} /* IPv6: address + port */
};
static const struct choice types[] = {
    {"stream", SOCK_STREAM, "SOCK_STREAM"},       /* reliable byte stream (TCP) */
    {"dgram", SOCK_DGRAM, "SOCK_DGRAM"},          /* separate messages (UDP) */
    {"seqpacket", SOCK_SEQPACKET, "SOCK_SEQPACKET"}, /* reliable messages */
    {"raw", SOCK_RAW, "SOCK_RAW"}                 /* bare packets */
};
#define COUNT(array) (sizeof(array) / sizeof(array)[0])

static const struct choice *find_choice(const struct choice *list, size_t count,
                                        const char *option, const char *what)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i].option, option) == 0)
            return &list[i];
    usage_error("unknown %s '%s'", what, option);
}

/* Create one socket and say what the kernel returned. */
static int make_socket(const struct choice *domain, const struct choice *type)
{
    /*[ Call socket() with the pair's values and protocol 0; if it fails,
     *  die() naming the call; else print "socket(DOMAIN, TYPE, 0) = FD"
     *  with the constants' names (domain->constant ...) and return the fd.
     *  See socket(2).
     *  stub: (void)domain; (void)type; return -1; */
    /* Protocol 0: the kernel picks the usual one for the pair
     * (TCP for an inet stream, UDP for an inet datagram socket). */
    int fd = socket(domain->value, type->value, 0);
    if (fd == -1)
        die("socket(%s, %s, 0)", domain->constant, type->constant);
    printf("socket(%s, %s, 0) = %d\n", domain->constant, type->constant, fd);
    return fd;
    /*] */
}

/* Show, as the kernel sees it, that descriptor `fd` is a socket. */
static void show_it_is_a_socket(int fd)
{
    /*[ Show that fd is a socket, two ways, each call checked with die():
     *  fstat() it and print "  fstat(FD) = 0  st_mode is S_IFSOCK: a socket"
     *  when S_ISSOCK(st_mode) (else "not a socket"); then readlink()
     *  /proc/self/fd/FD and print '  readlink("/proc/self/fd/FD") =
     *  "socket:[INODE]"', the link as the kernel gave it (readlink does not
     *  end it with a '\0': you do). See fstat(2), readlink(2), proc(5).
     *  stub: (void)fd; */
    /* fstat() works on any descriptor; the file type bits of st_mode say
     * what kind of object stands behind it. */
    struct stat status;
    if (fstat(fd, &status) == -1)
        die("fstat(%d)", fd);
    printf("  fstat(%d) = 0  st_mode is %s\n", fd,
           S_ISSOCK(status.st_mode) ? "S_IFSOCK: a socket" : "not a socket");

    /* /proc/self/fd/N is a link naming what the descriptor refers to: a
     * path for a file, "socket:[INODE]" for a socket. */
    char link_path[64], target[64];
    snprintf(link_path, sizeof link_path, "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link_path, target, sizeof target - 1);
    if (length == -1)
        die("readlink(\"%s\")", link_path);
    target[length] = '\0';
    printf("  readlink(\"%s\") = \"%s\"\n", link_path, target);
    /*] */
}

static void close_socket(int fd)
{
    /*[ close() fd (die() if it fails) and print "close(FD) = 0". See close(2).
     *  stub: (void)fd; */
    if (close(fd) == -1)
        die("close(%d)", fd);
    printf("close(%d) = 0\n", fd);
    /*] */
}

int main(int argc, char *argv[])
{
    const struct choice *only_domain = NULL, *only_type = NULL;
    int option;

    /* Narration goes out a line at a time, even into a pipe or a file. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    lab_start(argv[0], usage);

    while ((option = getopt(argc, argv, ":d:t:h")) != -1) {
        switch (option) {
        case 'd': only_domain = find_choice(domains, COUNT(domains), optarg, "domain"); break;
        case 't': only_type = find_choice(types, COUNT(types), optarg, "type"); break;
        case 'h': print_usage_and_exit();
        default: usage_bad_option(option);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if ((only_domain == NULL) != (only_type == NULL))
        usage_error("-d and -t go together");

    /* Just one socket: make it, show it, close it. A pair the kernel does
     * not support fails here with its errno and exit status 1. */
    if (only_domain != NULL) {
        int fd = make_socket(only_domain, only_type);
        show_it_is_a_socket(fd);
        close_socket(fd);
        return 0;
    }

    /* Step 1: one socket per domain x type (stream and dgram). Descriptors
     * 0, 1 and 2 are stdin, stdout and stderr, so the first is usually 3. */
    int fds[COUNT(domains) * 2];
    size_t made = 0;
    for (size_t d = 0; d < COUNT(domains); d++) {
        for (size_t t = 0; t < 2; t++) {
            fds[made] = make_socket(&domains[d], &types[t]);
            show_it_is_a_socket(fds[made]);
            made++;
        }
    }

    /* Step 2: free the first descriptor. The next socket() gets that same
     * number back: the kernel always hands out the lowest free one. */
    int freed = fds[0];
    close_socket(freed);
    fds[0] = make_socket(&domains[1], &types[0]);
    printf("  %s\n", fds[0] == freed ? "the lowest free descriptor was reused"
                                     : "a different descriptor came back");

    /* Step 3: close them all. Closing a socket nobody else shares frees it
     * in the kernel too. */
    for (size_t i = 0; i < made; i++)
        close_socket(fds[i]);
    return 0;
}
