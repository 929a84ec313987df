/* Hostile submission (b): never returns, never blocks, burns the CPU.
 * Each test's bounded waits fail; the CPU-time limit and the tests'
 * teardown end it. */
int main(void)
{
    volatile unsigned long spins = 0;
    for (;;)
        spins++;
}
