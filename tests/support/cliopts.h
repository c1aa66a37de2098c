/* cliopts.h - a test tool's flags through common/opts, with the usual
 * outcome: --help printed from the table, an error printed with the
 * tool's name, and the required flags checked.
 *
 * Returns 0 (go on), 1 (--help was printed: exit 0) or -1 (the reason is
 * on stderr: exit 2). required (NULL-terminated, may be NULL) names the
 * string targets that must be set, by their flags' names; a name that is
 * not a string flag of the table is an error too, so a misspelling cannot
 * leave a flag unchecked. */
#ifndef PORTHOLE_TESTS_CLIOPTS_H
#define PORTHOLE_TESTS_CLIOPTS_H

#include <stdio.h>
#include <string.h>

#include "common/opts.h"

static inline int cliopts_parse(const char *prog, const char *usage, const struct opt *table,
                                size_t n, int argc, char **argv, const char *const *required)
{
    char err[256];
    switch (opts_parse(table, n, argc, argv, err, sizeof err)) {
    case OPTS_OK:
        break;
    case OPTS_HELP:
        opts_print_help(stdout, usage, table, n);
        return 1;
    default:
        fprintf(stderr, "%s: %s\n", prog, err[0] ? err : "bad usage");
        return -1;
    }
    for (size_t r = 0; required && required[r]; r++) {
        size_t i = 0;
        while (i < n && !(table[i].type == OPT_STRING && strcmp(table[i].name, required[r]) == 0))
            i++;
        if (i == n) { /* the tool's own mistake: a name its table lacks */
            fprintf(stderr, "%s: no string flag --%s to require\n", prog, required[r]);
            return -1;
        }
        if (!*(const char **)table[i].target) {
            fprintf(stderr, "%s: --%s is required\n", prog, required[r]);
            return -1;
        }
    }
    return 0;
}

#endif
