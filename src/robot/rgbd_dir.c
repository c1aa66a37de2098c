/* rgbd_dir.c - the TUM RGB-D layout of recordings: names, lists, sidecar. */
#include "robot/rgbd_dir.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest list line read; TUM's are about 40 characters. */
#define RGBD_LINE_MAX 1024
/* Most frames a list may name: about 9 hours at 30 fps. */
#define RGBD_MAX_FRAMES 1000000

static const struct {
    const char *subdir, *list, *header;
} rgbd_streams[CAM_NSTREAMS] = {
    [CAM_COLOR] = {.subdir = "rgb", .list = "rgb.txt",
                   .header = "# color images\n# timestamp filename\n"},
    [CAM_DEPTH] = {.subdir = "depth", .list = "depth.txt",
                   .header = "# depth maps\n# timestamp filename\n"},
    [CAM_INFRARED1] = {.subdir = "ir1", .list = "ir1.txt",
                       .header = "# infrared images (left imager)\n# timestamp filename\n"},
    [CAM_INFRARED2] = {.subdir = "ir2", .list = "ir2.txt",
                       .header = "# infrared images (right imager)\n# timestamp filename\n"},
};

/* librealsense's distortion models; cam_intrinsics.model points into it. */
static const char *const rgbd_models[] = {"none", "brown-conrady", "modified-brown-conrady",
                                          "inverse-brown-conrady", "ftheta", "kannala-brandt4"};

const char *rgbd_subdir(enum cam_stream s)
{
    return (unsigned)s < CAM_NSTREAMS ? rgbd_streams[s].subdir : "unknown";
}

const char *rgbd_list_name(enum cam_stream s)
{
    return (unsigned)s < CAM_NSTREAMS ? rgbd_streams[s].list : "unknown.txt";
}

const char *rgbd_list_header(enum cam_stream s)
{
    return (unsigned)s < CAM_NSTREAMS ? rgbd_streams[s].header : "";
}

void rgbd_stamp(int64_t us, char *out, size_t len)
{
    if (us < 0)
        us = 0;
    snprintf(out, len, "%" PRId64 ".%06" PRId64, us / 1000000, us % 1000000);
}

int rgbd_stamp_parse(const char *s, int64_t *us)
{
    int64_t sec = 0, frac = 0;
    int digits = 0, fdigits = 0;
    for (; isdigit((unsigned char)*s); s++, digits++) {
        if (sec > (INT64_MAX / 1000000 - 9) / 10)
            return -1;
        sec = sec * 10 + (*s - '0');
    }
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++, fdigits++)
            if (fdigits < 6)
                frac = frac * 10 + (*s - '0');
    if (digits == 0 || *s != '\0')
        return -1;
    for (int i = fdigits < 6 ? fdigits : 6; i < 6; i++)
        frac *= 10;
    *us = sec * 1000000 + frac;
    return 0;
}

void rgbd_list_clear(struct rgbd_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->file[i]);
    free(l->file);
    free(l->stamp_us);
    *l = (struct rgbd_list){0};
}

/* A listed file must stay inside the directory: relative, no "..". */
static bool rgbd_path_ok(const char *p)
{
    if (p[0] == '/' || p[0] == '\0')
        return false;
    for (const char *c = p; (c = strstr(c, "..")) != NULL; c += 2)
        if ((c == p || c[-1] == '/') && (c[2] == '/' || c[2] == '\0'))
            return false;
    return true;
}

