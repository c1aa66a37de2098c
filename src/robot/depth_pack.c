/* depth_pack.c - metric depth frames to bytes and back (depth_pack.h). */
#include "robot/depth_pack.h"

#include <lz4.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robot/pointcloud.h"

static void put_u16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put_u64(p, v);
}

static unsigned get_u16(const uint8_t *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static double get_f64(const uint8_t *p)
{
    uint64_t v = get_u64(p);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

int depth_pack_decimated(int n, int decimation)
{
    return (n + decimation - 1) / decimation;
}

void depth_pack_decimate(const struct cam_frame *depth, double depth_scale, int decimation,
                         uint16_t *mm)
{
    int w = depth_pack_decimated(depth->width, decimation);
    int h = depth_pack_decimated(depth->height, decimation);
    /* The common case (a millimetre camera) copies; others are rescaled. */
    bool is_mm = fabs(depth_scale - DEPTH_PACK_UNIT_M) < 1e-12;
    double k = depth_scale / DEPTH_PACK_UNIT_M;
    for (int j = 0; j < h; j++) {
        const uint16_t *row =
            (const uint16_t *)(depth->data + (size_t)j * decimation * depth->stride);
        uint16_t *out = mm + (size_t)j * w;
        for (int i = 0; i < w; i++) {
            unsigned z = row[i * decimation];
            if (!is_mm) {
                double v = floor(z * k + 0.5);
                z = v > 65535 ? 65535 : (unsigned)v;
            }
            out[i] = (uint16_t)z;
        }
    }
}

void depth_pack_align_color(const uint16_t *mm, int w, int h, int decimation,
                            const struct depth_pack_input *in, uint8_t *rgb)
{
    const struct cam_intrinsics *ci = in->cin;
    const struct cam_extrinsics *e = in->d2c;
    const struct cam_frame *c = in->color;
    for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++) {
            size_t k = (size_t)j * w + i;
            uint8_t *out = rgb + 3 * k;
            out[0] = out[1] = out[2] = 0;
            if (mm[k] == 0)
                continue;
            double p[3], q[3];
            pointcloud_deproject(in->din, (double)i * decimation, (double)j * decimation,
                                 mm[k] * DEPTH_PACK_UNIT_M, p);
            for (int r = 0; r < 3; r++)
                q[r] = e->rotation[3 * r] * p[0] + e->rotation[3 * r + 1] * p[1] +
                       e->rotation[3 * r + 2] * p[2] + e->translation[r];
            if (!(q[2] > 0))
                continue;
            double u = floor(q[0] / q[2] * ci->fx + ci->ppx + 0.5);
            double v = floor(q[1] / q[2] * ci->fy + ci->ppy + 0.5);
            if (u < 0 || v < 0 || u >= c->width || v >= c->height)
                continue;
            memcpy(out, c->data + (size_t)v * c->stride + 3 * (size_t)u, 3);
        }
    }
}

/* Row deltas in place, modulo 2^16: smooth surfaces become runs of small
 * repeated values, which LZ4 finds. */
static void delta_rows(uint16_t *mm, int w, int h)
{
    for (int j = 0; j < h; j++) {
        uint16_t *row = mm + (size_t)j * w;
        for (int i = w - 1; i > 0; i--)
            row[i] = (uint16_t)(row[i] - row[i - 1]);
    }
}

static void undelta_rows(uint16_t *mm, int w, int h)
{
    for (int j = 0; j < h; j++) {
        uint16_t *row = mm + (size_t)j * w;
        for (int i = 1; i < w; i++)
            row[i] = (uint16_t)(row[i] + row[i - 1]);
    }
}

/* Little-endian bytes of n u16 samples. */
static void u16_to_le(const uint16_t *in, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        put_u16(out + 2 * i, in[i]);
}

/* Appends src (n bytes) to out at *at, LZ4-compressed when lz4; returns the
 * bytes written, or -1. out has room for LZ4_compressBound(n). */
static long put_block(uint8_t *out, const uint8_t *src, size_t n, bool lz4)
{
    if (!lz4) {
        memcpy(out, src, n);
        return (long)n;
    }
    int r = LZ4_compress_default((const char *)src, (char *)out, (int)n, LZ4_compressBound((int)n));
    return r > 0 ? r : -1;
}

/* p, an array of *cap items of size bytes, grown to n items (never
 * shrunk); NULL when out of memory, p then unchanged. */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return p;
    void *q = realloc(p, n * size);
    if (q)
        *cap = n;
    return q;
}

/* pk's buffers for a frame of n samples packed into room bytes. */
static bool packer_reserve(struct depth_packer *pk, size_t n, bool color, size_t room)
{
    uint16_t *mm = grow(pk->mm, &pk->mm_cap, n, sizeof *mm);
    if (mm)
        pk->mm = mm;
    uint8_t *le = grow(pk->le, &pk->le_cap, 2 * n, 1);
    if (le)
        pk->le = le;
    uint8_t *rgb = color ? grow(pk->rgb, &pk->rgb_cap, 3 * n, 1) : pk->rgb;
    if (rgb)
        pk->rgb = rgb;
    uint8_t *out = grow(pk->out, &pk->out_cap, room, 1);
    if (out)
        pk->out = out;
    return mm && le && (rgb || !color) && out;
}

