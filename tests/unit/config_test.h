/* config_test.h - what the configuration tests of cloud and robot share:
 * clearing their environment variables, building an argv, and asserting
 * that an error message names what it should. Include after cmocka.h. */
#ifndef PORTHOLE_TESTS_CONFIG_TEST_H
#define PORTHOLE_TESTS_CONFIG_TEST_H

#include <stdlib.h>
#include <string.h>

/* Unsets each of the n variables. */
static inline void config_test_clear_env(const char *const *vars, size_t n)
{
    for (size_t i = 0; i < n; i++)
        unsetenv(vars[i]);
}

/* Fills argv (max entries) with prog followed by the NULL-terminated args;
 * returns argc. */
static inline int config_test_argv(const char *prog, const char *const *args, char **argv,
                                   int max)
{
    int argc = 0;
    argv[argc++] = (char *)prog;
    while (argc < max && args[argc - 1] != NULL) {
        argv[argc] = (char *)args[argc - 1];
        argc++;
    }
    return argc;
}

static inline void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("'%s' does not contain '%s'", haystack, needle);
}

#endif
