/* Hostile submission (g): prints 100 MB of narration, then exits 0. The
 * file-size limit and the size of the scratch space bound what it writes;
 * the grader keeps at most 1 MiB of each log. */
#include <stdio.h>

int main(void)
{
    static const char line[] = "accept(3) = 4  peer 127.0.0.1:51234 (flooding the log)\n";

    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    for (long written = 0; written < 100L * 1000 * 1000; written += sizeof line - 1)
        fputs(line, stdout);
    return 0;
}
