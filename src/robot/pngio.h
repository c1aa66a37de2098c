/* pngio.h - camera frames to and from PNG files (libpng), losslessly:
 * RGB8 as 8-bit RGB, Z16 as 16-bit gray, Y8 as 8-bit gray.
 *
 * Z16 values are stored exactly (PNG keeps 16-bit samples big-endian; the
 * swap to and from native order is done here), so a depth frame read back
 * is bit for bit the frame written. No state and no threads of its own:
 * every function may run on any thread. */
#ifndef PORTHOLE_ROBOT_PNGIO_H
#define PORTHOLE_ROBOT_PNGIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "robot/camera.h"

/* Largest width or height read or written. */
#define PNGIO_MAX_SIDE 8192

/* What a PNG file holds, from its header. */
struct pngio_info {
    int width, height;
    int bit_depth;  /* 1, 2, 4, 8 or 16 */
    bool gray;      /* no colour (gray or gray with alpha) */
};

/* Bytes per pixel of a frame format: 3, 2 or 1. */
size_t pngio_bpp(enum cam_format format);

/* Writes frame f to path (created or replaced) at zlib level (0..9; 1 is
 * fast and still about halves depth). Returns the bytes written, or -1 with
 * a one-line reason in err (a partial file may remain). */
long pngio_write(const char *path, const struct cam_frame *f, int level, char *err,
                 size_t errlen);

/* Reads the header of path. Returns 0, or -1 with a reason in err (missing,
 * not a PNG, truncated header, sides over PNGIO_MAX_SIDE). */
int pngio_probe(const char *path, struct pngio_info *out, char *err, size_t errlen);

/* Returns 0 when a file described by in can be read as format: Z16 needs
 * 16-bit gray, Y8 8-bit gray, RGB8 takes any PNG (gray, palette, alpha and
 * 16-bit samples are converted). Else -1 with the reason in err. */
int pngio_check(const struct pngio_info *in, enum cam_format format, char *err, size_t errlen);

/* Decodes path as format into buf, width * height * pngio_bpp(format)
 * bytes, rows packed; Z16 in native byte order. The file must be width x
 * height and pass pngio_check. Returns 0, or -1 with a reason in err (buf
 * is then partly written). */
int pngio_read(const char *path, enum cam_format format, int width, int height, uint8_t *buf,
               char *err, size_t errlen);

#endif
