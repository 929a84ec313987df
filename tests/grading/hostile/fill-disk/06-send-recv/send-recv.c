/* Hostile submission (f): fills the disk it can write to, in its own folder
 * (beside its binary) and in the temporary folder, one file after another
 * (a file-size limit ends one file, not the filling) until the disk is
 * full, then exits. The sandbox's scratch space is a tmpfs of a fixed size;
 * the grader empties it again before the next lab. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void fill(const char *folder)
{
    static char block[1 << 20];
    char path[4096];

    memset(block, 'x', sizeof block);
    for (int number = 0; number < 100000; number++) {
        snprintf(path, sizeof path, "%s/fill.%d", folder, number);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd == -1)
            return;
        while (write(fd, block, sizeof block) > 0)
            ;
        int error = errno;
        close(fd);
        if (error == ENOSPC || error == EDQUOT)
            return;
    }
}

int main(int argc, char **argv)
{
    char self[4096];

    (void)argc;
    signal(SIGXFSZ, SIG_IGN);
    snprintf(self, sizeof self, "%s", argv[0]);
    fill(dirname(self));
    fill("/tmp");
    return 0;
}
