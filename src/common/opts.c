/* opts.c - table-driven command-line flag and environment variable parser. */
#include "common/opts.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where a value came from, for error messages: "--port", "-p" or "PORT". */
struct opts_origin {
    const struct opt *opt;
    const char *env; /* variable name, or NULL for a flag */
    bool short_flag;
};

static void opts_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void opts_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Writes the label of origin into buf: "--port", "-p" or "PORT". */
static void opts_label(const struct opts_origin *o, char *buf, size_t len)
{
    if (o->env != NULL)
        (void)snprintf(buf, len, "%s", o->env);
    else if (o->short_flag)
        (void)snprintf(buf, len, "-%c", o->opt->short_name);
    else
        (void)snprintf(buf, len, "--%s", o->opt->name);
}

void opts_quote(const char *value, char *buf, size_t len)
{
    size_t keep = 60;
    size_t o = 0;
    for (size_t i = 0; value[i] != '\0' && o + 4 < len; i++) {
        if (i == keep) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)value[i];
        buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[o] = '\0';
}

/* Writes choices as "a, b, c" into buf (truncated to fit). */
static void opts_join(const char *const *choices, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; choices[i] != NULL && o < len; i++) {
        int n = snprintf(buf + o, len - o, "%s%s", i > 0 ? ", " : "", choices[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

/* Writes a byte count the way a user would type it: "64KiB" when it is a
 * whole number of KiB, MiB or GiB, otherwise plain bytes. */
static void opts_format_size(long v, char *buf, size_t len)
{
    static const struct { long mult; const char *unit; } units[] = {
        {1L << 30, "GiB"}, {1L << 20, "MiB"}, {1L << 10, "KiB"},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (v != 0 && v % units[i].mult == 0) {
            (void)snprintf(buf, len, "%ld%s", v / units[i].mult, units[i].unit);
            return;
        }
    }
    (void)snprintf(buf, len, "%ld", v);
}

/* Strict decimal integer: the whole string, no leading blanks. Returns 0
 * and *out, 1 when the syntax is right but it overflows a long, -1 when it
 * is not an integer. */
static int opts_parse_long(const char *s, long *out)
{
    if (s[0] == '\0' || isspace((unsigned char)s[0]))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0')
        return -1;
    if (errno == ERANGE)
        return 1;
    *out = v;
    return 0;
}

/* Byte count with an optional binary suffix. Same returns as
 * opts_parse_long. */
static int opts_parse_size(const char *s, long *out)
{
    static const struct { const char *suffix; long mult; } suffixes[] = {
        {"", 1},
        {"k", 1L << 10}, {"K", 1L << 10}, {"KiB", 1L << 10},
        {"m", 1L << 20}, {"M", 1L << 20}, {"MiB", 1L << 20},
        {"g", 1L << 30}, {"G", 1L << 30}, {"GiB", 1L << 30},
    };
    if (!isdigit((unsigned char)s[0]))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    bool overflow = errno == ERANGE;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcmp(end, suffixes[i].suffix) != 0)
            continue;
        if (overflow || v > LONG_MAX / suffixes[i].mult)
            return 1;
        *out = v * suffixes[i].mult;
        return 0;
    }
    return -1;
}

/* Returns 0 and *out, or -1 when s is not a number. Overflow gives an
 * infinity, which the range check then refuses. */
static int opts_parse_double(const char *s, double *out)
{
    if (s[0] == '\0' || isspace((unsigned char)s[0]))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int opts_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Validates value and stores it in the option's target. value is NULL only
 * for a boolean flag given alone. Returns 0, or -1 with err filled. */
static int opts_apply(const struct opts_origin *origin, const char *value, char *err,
                      size_t errlen)
{
    const struct opt *o = origin->opt;
    char label[128], q[72];
    opts_label(origin, label, sizeof label);
    if (value == NULL) {
        if (o->type != OPT_BOOL) {
            opts_fail(err, errlen, "%s: missing value", label);
            return -1;
        }
        *(bool *)o->target = true;
        return 0;
    }
    opts_quote(value, q, sizeof q);

    switch (o->type) {
    case OPT_STRING:
        if (o->choices != NULL) {
            size_t i = 0;
            while (o->choices[i] != NULL && strcmp(o->choices[i], value) != 0)
                i++;
            if (o->choices[i] == NULL) {
                char list[512];
                opts_join(o->choices, list, sizeof list);
                opts_fail(err, errlen, "%s: '%s' is not one of %s", label, q, list);
                return -1;
            }
        }
        *(const char **)o->target = value;
        return 0;
    case OPT_INT: {
        long v = 0;
        int r = opts_parse_long(value, &v);
        if (r < 0) {
            opts_fail(err, errlen, "%s: '%s' is not an integer", label, q);
            return -1;
        }
        if (r > 0 || v < o->min || v > o->max) {
            opts_fail(err, errlen, "%s: '%s' is out of range %ld..%ld", label, q, o->min,
                      o->max);
            return -1;
        }
        *(long *)o->target = v;
        return 0;
    }
    case OPT_SIZE: {
        long v = 0;
        int r = opts_parse_size(value, &v);
        if (r < 0) {
            opts_fail(err, errlen,
                      "%s: '%s' is not a size (bytes, or a number with suffix k, KiB, m, "
                      "MiB, g or GiB)", label, q);
            return -1;
        }
        if (r > 0 || v < o->min || v > o->max) {
            char lo[32], hi[32];
            opts_format_size(o->min, lo, sizeof lo);
            opts_format_size(o->max, hi, sizeof hi);
            opts_fail(err, errlen, "%s: '%s' is out of range %s..%s", label, q, lo, hi);
            return -1;
        }
        *(long *)o->target = v;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = 0;
        if (opts_parse_double(value, &v) != 0) {
            opts_fail(err, errlen, "%s: '%s' is not a number", label, q);
            return -1;
        }
        /* Written so that NaN fails too. */
        if (!(v >= o->dmin && v <= o->dmax)) {
            opts_fail(err, errlen, "%s: '%s' is out of range %g..%g", label, q, o->dmin,
                      o->dmax);
            return -1;
        }
        *(double *)o->target = v;
        return 0;
    }
    case OPT_BOOL: {
        bool v = false;
        if (opts_parse_bool(value, &v) != 0) {
            opts_fail(err, errlen,
                      "%s: '%s' is not a boolean (true/false, yes/no, on/off or 1/0)", label,
                      q);
            return -1;
        }
        *(bool *)o->target = v;
        return 0;
    }
    }
    opts_fail(err, errlen, "%s: option has an unknown type", label);
    return -1;
}

static const struct opt *opts_find_long(const struct opt *table, size_t n, const char *name,
                                        size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
            return &table[i];
    return NULL;
}

static const struct opt *opts_find_short(const struct opt *table, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].short_name != 0 && table[i].short_name == c)
            return &table[i];
    return NULL;
}