void depth_packer_free(struct depth_packer *pk)
{
    free(pk->mm);
    free(pk->rgb);
    free(pk->le);
    free(pk->out);
    *pk = (struct depth_packer){0};
}

void depth_packers_done(struct depth_packers *set, size_t used, int64_t now_us)
{
    for (size_t i = 0; i < DEPTH_PACKERS; i++) {
        if (i < used)
            set->used_us[i] = now_us;
        else if (now_us - set->used_us[i] > DEPTH_PACKER_IDLE_US)
            depth_packer_free(&set->p[i]);
    }
}

void depth_packers_free(struct depth_packers *set)
{
    for (size_t i = 0; i < DEPTH_PACKERS; i++)
        depth_packer_free(&set->p[i]);
    *set = (struct depth_packers){0};
}

const uint8_t *depth_packer_pack(struct depth_packer *pk, const struct depth_pack_input *in,
                                 int decimation, enum depth_codec codec, size_t *len)
{
    const struct cam_frame *d = in->depth;
    int w = depth_pack_decimated(d->width, decimation);
    int h = depth_pack_decimated(d->height, decimation);
    size_t n = (size_t)w * h;
    bool color = in->color && in->cin && in->d2c;
    bool lz4 = codec == DEPTH_CODEC_DELTA_LZ4;
    size_t depth_room = (size_t)LZ4_compressBound((int)(2 * n));
    size_t room = DEPTH_PACK_HEADER_BYTES + depth_room +
                  (color ? (size_t)LZ4_compressBound((int)(3 * n)) : 0);
    if (!packer_reserve(pk, n, color, room))
        return NULL;
    uint8_t *out = pk->out;
    long cb = 0;
    depth_pack_decimate(d, in->depth_scale, decimation, pk->mm);
    if (color) {
        depth_pack_align_color(pk->mm, w, h, decimation, in, pk->rgb);
        /* Colour goes after depth: compressed past the depth block's
         * largest size, then moved down to close the gap. */
        cb = put_block(out + DEPTH_PACK_HEADER_BYTES + depth_room, pk->rgb, 3 * n, true);
    }
    if (lz4)
        delta_rows(pk->mm, w, h);
    u16_to_le(pk->mm, n, pk->le);
    long db = put_block(out + DEPTH_PACK_HEADER_BYTES, pk->le, 2 * n, lz4);
    if (db < 0 || cb < 0)
        return NULL;
    if (color)
        memmove(out + DEPTH_PACK_HEADER_BYTES + db, out + DEPTH_PACK_HEADER_BYTES + depth_room,
                (size_t)cb);
    uint8_t *hd = out;
    memset(hd, 0, DEPTH_PACK_HEADER_BYTES);
    memcpy(hd, "PHDF", 4);
    hd[4] = DEPTH_PACK_VERSION;
    hd[5] = (uint8_t)codec;
    hd[6] = color ? DEPTH_COLOR_LZ4 : DEPTH_COLOR_NONE;
    put_u64(hd + 8, d->number);
    put_u64(hd + 16, (uint64_t)d->capture_wall_us);
    put_u64(hd + 24, (uint64_t)d->capture_mono_us);
    put_u16(hd + 32, (unsigned)w);
    put_u16(hd + 34, (unsigned)h);
    put_u16(hd + 36, (unsigned)decimation);
    put_f64(hd + 40, DEPTH_PACK_UNIT_M);
    put_f64(hd + 48, in->din->fx);
    put_f64(hd + 56, in->din->fy);
    put_f64(hd + 64, in->din->ppx);
    put_f64(hd + 72, in->din->ppy);
    put_u32(hd + 80, (uint32_t)db);
    put_u32(hd + 84, (uint32_t)cb);
    *len = DEPTH_PACK_HEADER_BYTES + (size_t)db + (size_t)cb;
    return out;
}

uint8_t *depth_pack_frame(const struct depth_pack_input *in, int decimation,
                          enum depth_codec codec, size_t *len)
{
    struct depth_packer pk = {0};
    uint8_t *out = depth_packer_pack(&pk, in, decimation, codec, len) ? pk.out : NULL;
    if (out)
        pk.out = NULL; /* the caller's now */
    depth_packer_free(&pk);
    return out;
}

/* Decodes a block of stored bytes into exactly n bytes. */
static int get_block(const uint8_t *src, size_t stored, int codec, uint8_t *dst, size_t n)
{
    if (codec == 0 || codec == 1)
        return stored == n ? (memcpy(dst, src, n), 0) : -1;
    int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)stored, (int)n);
    return r == (int)n ? 0 : -1;
}

static int fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return -1;
}

