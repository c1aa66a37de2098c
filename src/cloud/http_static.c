/* http_static.c - safe request path to web-root file mapping. */
#include "cloud/http_static.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes the path part of uri into out. Returns false on a bad
 * escape, an encoded NUL, or overflow. */
static bool decode_path(const char *uri, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = uri; *p && *p != '?' && *p != '#'; p++) {
        char c = *p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (char)(hi << 4 | lo);
            p += 2;
        }
        if (o + 1 >= outlen)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* True when some "/"-separated segment is "." or "..". */
static bool has_dot_segment(const char *path)
{
    for (const char *seg = path; seg; seg = strchr(seg, '/')) {
        while (*seg == '/')
            seg++;
        size_t n = strcspn(seg, "/");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return true;
        if (!seg[n])
            break;
    }
    return false;
}

int http_static_resolve(const char *root, const char *uri, char *out, size_t outlen)
{
    char path[1024];
    if (!uri || uri[0] != '/' || !decode_path(uri, path, sizeof(path)) || has_dot_segment(path))
        return 404;
    char joined[PATH_MAX + 16];
    size_t plen = strlen(path);
    int n = snprintf(joined, sizeof(joined), "%s%s%s", root, path,
                     path[plen - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof(joined))
        return 404;
    char real[PATH_MAX];
    if (!realpath(joined, real))
        return 404;
    size_t rlen = strlen(root);
    /* Inside means: root itself is a prefix, followed by a separator. */
    if (strncmp(real, root, rlen) != 0 || (real[rlen] != '/' && strcmp(root, "/") != 0))
        return 404;
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return 404;
    if (strlen(real) >= outlen)
        return 404;
    strcpy(out, real);
    return 0;
}

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"ts", "application/typescript; charset=utf-8"}, /* porthole.d.ts, the SDK's types */
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"woff2", "font/woff2"},
};

const char *http_static_mime(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
            if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
                return mime_types[i].type;
    return "application/octet-stream";
}