/* Walks argv once. With apply false it only checks the syntax (unknown
 * options, missing values, positional arguments) and finds --help and
 * --version; with apply true it also stores each value. Returns OPTS_OK,
 * OPTS_HELP or OPTS_VERSION, or OPTS_ERROR with err holding the first
 * problem. Without apply, a syntax error does not stop the walk, so that
 * "--prot 1 --help" still shows the help. */
static enum opts_result opts_walk(const struct opt *table, size_t n, int argc, char **argv,
                                  bool apply, char *err, size_t errlen)
{
    enum opts_result res = OPTS_OK;
    char q[72];
#define OPTS_SYNTAX_ERROR(...)                     \
    do {                                           \
        if (res == OPTS_OK)                        \
            opts_fail(err, errlen, __VA_ARGS__);   \
        res = OPTS_ERROR;                          \
        if (apply)                                 \
            return res;                            \
    } while (0)

    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            opts_quote(a, q, sizeof q);
            OPTS_SYNTAX_ERROR("unexpected argument '%s' (see --help)", q);
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return apply ? OPTS_OK : OPTS_HELP;
        if (strcmp(a, "--version") == 0)
            return apply ? OPTS_OK : OPTS_VERSION;
        if (strcmp(a, "--") == 0) {
            only_positional = true;
            continue;
        }

        struct opts_origin origin = {0};
        const char *value = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            origin.opt = opts_find_long(table, n, name, len);
            if (origin.opt == NULL) {
                char flag[72];
                (void)snprintf(flag, sizeof flag, "%.*s", (int)(len < 60 ? len : 60), name);
                opts_quote(flag, q, sizeof q);
                OPTS_SYNTAX_ERROR("unknown option '--%s' (see --help)", q);
                continue;
            }
            if (eq != NULL)
                value = eq + 1;
        } else {
            origin.opt = opts_find_short(table, n, a[1]);
            origin.short_flag = true;
            /* A boolean short flag takes no attached value: "-vx" is not "-v". */
            if (origin.opt == NULL || (origin.opt->type == OPT_BOOL && a[2] != '\0')) {
                opts_quote(a, q, sizeof q);
                OPTS_SYNTAX_ERROR("unknown option '%s' (see --help)", q);
                continue;
            }
            if (a[2] != '\0')
                value = a + 2;
        }

        if (value == NULL && origin.opt->type != OPT_BOOL) {
            if (i + 1 >= argc) {
                char label[128];
                opts_label(&origin, label, sizeof label);
                OPTS_SYNTAX_ERROR("%s: missing value", label);
                continue;
            }
            value = argv[++i];
        }
        if (apply && opts_apply(&origin, value, err, errlen) != 0)
            return OPTS_ERROR;
    }
#undef OPTS_SYNTAX_ERROR
    return res;
}

/* Environment first, then flags, so that a flag overrides a variable; argv
 * is checked for --help, --version and syntax before anything is applied,
 * so --help works even when the environment holds a bad value. */