/* The header's fields, checked. */
static int read_header(const uint8_t *buf, size_t len, struct depth_frame_info *fi, char *err,
                       size_t errlen)
{
    if (len < DEPTH_PACK_HEADER_BYTES || memcmp(buf, "PHDF", 4) != 0)
        return fail(err, errlen, "not a depth frame (no PHDF header)");
    if (buf[4] != DEPTH_PACK_VERSION)
        return fail(err, errlen, "unsupported depth frame version");
    memset(fi, 0, sizeof *fi);
    fi->codec = buf[5];
    fi->color_codec = buf[6];
    fi->number = get_u64(buf + 8);
    fi->wall_us = (int64_t)get_u64(buf + 16);
    fi->mono_us = (int64_t)get_u64(buf + 24);
    fi->width = (int)get_u16(buf + 32);
    fi->height = (int)get_u16(buf + 34);
    fi->decimation = (int)get_u16(buf + 36);
    fi->unit_m = get_f64(buf + 40);
    fi->fx = get_f64(buf + 48);
    fi->fy = get_f64(buf + 56);
    fi->ppx = get_f64(buf + 64);
    fi->ppy = get_f64(buf + 72);
    fi->depth_bytes = get_u32(buf + 80);
    fi->color_bytes = get_u32(buf + 84);
    if (fi->codec != DEPTH_CODEC_RAW && fi->codec != DEPTH_CODEC_DELTA_LZ4)
        return fail(err, errlen, "unknown depth codec");
    if (fi->color_codec > DEPTH_COLOR_LZ4)
        return fail(err, errlen, "unknown colour codec");
    if (fi->width < 1 || fi->height < 1 || fi->decimation < 1 ||
        fi->decimation > DEPTH_PACK_MAX_DECIMATION)
        return fail(err, errlen, "bad depth frame size or decimation");
    if (!(fi->unit_m > 0) || !(fi->fx > 0) || !(fi->fy > 0) || !isfinite(fi->ppx) ||
        !isfinite(fi->ppy))
        return fail(err, errlen, "bad depth unit or intrinsics");
    if ((fi->color_codec == DEPTH_COLOR_NONE) != (fi->color_bytes == 0) ||
        DEPTH_PACK_HEADER_BYTES + (uint64_t)fi->depth_bytes + fi->color_bytes != len)
        return fail(err, errlen, "depth frame block sizes do not add up");
    return 0;
}

int depth_unpack_frame(const uint8_t *buf, size_t len, struct depth_frame_info *info,
                       uint16_t **mm, uint8_t **rgb, char *err, size_t errlen)
{
    struct depth_frame_info fi;
    if (read_header(buf, len, &fi, err, errlen) < 0)
        return -1;
    size_t n = (size_t)fi.width * fi.height;
    uint8_t *le = malloc(2 * n), *col = fi.color_codec ? malloc(3 * n) : NULL;
    uint16_t *s = malloc(n * sizeof *s);
    int rc = -1;
    if (!le || !s || (fi.color_codec && !col)) {
        fail(err, errlen, "out of memory");
    } else if (get_block(buf + DEPTH_PACK_HEADER_BYTES, fi.depth_bytes, fi.codec, le, 2 * n) < 0) {
        fail(err, errlen, "the depth block does not decode to width x height samples");
    } else if (col && get_block(buf + DEPTH_PACK_HEADER_BYTES + fi.depth_bytes, fi.color_bytes,
                                fi.color_codec, col, 3 * n) < 0) {
        fail(err, errlen, "the colour block does not decode to width x height pixels");
    } else {
        for (size_t i = 0; i < n; i++)
            s[i] = (uint16_t)get_u16(le + 2 * i);
        if (fi.codec == DEPTH_CODEC_DELTA_LZ4)
            undelta_rows(s, fi.width, fi.height);
        rc = 0;
    }
    free(le);
    if (rc == 0 && mm) {
        *mm = s;
        s = NULL;
    }
    if (rc == 0 && rgb) {
        *rgb = col;
        col = NULL;
    }
    free(s);
    free(col);
    if (rc == 0)
        *info = fi;
    return rc;
}

size_t depth_chunk_count(size_t len)
{
    return len == 0 ? 1 : (len + DEPTH_CHUNK_DATA - 1) / DEPTH_CHUNK_DATA;
}

size_t depth_chunk_write(uint8_t *out, const uint8_t *frame, size_t len, uint64_t number,
                         size_t index)
{
    size_t off = index * DEPTH_CHUNK_DATA;
    size_t n = off >= len ? 0 : len - off < DEPTH_CHUNK_DATA ? len - off : DEPTH_CHUNK_DATA;
    memcpy(out, "PHDC", 4);
    put_u32(out + 4, (uint32_t)number);
    put_u16(out + 8, (unsigned)index);
    put_u16(out + 10, (unsigned)depth_chunk_count(len));
    put_u32(out + 12, (uint32_t)len);
    memcpy(out + DEPTH_CHUNK_HEADER_BYTES, frame + off, n);
    return DEPTH_CHUNK_HEADER_BYTES + n;
}
