/* depth_config.c - depth channel requests, colormap settings and
 * calibration as JSON (depth_config.h). */
#include "robot/depth_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "robot/depth_pack.h"

_Static_assert(DEPTH_MAX_DECIMATION == DEPTH_PACK_MAX_DECIMATION, "one limit");

void depth_request_default(struct depth_request *out, int camera_fps)
{
    memset(out, 0, sizeof *out);
    out->rate = DEPTH_DEFAULT_RATE < camera_fps ? DEPTH_DEFAULT_RATE : camera_fps;
    out->decimation = DEPTH_DEFAULT_DECIMATION;
}

/* Appends a sentence to note. */
static void note_add(char *note, size_t len, const char *text)
{
    size_t n = strlen(note);
    if (n + 1 < len)
        snprintf(note + n, len - n, "%s%s", n ? "; " : "", text);
}

/* Reads member name as a whole number in [lo, hi] into *out (clamping with
 * a note); absent leaves *out. Returns -1 for a non-number. */
static int clamp_member(const json_t *obj, const char *name, const char *what, long lo,
                        long hi, int *out, char *note, size_t notelen, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, name);
    if (!v)
        return 0;
    if (!json_is_number(v)) {
        snprintf(err, errlen, "depth '%s' must be a number (%s)", name, what);
        return -1;
    }
    double d = json_number_value(v);
    double r = d < -1e9 ? -1e9 : d > 1e9 ? 1e9 : floor(d + 0.5);
    long val = (long)r;
    char text[160];
    if (val < lo || val > hi) {
        long to = val < lo ? lo : hi;
        snprintf(text, sizeof text, "%s %g is %s %ld: using %ld", name, d,
                 val < lo ? "below the least," : "above the most,", to, to);
        note_add(note, notelen, text);
        val = to;
    }
    *out = (int)val;
    return 0;
}

int depth_request_apply(const json_t *obj, int camera_fps, struct depth_request *inout,
                        char *err, size_t errlen)
{
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "depth must be an object {rate?, decimation?, color?}");
        return -1;
    }
    struct depth_request r = *inout;
    r.note[0] = '\0';
    const json_t *color = json_object_get(obj, "color");
    if (color && !json_is_boolean(color)) {
        snprintf(err, errlen, "depth 'color' must be true or false");
        return -1;
    }
    if (clamp_member(obj, "rate", "frames per second", DEPTH_MIN_RATE, camera_fps, &r.rate,
                     r.note, sizeof r.note, err, errlen) < 0 ||
        clamp_member(obj, "decimation", "keep every n-th pixel of every n-th row", 1,
                     DEPTH_MAX_DECIMATION, &r.decimation, r.note, sizeof r.note, err,
                     errlen) < 0)
        return -1;
    if (color)
        r.color = json_is_true(color);
    *inout = r;
    return 0;
}

json_t *depth_request_json(const struct depth_request *r)
{
    json_t *o = json_pack("{s:s, s:i, s:i, s:b, s:s, s:i, s:i}", "type", "depth-config", "rate",
                          r->rate, "decimation", r->decimation, "color", r->color, "codec",
                          "delta-lz4", "chunkBytes", DEPTH_CHUNK_BYTES, "maxDecimation",
                          DEPTH_MAX_DECIMATION);
    if (o && r->note[0])
        json_object_set_new(o, "message", json_string(r->note));
    return o;
}

int depth_colormap_apply(const json_t *obj, struct colormap_settings *inout, char *err,
                         size_t errlen)
{
    struct colormap_settings s = *inout;
    const json_t *map = json_object_get(obj, "colormap");
    const json_t *near = json_object_get(obj, "near"), *far = json_object_get(obj, "far");
    if (map) {
        int r = colormap_ramp_parse(json_string_value(map));
        if (r < 0) {
            snprintf(err, errlen, "'colormap' must be \"jet\", \"turbo\" or \"gray\"");
            return -1;
        }
        s.ramp = (enum colormap_ramp)r;
    }
    if ((near && !json_is_number(near)) || (far && !json_is_number(far))) {
        snprintf(err, errlen, "'near' and 'far' must be numbers of metres");
        return -1;
    }
    if (near)
        s.near_m = json_number_value(near);
    if (far)
        s.far_m = json_number_value(far);
    *inout = s;
    return 0;
}

json_t *depth_colormap_json(const struct colormap_settings *s)
{
    return json_pack("{s:s, s:s, s:f, s:f}", "type", "depth-colormap", "colormap",
                     colormap_ramp_name(s->ramp), "near", s->near_m, "far", s->far_m);
}

static json_t *intrinsics_json(const struct cam_intrinsics *in)
{
    return json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:s, s:[f,f,f,f,f]}", "width", in->width,
                     "height", in->height, "ppx", in->ppx, "ppy", in->ppy, "fx", in->fx, "fy",
                     in->fy, "model", in->model ? in->model : "none", "coeffs", in->coeffs[0],
                     in->coeffs[1], in->coeffs[2], in->coeffs[3], in->coeffs[4]);
}

static json_t *extrinsics_json(const struct cam_extrinsics *e)
{
    json_t *rot = json_array(), *tr = json_array();
    for (int i = 0; i < 9; i++)
        json_array_append_new(rot, json_real(e->rotation[i]));
    for (int i = 0; i < 3; i++)
        json_array_append_new(tr, json_real(e->translation[i]));
    return json_pack("{s:s, s:o, s:o}", "from", "depth", "rotation", rot, "translation", tr);
}

json_t *depth_calibration_json(const struct camera *cam)
{
    json_t *streams = json_object(), *ext = json_object();
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        const char *name = cam_stream_name((enum cam_stream)s);
        json_object_set_new(streams, name, intrinsics_json(camera_intrinsics(cam, s)));
        json_object_set_new(ext, name, extrinsics_json(camera_extrinsics(cam, s)));
    }
    return json_pack("{s:s, s:i, s:s, s:f, s:f, s:s, s:o, s:o}", "type", "depth-calibration",
                     "version", DEPTH_PACK_VERSION, "units", "metres", "depthScale",
                     camera_depth_scale(cam), "sampleUnit", DEPTH_PACK_UNIT_M, "depthStream",
                     "depth", "streams", streams, "extrinsics", ext);
}

json_t *depth_error_json(const char *code, const char *message)
{
    return json_pack("{s:s, s:s, s:s}", "type", "depth-error", "code", code, "message", message);
}
