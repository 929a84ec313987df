/* Hostile submission (e): kills its parent's process group, its parent,
 * and (when it is not root) every process it may signal. In the sandbox
 * that is only the grading of this lab: bats and tests/grade, running as
 * the submission's own uid. */
#include <signal.h>
#include <unistd.h>

int main(void)
{
    pid_t parent = getppid();

    kill(-getpgid(parent), SIGKILL);
    kill(parent, SIGKILL);
    if (getuid() != 0)
        kill(-1, SIGKILL);
    return 0;
}