/* Adds one "TIMESTAMP FILE" line to l. Returns 0, or -1 with why set. */
static int rgbd_list_add(struct rgbd_list *l, char *line, const char **why)
{
    char *save = NULL;
    char *stamp = strtok_r(line, " \t\r\n", &save);
    char *file = strtok_r(NULL, " \t\r\n", &save);
    int64_t us;
    if (!stamp || !file || strtok_r(NULL, " \t\r\n", &save)) {
        *why = "expected \"TIMESTAMP FILE\"";
        return -1;
    }
    if (rgbd_stamp_parse(stamp, &us) != 0) {
        *why = "the timestamp is not SECONDS.FRACTION";
        return -1;
    }
    if (!rgbd_path_ok(file)) {
        *why = "the file must be a relative path inside the directory";
        return -1;
    }
    if (l->n && us <= l->stamp_us[l->n - 1]) {
        *why = "timestamps must increase";
        return -1;
    }
    if (l->n >= RGBD_MAX_FRAMES) {
        *why = "too many frames (at most 1000000)";
        return -1;
    }
    if ((l->n & (l->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = l->n ? 2 * l->n : 64;
        int64_t *st = realloc(l->stamp_us, cap * sizeof *st);
        if (st)
            l->stamp_us = st;
        char **fl = realloc(l->file, cap * sizeof *fl);
        if (fl)
            l->file = fl;
        if (!st || !fl) {
            *why = "out of memory";
            return -1;
        }
    }
    char *copy = strdup(file);
    if (!copy) {
        *why = "out of memory";
        return -1;
    }
    l->stamp_us[l->n] = us;
    l->file[l->n++] = copy;
    return 0;
}

int rgbd_list_read(const char *dir, enum cam_stream s, struct rgbd_list *out, char *err,
                   size_t errlen)
{
    *out = (struct rgbd_list){0};
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rgbd_list_name(s));
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", rgbd_list_name(s), strerror(errno));
        return -1;
    }
    char line[RGBD_LINE_MAX];
    unsigned lineno = 0;
    const char *why = NULL;
    while (!why && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            why = "line too long";
            break;
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        rgbd_list_add(out, line, &why);
    }
    if (!why && ferror(f))
        why = strerror(errno);
    fclose(f);
    if (why) {
        snprintf(err, errlen, "%s line %u: %s", rgbd_list_name(s), lineno, why);
        return -1;
    }
    return 0;
}

/* ---- the sidecar ---- */

static json_t *rgbd_intrinsics_json(const struct cam_intrinsics *in)
{
    json_t *coeffs = json_array();
    for (int i = 0; i < 5; i++)
        json_array_append_new(coeffs, json_real(in->coeffs[i]));
    return json_pack("{s:i,s:i,s:f,s:f,s:f,s:f,s:s,s:o}", "width", in->width, "height",
                     in->height, "ppx", in->ppx, "ppy", in->ppy, "fx", in->fx, "fy", in->fy,
                     "model", in->model ? in->model : "none", "coeffs", coeffs);
}

int rgbd_meta_write(const char *dir, const struct rgbd_meta *m, json_t *extra, char *err,
                    size_t errlen)
{
    json_t *intr = json_object();
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (m->has_intrinsics[s])
            json_object_set_new(intr, cam_stream_name((enum cam_stream)s),
                                rgbd_intrinsics_json(&m->intrinsics[s]));
    json_t *doc = json_pack(
        "{s:s,s:i,s:{s:s,s:s,s:s,s:s,s:s},s:i,s:i,s:i,s:f,s:s,s:o}", "format", "porthole-rgbd",
        "version", 1, "device", "name", m->name, "serial", m->serial, "firmwareVersion",
        m->firmware, "productId", m->product_id, "usbType", m->usb_type, "width", m->mode.width,
        "height", m->mode.height, "fps", m->mode.fps, "depthScale", m->depth_scale, "depthNote",
        "metres = depth PNG value x depthScale (TUM RGB-D datasets: 1/5000)", "intrinsics", intr);
    if (doc && extra)
        json_object_set(doc, "recorded", extra);
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, RGBD_SIDECAR);
    snprintf(path, sizeof path, "%s/%s", dir, RGBD_SIDECAR);
    int rc = doc ? json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : -1;
    json_decref(doc);
    if (rc != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, rc ? "write failed" : strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* The TUM defaults for a 640x480 frame: depth registered to colour, so
 * every stream shares the one pinhole. */
static void rgbd_meta_tum(struct rgbd_meta *m)
{
    *m = (struct rgbd_meta){.depth_scale = RGBD_TUM_DEPTH_SCALE};
    snprintf(m->name, sizeof m->name, "TUM RGB-D dataset");
    snprintf(m->firmware, sizeof m->firmware, "none");
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        m->intrinsics[s] = (struct cam_intrinsics){.width = 640, .height = 480,
                                                   .ppx = RGBD_TUM_CX, .ppy = RGBD_TUM_CY,
                                                   .fx = RGBD_TUM_FOCAL, .fy = RGBD_TUM_FOCAL,
                                                   .model = "none"};
        m->has_intrinsics[s] = true;
    }
}

