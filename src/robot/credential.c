/* credential.c - secrets from a value or a file, re-read on use, never logged. */
#include "robot/credential.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

struct credential {
    char *value;    /* the given value, or NULL */
    char *path;     /* the file, or NULL */
    char *what;
    char *current;  /* what credential_get returned last (from the file) */
    bool warned;    /* the loose-permissions warning was logged */
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct credential *credential_new(const char *value, const char *path, const char *what)
{
    struct credential *c = calloc(1, sizeof *c);
    if (!c)
        abort(); /* as g_new would: the robot cannot run out of memory at start */
    c->value = dup_or_null(value && *value ? value : NULL);
    c->path = dup_or_null(path && *path ? path : NULL);
    c->what = dup_or_null(what ? what : "credential");
    return c;
}

bool credential_configured(const struct credential *c)
{
    return c->value || c->path;
}

bool credential_in_file(const struct credential *c)
{
    return c->path != NULL;
}

static const char *fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* Warns once when the file's group or others may read it. */
static void check_mode(struct credential *c, const struct stat *st)
{
    if (c->warned || !(st->st_mode & (S_IRGRP | S_IROTH)))
        return;
    c->warned = true;
    log_warn("%s: %s is readable by its group or by others (mode %03o); a secret's file "
             "should be chmod 600", c->what, c->path, (unsigned)(st->st_mode & 0777));
}

/* Reads the file into c->current, trimmed and checked. */
static const char *read_file(struct credential *c, char *err, size_t errlen)
{
    int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fail(err, errlen, "%s: cannot open %s: %s", c->what, c->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, "%s: %s is not a regular file", c->what, c->path);
    }
    check_mode(c, &st);
    char *buf = malloc(CREDENTIAL_MAX + 2);
    if (!buf)
        abort();
    size_t len = 0;
    ssize_t n;
    while (len <= CREDENTIAL_MAX &&
           (n = read(fd, buf + len, CREDENTIAL_MAX + 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return fail(err, errlen, "%s: cannot read %s: %s", c->what, c->path, strerror(e));
        }
        len += (size_t)n;
    }
    close(fd);
    size_t start = 0;
    while (start < len && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\r' ||
                           buf[start] == '\n'))
        start++;
    while (len > start && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\r' ||
                           buf[len - 1] == '\n'))
        len--;
    const char *why = NULL;
    if (len - start > CREDENTIAL_MAX)
        why = "is larger than 16 KiB";
    else if (len == start)
        why = "is empty";
    for (size_t i = start; !why && i < len; i++)
        if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
            why = "holds something other than one token of printable ASCII";
    if (why) {
        free(buf);
        return fail(err, errlen, "%s: %s %s", c->what, c->path, why);
    }
    memmove(buf, buf + start, len - start);
    buf[len - start] = '\0';
    free(c->current);
    c->current = buf;
    return buf;
}

const char *credential_get(struct credential *c, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (c->value)
        return c->value;
    if (!c->path)
        return NULL;
    return read_file(c, err, errlen);
}

bool credential_equal(const char *given, const char *want)
{
    size_t glen = strlen(given), wlen = strlen(want);
    volatile unsigned char diff = glen != wlen;
    for (size_t i = 0; i < glen; i++)
        diff |= (unsigned char)given[i] ^ (unsigned char)want[wlen ? i % wlen : 0];
    return diff == 0 && wlen > 0;
}

void credential_free(struct credential *c)
{
    if (!c)
        return;
    free(c->value);
    free(c->path);
    free(c->what);
    free(c->current);
    free(c);
}
