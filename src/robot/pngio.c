/* pngio.c - camera frames to and from PNG files through libpng. */
#include "robot/pngio.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpng reports errors through a callback that must not return: it
 * keeps the message here and jumps back to the setjmp of the caller. */
struct pngio_ctx {
    char msg[160];
};

static void pngio_on_error(png_structp png, png_const_charp msg)
{
    struct pngio_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void pngio_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* benign (an unknown chunk, a gamma note): the pixels are what matter */
}

static bool pngio_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

size_t pngio_bpp(enum cam_format format)
{
    switch (format) {
    case CAM_FORMAT_RGB8: return 3;
    case CAM_FORMAT_Z16: return 2;
    case CAM_FORMAT_Y8: return 1;
    }
    return 1;
}

/* Encodes f into the open file fp. Returns 0, or -1 with c->msg set. Kept
 * apart from pngio_write so that nothing it changes after setjmp lives
 * across the jump. */
static int pngio_encode(FILE *fp, const struct cam_frame *f, int level, struct pngio_ctx *c)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, pngio_on_error,
                                              pngio_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        snprintf(c->msg, sizeof c->msg, "out of memory");
        png_destroy_write_struct(&png, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, fp);
    png_set_compression_level(png, level);
    /* Sub alone: nearly all of the gain of adaptive filtering on camera
     * images, at a fraction of its cost. */
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    int type = f->format == CAM_FORMAT_RGB8 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY;
    int depth = f->format == CAM_FORMAT_Z16 ? 16 : 8;
    png_set_IHDR(png, info, (png_uint_32)f->width, (png_uint_32)f->height, depth, type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    png_write_info(png, info);
    if (depth == 16 && pngio_little_endian())
        png_set_swap(png);
    for (int y = 0; y < f->height; y++)
        png_write_row(png, f->data + (size_t)y * f->stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

long pngio_write(const char *path, const struct cam_frame *f, int level, char *err,
                 size_t errlen)
{
    if (f->width < 1 || f->height < 1 || f->width > PNGIO_MAX_SIDE ||
        f->height > PNGIO_MAX_SIDE || f->stride < pngio_bpp(f->format) * (size_t)f->width) {
        snprintf(err, errlen, "%s: cannot write a %dx%d frame with %zu bytes per row", path,
                 f->width, f->height, f->stride);
        return -1;
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct pngio_ctx c = {""};
    int rc = pngio_encode(fp, f, level < 0 ? 0 : level > 9 ? 9 : level, &c);
    long size = rc == 0 ? ftell(fp) : -1;
    if (fclose(fp) != 0 && rc == 0) {
        snprintf(c.msg, sizeof c.msg, "%s", strerror(errno));
        rc = -1;
    }
    if (rc != 0 || size < 0) {
        snprintf(err, errlen, "%s: %s", path, c.msg[0] ? c.msg : "write failed");
        return -1;
    }
    return size;
}

/* Opens path and checks the 8-byte PNG signature. Returns the file, or
 * NULL with a reason in err. */
static FILE *pngio_open(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    png_byte sig[8];
    if (fread(sig, 1, sizeof sig, fp) != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        snprintf(err, errlen, "%s: not a PNG file", path);
        fclose(fp);
        return NULL;
    }
    return fp;
}

/* The reading shared by probe and read: header into in, and with buf the
 * pixels as format. Returns 0, or -1 with c->msg set. */
static int pngio_decode(FILE *fp, struct pngio_info *in, enum cam_format format, uint8_t *buf,
                        int want_w, int want_h, struct pngio_ctx *c)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, pngio_on_error,
                                             pngio_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    /* Row pointers are made before the setjmp: an error jumps past any
     * free that would follow it. */
    png_bytep *rows = buf ? malloc(sizeof *rows * (size_t)want_h) : NULL;
    if (!info || (buf && !rows)) {
        snprintf(c->msg, sizeof c->msg, "out of memory");
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        free(rows);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return -1;
    }
    png_init_io(png, fp);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, PNGIO_MAX_SIDE, PNGIO_MAX_SIDE);
    png_read_info(png, info);
    int type = png_get_color_type(png, info);
    in->width = (int)png_get_image_width(png, info);
    in->height = (int)png_get_image_height(png, info);
    in->bit_depth = png_get_bit_depth(png, info);
    in->gray = !(type & PNG_COLOR_MASK_COLOR);
    if (buf) {
        char why[120];
        if (pngio_check(in, format, why, sizeof why) != 0 || in->width != want_w ||
            in->height != want_h)
            png_error(png, in->width != want_w || in->height != want_h ? "unexpected size" : why);
        if (format == CAM_FORMAT_RGB8) {
            png_set_expand(png); /* palette to RGB, low-bit gray to 8 bits, tRNS to alpha */
            png_set_strip_16(png);
            png_set_strip_alpha(png);
            png_set_gray_to_rgb(png);
        } else if (format == CAM_FORMAT_Z16 && pngio_little_endian()) {
            png_set_swap(png);
        }
        png_set_interlace_handling(png);
        png_read_update_info(png, info);
        size_t row = pngio_bpp(format) * (size_t)want_w;
        if (png_get_rowbytes(png, info) != row)
            png_error(png, "unexpected row size after conversion");
        /* Interlaced files need every row at once; plain ones are read so too. */
        for (int y = 0; y < want_h; y++)
            rows[y] = buf + (size_t)y * row;
        png_read_image(png, rows);
        png_read_end(png, NULL);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return 0;
}

int pngio_probe(const char *path, struct pngio_info *out, char *err, size_t errlen)
{
    FILE *fp = pngio_open(path, err, errlen);
    if (!fp)
        return -1;
    struct pngio_ctx c = {""};
    int rc = pngio_decode(fp, out, CAM_FORMAT_Y8, NULL, 0, 0, &c);
    fclose(fp);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, c.msg);
    return rc;
}

int pngio_check(const struct pngio_info *in, enum cam_format format, char *err, size_t errlen)
{
    const char *kind = in->gray ? "gray" : "colour";
    if (format == CAM_FORMAT_Z16 && !(in->gray && in->bit_depth == 16)) {
        snprintf(err, errlen, "%d-bit %s; depth must be 16-bit gray", in->bit_depth, kind);
        return -1;
    }
    if (format == CAM_FORMAT_Y8 && !(in->gray && in->bit_depth == 8)) {
        snprintf(err, errlen, "%d-bit %s; infrared must be 8-bit gray", in->bit_depth, kind);
        return -1;
    }
    return 0;
}

int pngio_read(const char *path, enum cam_format format, int width, int height, uint8_t *buf,
               char *err, size_t errlen)
{
    FILE *fp = pngio_open(path, err, errlen);
    if (!fp)
        return -1;
    struct pngio_ctx c = {""};
    struct pngio_info in = {0};
    int rc = pngio_decode(fp, &in, format, buf, width, height, &c);
    fclose(fp);
    if (rc != 0) {
        if (strcmp(c.msg, "unexpected size") == 0)
            snprintf(err, errlen, "%s: %dx%d, not %dx%d", path, in.width, in.height, width,
                     height);
        else if (strcmp(c.msg, "Read Error") == 0) /* libpng's word for an early end */
            snprintf(err, errlen, "%s: the file is cut short", path);
        else
            snprintf(err, errlen, "%s: %s", path, c.msg);
    }
    return rc;
}
