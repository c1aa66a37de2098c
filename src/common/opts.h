/* opts.h - command-line flags and environment variables from one table.
 *
 * Each option is a long flag (--name VALUE or --name=VALUE), optionally a
 * short one (-p VALUE), and zero or more environment variables. Precedence:
 * flag, then the first environment variable that is set, then the default
 * already stored in the target. Every value is validated (integer syntax and
 * range, size suffixes, allowed choices) and an error names the flag or
 * variable, the bad value and what would be accepted.
 *
 * Strings are not copied: a string target points into argv or environ,
 * which outlive the program. */
#ifndef PORTHOLE_COMMON_OPTS_H
#define PORTHOLE_COMMON_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_type {
    OPT_STRING, /* target: const char **; choices: NULL or allowed values */
    OPT_INT,    /* target: long *; decimal, within [min, max] */
    OPT_SIZE,   /* target: long *; bytes: 65536, 64k, 64KiB, 1m, 1MiB; in [min, max] */
    OPT_DOUBLE, /* target: double *; within [dmin, dmax] */
    OPT_BOOL,   /* target: bool *; flag alone means true; values 1/0 true/false yes/no on/off */
};

struct opt {
    const char *name;           /* long flag without the dashes: "port" */
    char short_name;            /* 'p', or 0 for none */
    const char *env[3];         /* variables to read, NULL-terminated; first set wins */
    enum opt_type type;
    void *target;
    long min, max;              /* OPT_INT, OPT_SIZE */
    double dmin, dmax;          /* OPT_DOUBLE */
    const char *const *choices; /* OPT_STRING: NULL-terminated list, or NULL for any */
    const char *metavar;        /* shown in --help: "PORT" */
    const char *help;           /* one line */
    bool secret;                /* OPT_STRING: --help says "set" or "not set", never the value */
};

enum opts_result {
    OPTS_OK = 0,
    OPTS_HELP,    /* --help or -h was given: the caller prints help, exits 0 */
    OPTS_VERSION, /* --version was given: the caller prints it, exits 0 */
    OPTS_ERROR,   /* err holds one line saying what is wrong */
};

/* Applies environment variables, then argv (argv[0] is skipped), to the
 * targets. Positional arguments are an error. On OPTS_ERROR, err (errlen
 * bytes) holds a message such as
 *   "--port: '70000' is out of range 1..65535"
 *   "PORT: 'abc' is not an integer"
 *   "unknown option '--prot' (see --help)"
 * Targets may have been partly updated when an error is returned. */
enum opts_result opts_parse(const struct opt *table, size_t n, int argc, char **argv,
                            char *err, size_t errlen);

/* Copies a user-given value for quoting in an error message: at most 60
 * bytes (then "..."), control characters replaced by '?', so the message
 * stays one short line. len should be at least 64. */
void opts_quote(const char *value, char *buf, size_t len);

/* Prints usage: summary line, then each option with its metavar, its
 * variables, its help, its range or choices, and its current (default)
 * value read from the target. */
void opts_print_help(FILE *out, const char *usage, const struct opt *table, size_t n);

#endif
