/* log.c - leveled one-line logging to stderr, as text or JSON. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

/* Longest message kept, in bytes; longer ones are cut and end in "...". */
#define LOG_MSG_MAX 2048
/* Worst case of one escaped message byte: "\u00XX" or "\ufffd". */
#define LOG_ESC_MAX 6
/* Longest component name kept, in bytes. */
#define LOG_COMP_MAX 64
/* Escaped message and component, plus timestamp, level and punctuation. */
#define LOG_LINE_MAX ((LOG_MSG_MAX + LOG_COMP_MAX) * LOG_ESC_MAX + 256)

const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
const char *const log_format_names[] = {"text", "json", NULL};

/* The one piece of process-wide state (see log.h): written by log_setup()
 * before other threads exist, only read afterwards. */
static struct {
    enum log_level level;
    enum log_format format;
    const char *component;
} log_cfg = {LOGL_INFO, LOG_FORMAT_TEXT, "porthole"};

static const char *const log_level_upper[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_setup(enum log_level level, enum log_format format, const char *component)
{
    log_cfg.level = level;
    log_cfg.format = format;
    log_cfg.component = component != NULL ? component : "porthole";
}

bool log_enabled(enum log_level level)
{
    return level <= log_cfg.level;
}

static int log_parse_name(const char *const *names, const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int log_level_parse(const char *name, enum log_level *out)
{
    int i = log_parse_name(log_level_names, name);
    if (i < 0)
        return -1;
    *out = (enum log_level)i;
    return 0;
}

int log_format_parse(const char *name, enum log_format *out)
{
    int i = log_parse_name(log_format_names, name);
    if (i < 0)
        return -1;
    *out = (enum log_format)i;
    return 0;
}

/* Returns the length of the valid UTF-8 sequence at s (at most len bytes),
 * or 0 when s does not start one (bad lead byte, truncated, overlong,
 * surrogate or beyond U+10FFFF). */
static size_t log_utf8_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Appends msg to buf at *pos, escaped so that it stays on one line and,
 * in JSON, forms a valid string body: quotes, backslashes and control
 * characters are escaped, and invalid UTF-8 (messages may quote what a
 * peer sent) becomes U+FFFD. buf must have room for LOG_ESC_MAX bytes per
 * input byte. */
static void log_escape(char *buf, size_t *pos, const char *msg, size_t len, bool json)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)msg;
    size_t p = *pos;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        const char *short_esc = NULL;
        switch (c) {
        case '\n': short_esc = "\\n"; break;
        case '\r': short_esc = "\\r"; break;
        case '\t': short_esc = json ? "\\t" : NULL; break;
        case '"':  short_esc = json ? "\\\"" : NULL; break;
        case '\\': short_esc = json ? "\\\\" : NULL; break;
        default: break;
        }
        if (short_esc != NULL) {
            size_t n = strlen(short_esc);
            memcpy(buf + p, short_esc, n);
            p += n;
            i++;
        } else if (c == '\t') {
            buf[p++] = '\t';
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            if (json) {
                memcpy(buf + p, "\\u00", 4);
                p += 4;
            } else {
                memcpy(buf + p, "\\x", 2);
                p += 2;
            }
            buf[p++] = hex[c >> 4];
            buf[p++] = hex[c & 0xf];
            i++;
        } else {
            size_t n = log_utf8_len(s + i, len - i);
            if (n == 0) {
                if (json) {
                    memcpy(buf + p, "\\ufffd", 6);
                    p += 6;
                } else {
                    buf[p++] = '?';
                }
                i++;
            } else {
                memcpy(buf + p, s + i, n);
                p += n;
                i += n;
            }
        }
    }
    *pos = p;
}

/* Writes all of buf to stderr in one write(2) when the kernel allows it,
 * so that concurrent lines do not interleave. Errors are ignored: there
 * is nowhere left to report them. */
static void log_write(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Appends a NUL-terminated string that needs no escaping. */
static void log_append(char *buf, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    memcpy(buf + *pos, s, n);
    *pos += n;
}

/* Formats and prints one line. Keeps errno unchanged, so a caller can log
 * a failure and still inspect errno afterwards. */
void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level) || (unsigned)level > LOGL_DEBUG)
        return;
    int saved_errno = errno;

    char msg[LOG_MSG_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len;
    bool cut = false;
    if (n < 0) {
        len = 0;
    } else if ((size_t)n > LOG_MSG_MAX) {
        /* Cut before the last complete UTF-8 sequence that fits, so a
         * multi-byte character is never split. */
        len = LOG_MSG_MAX - 3;
        while (len > 0 && ((unsigned char)msg[len] & 0xc0) == 0x80)
            len--;
        cut = true;
    } else {
        len = (size_t)n;
    }

    char ts[32];
    clock_iso8601(clock_wall_ms(), ts, sizeof ts);
    const char *comp = log_cfg.component;
    bool json = log_cfg.format == LOG_FORMAT_JSON;

    /* The component is set by the program, not by peers, but it goes
     * through the same escaping so the line is valid whatever it is. */
    char line[LOG_LINE_MAX];
    size_t pos = 0;
    if (json) {
        log_append(line, &pos, "{\"ts\":\"");
        log_append(line, &pos, ts);
        log_append(line, &pos, "\",\"level\":\"");
        log_append(line, &pos, log_level_names[level]);
        log_append(line, &pos, "\",\"component\":\"");
        log_escape(line, &pos, comp, strnlen(comp, LOG_COMP_MAX), true);
        log_append(line, &pos, "\",\"msg\":\"");
        log_escape(line, &pos, msg, len, true);
        if (cut)
            log_append(line, &pos, "...");
        log_append(line, &pos, "\"}\n");
    } else {
        char head[128];
        int h = snprintf(head, sizeof head, "%s %-5s ", ts, log_level_upper[level]);
        if (h > 0 && (size_t)h < sizeof head)
            log_append(line, &pos, head);
        log_escape(line, &pos, comp, strnlen(comp, LOG_COMP_MAX), false);
        log_append(line, &pos, ": ");
        log_escape(line, &pos, msg, len, false);
        if (cut)
            log_append(line, &pos, "...");
        log_append(line, &pos, "\n");
    }
    log_write(line, pos);
    errno = saved_errno;
}