/* Reads one stream's intrinsics; returns 0 or -1 with why set. */
static int rgbd_intrinsics_parse(json_t *j, struct cam_intrinsics *in, const char **why)
{
    json_t *coeffs = json_object_get(j, "coeffs");
    const char *model = json_string_value(json_object_get(j, "model"));
    if (json_unpack(j, "{s:i,s:i,s:F,s:F,s:F,s:F}", "width", &in->width, "height", &in->height,
                    "ppx", &in->ppx, "ppy", &in->ppy, "fx", &in->fx, "fy", &in->fy) != 0 ||
        in->width < 1 || in->height < 1 || !(in->fx > 0) || !(in->fy > 0) ||
        !isfinite(in->fx) || !isfinite(in->fy) || !isfinite(in->ppx) || !isfinite(in->ppy)) {
        *why = "needs width, height (positive integers), ppx, ppy, fx, fy (fx, fy > 0)";
        return -1;
    }
    in->model = NULL;
    for (size_t i = 0; model && i < sizeof rgbd_models / sizeof rgbd_models[0]; i++)
        if (strcmp(model, rgbd_models[i]) == 0)
            in->model = rgbd_models[i];
    if (!model)
        in->model = "none";
    if (!in->model) {
        *why = "has an unknown distortion model";
        return -1;
    }
    if (coeffs && (!json_is_array(coeffs) || json_array_size(coeffs) != 5)) {
        *why = "coeffs must be 5 numbers";
        return -1;
    }
    for (size_t i = 0; coeffs && i < 5; i++) {
        json_t *c = json_array_get(coeffs, i);
        if (!json_is_number(c) || !isfinite(json_number_value(c))) {
            *why = "coeffs must be 5 numbers";
            return -1;
        }
        in->coeffs[i] = json_number_value(c);
    }
    return 0;
}

/* Copies the string member key of obj into out, if it is one. */
static void rgbd_copy(json_t *obj, const char *key, char *out, size_t len)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (v)
        snprintf(out, len, "%s", v);
}

/* Fills m from the parsed sidecar; returns 0 or -1 with why set. */
static int rgbd_meta_parse(json_t *doc, struct rgbd_meta *m, char *why, size_t whylen)
{
    json_t *dev = json_object_get(doc, "device");
    rgbd_copy(dev, "name", m->name, sizeof m->name);
    rgbd_copy(dev, "serial", m->serial, sizeof m->serial);
    rgbd_copy(dev, "firmwareVersion", m->firmware, sizeof m->firmware);
    rgbd_copy(dev, "productId", m->product_id, sizeof m->product_id);
    rgbd_copy(dev, "usbType", m->usb_type, sizeof m->usb_type);
    if (json_unpack(doc, "{s:i,s:i,s:i,s:F}", "width", &m->mode.width, "height",
                    &m->mode.height, "fps", &m->mode.fps, "depthScale", &m->depth_scale) != 0 ||
        m->mode.width < 1 || m->mode.width > 8192 || m->mode.height < 1 ||
        m->mode.height > 8192 || m->mode.fps < 1 || m->mode.fps > 1000 ||
        !(m->depth_scale >= 0 && m->depth_scale < 1)) {
        snprintf(why, whylen, "needs width and height (1..8192), fps (1..1000) and depthScale "
                 "(metres per unit, 0..1; 0 for a camera without depth)");
        return -1;
    }
    json_t *intr = json_object_get(doc, "intrinsics");
    const char *key;
    json_t *val;
    json_object_foreach(intr, key, val) {
        int s = cam_stream_parse(key);
        const char *w = NULL;
        if (s < 0) {
            snprintf(why, whylen, "intrinsics: unknown stream '%.40s'", key);
            return -1;
        }
        if (rgbd_intrinsics_parse(val, &m->intrinsics[s], &w) != 0) {
            snprintf(why, whylen, "intrinsics.%s %s", key, w);
            return -1;
        }
        m->has_intrinsics[s] = true;
    }
    return 0;
}

int rgbd_meta_read(const char *dir, struct rgbd_meta *m, char *err, size_t errlen)
{
    rgbd_meta_tum(m);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, RGBD_SIDECAR);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        FILE *f = fopen(path, "r");
        if (!f && errno == ENOENT)
            return 1;
        if (f)
            fclose(f);
        snprintf(err, errlen, "%s: %s (line %d)", RGBD_SIDECAR, jerr.text, jerr.line);
        return -1;
    }
    *m = (struct rgbd_meta){0};
    snprintf(m->name, sizeof m->name, "recorded camera");
    char why[160];
    int rc = json_is_object(doc) ? rgbd_meta_parse(doc, m, why, sizeof why) : -1;
    if (!json_is_object(doc))
        snprintf(why, sizeof why, "must be a JSON object");
    json_decref(doc);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", RGBD_SIDECAR, why);
    return rc;
}
