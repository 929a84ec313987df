/* Hostile submission (d): binds port 2017 on every address, TCP and UDP,
 * leaves a child behind that ignores every signal it can and never exits,
 * and returns at once (so nobody waits for it). In its own network
 * namespace it takes the port from nobody; the grader kills the child when
 * the lab's tests end. */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void bind_everywhere(int family, const char *address, int type)
{
    struct sockaddr_storage storage;
    socklen_t length;
    int fd = socket(family, type, 0);

    memset(&storage, 0, sizeof storage);
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&storage;
        in->sin_family = AF_INET;
        in->sin_port = htons(2017);
        inet_pton(AF_INET, address, &in->sin_addr);
        length = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(2017);
        inet_pton(AF_INET6, address, &in6->sin6_addr);
        length = sizeof *in6;
    }
    if (fd != -1 && bind(fd, (struct sockaddr *)&storage, length) == 0 && type == SOCK_STREAM)
        listen(fd, 128);
}

int main(void)
{
    if (fork() != 0)
        return 0;
    setsid();
    for (int signal_number = 1; signal_number < NSIG; signal_number++)
        signal(signal_number, SIG_IGN);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    const char *addresses4[] = {"0.0.0.0", "127.0.0.1"};
    const char *addresses6[] = {"::", "::1"};
    for (int i = 0; i < 2; i++) {
        bind_everywhere(AF_INET, addresses4[i], SOCK_STREAM);
        bind_everywhere(AF_INET, addresses4[i], SOCK_DGRAM);
        bind_everywhere(AF_INET6, addresses6[i], SOCK_STREAM);
        bind_everywhere(AF_INET6, addresses6[i], SOCK_DGRAM);
    }
    for (;;)
        pause();
}
