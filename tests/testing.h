/* A minimal test harness: CHECK records failures with file:line and keeps going; each program
 * ends with TEST_SUMMARY, which prints "<name>: N passed, M failed" and returns non-zero on any
 * failure. */
#ifndef SARAPHIS_TESTS_TESTING_H
#define SARAPHIS_TESTS_TESTING_H

#include <stdio.h>

static int tests_passed, tests_failed;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) tests_passed++;                                                   \
        else {                                                                      \
            tests_failed++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_MSG(cond, ...)                                                        \
    do {                                                                            \
        if (cond) tests_passed++;                                                   \
        else {                                                                      \
            tests_failed++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
        }                                                                           \
    } while (0)

#define TEST_SUMMARY(name)                                                          \
    (printf("%s: %d passed, %d failed\n", name, tests_passed, tests_failed), tests_failed != 0)

/* xorshift64*: deterministic test data. */
static inline unsigned long long test_random(unsigned long long *state)
{
    unsigned long long x = *state;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif
