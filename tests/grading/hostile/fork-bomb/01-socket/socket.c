/* Hostile submission (a): a fork bomb. Every process forks for ever.
 * The sandbox's process limit (NPROC) stops it from growing; the grader
 * stops the lab's tests once the limit is reached and kills what is left. */
#include <unistd.h>

int main(void)
{
    for (;;)
        fork();
}