enum opts_result opts_parse(const struct opt *table, size_t n, int argc, char **argv,
                            char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    enum opts_result res = opts_walk(table, n, argc, argv, false, err, errlen);
    if (res != OPTS_OK)
        return res;

    for (size_t i = 0; i < n; i++) {
        for (size_t e = 0; e < 3 && table[i].env[e] != NULL; e++) {
            const char *value = getenv(table[i].env[e]);
            if (value == NULL || value[0] == '\0')
                continue;
            struct opts_origin origin = {.opt = &table[i], .env = table[i].env[e]};
            if (opts_apply(&origin, value, err, errlen) != 0)
                return OPTS_ERROR;
            break;
        }
    }
    return opts_walk(table, n, argc, argv, true, err, errlen);
}

/* Writes "-p, --port PORT" (or "    --port PORT") into buf. */
static void opts_flag_column(const struct opt *o, char *buf, size_t len)
{
    char shortf[8] = "    ";
    if (o->short_name != 0)
        (void)snprintf(shortf, sizeof shortf, "-%c, ", o->short_name);
    if (o->type == OPT_BOOL || o->metavar == NULL)
        (void)snprintf(buf, len, "%s--%s", shortf, o->name);
    else
        (void)snprintf(buf, len, "%s--%s %s", shortf, o->name, o->metavar);
}

/* Writes "env A, B; 1..65535; default 3001" for o into buf. */
static void opts_details(const struct opt *o, char *buf, size_t len)
{
    size_t p = 0;
    int w;
#define OPTS_ADD(...)                                         \
    do {                                                      \
        if (p < len) {                                        \
            w = snprintf(buf + p, len - p, __VA_ARGS__);      \
            if (w > 0)                                        \
                p += (size_t)w;                               \
        }                                                     \
    } while (0)

    buf[0] = '\0';
    if (o->env[0] != NULL) {
        OPTS_ADD("env ");
        for (size_t e = 0; e < 3 && o->env[e] != NULL; e++)
            OPTS_ADD("%s%s", e > 0 ? ", " : "", o->env[e]);
        OPTS_ADD("; ");
    }
    switch (o->type) {
    case OPT_STRING: {
        const char *v = *(const char *const *)o->target;
        if (o->choices != NULL) {
            char list[512];
            opts_join(o->choices, list, sizeof list);
            OPTS_ADD("one of %s; ", list);
        }
        if (o->secret)
            OPTS_ADD("%s", v && v[0] ? "set (not shown)" : "not set");
        else if (v == NULL)
            OPTS_ADD("no default");
        else if (v[0] == '\0' || strchr(v, ' ') != NULL)
            OPTS_ADD("default \"%s\"", v);
        else
            OPTS_ADD("default %s", v);
        break;
    }
    case OPT_INT:
        OPTS_ADD("%ld..%ld; default %ld", o->min, o->max, *(const long *)o->target);
        break;
    case OPT_SIZE: {
        char lo[32], hi[32], def[32];
        opts_format_size(o->min, lo, sizeof lo);
        opts_format_size(o->max, hi, sizeof hi);
        opts_format_size(*(const long *)o->target, def, sizeof def);
        OPTS_ADD("%s..%s bytes; default %s", lo, hi, def);
        break;
    }
    case OPT_DOUBLE:
        OPTS_ADD("%g..%g; default %g", o->dmin, o->dmax, *(const double *)o->target);
        break;
    case OPT_BOOL:
        OPTS_ADD("default %s", *(const bool *)o->target ? "true" : "false");
        break;
    }
#undef OPTS_ADD
}

/* Prints usage verbatim as the first line, then one entry per option: the
 * flags padded to a common column with the help beside them, and below the
 * help its variables, range or choices and current value. */
void opts_print_help(FILE *out, const char *usage, const struct opt *table, size_t n)
{
    enum { MAX_COL = 30 };
    char flags[128], details[1024];
    size_t col = strlen("-h, --help");
    for (size_t i = 0; i < n; i++) {
        opts_flag_column(&table[i], flags, sizeof flags);
        size_t len = strlen(flags);
        if (len > col && len <= MAX_COL)
            col = len;
    }
    int width = (int)col + 2;

    if (usage != NULL)
        fprintf(out, "%s\n\n", usage);
    fprintf(out, "Options:\n");
    for (size_t i = 0; i < n; i++) {
        const struct opt *o = &table[i];
        opts_flag_column(o, flags, sizeof flags);
        opts_details(o, details, sizeof details);
        const char *help = o->help != NULL ? o->help : "";
        if (strlen(flags) > col)
            fprintf(out, "  %s\n  %-*s%s\n", flags, width, "", help);
        else
            fprintf(out, "  %-*s%s\n", width, flags, help);
        fprintf(out, "  %-*s%s\n", width, "", details);
    }
    fprintf(out, "  %-*s%s\n", width, "-h, --help", "show this help and exit");
    fprintf(out, "  %-*s%s\n", width, "    --version", "show the version and exit");
}
