/* rgbd_dir.h - the on-disk layout of a recording, which is the TUM RGB-D
 * benchmark's so that its public datasets replay too:
 *
 *   rgb/SECONDS.MICROS.png    colour, 8-bit RGB
 *   depth/SECONDS.MICROS.png  depth, 16-bit gray, in units of depthScale metres
 *   ir1/ ir2/                 infrared (left, right), 8-bit gray (not in TUM)
 *   rgb.txt depth.txt ir1.txt ir2.txt   "# comment" lines, then one
 *                             "TIMESTAMP FILE" line per frame, in time order
 *   associations.txt          "TIMESTAMP rgb/F.png TIMESTAMP depth/F.png"
 *                             per colour+depth pair (TUM's associate.py form)
 *   porthole.json             the sidecar: device, mode, depth scale and the
 *                             intrinsics of every stream
 *
 * Timestamps are seconds since the Unix epoch with six decimals. A
 * directory without the sidecar is read as TUM's: depth scale 1/5000 m and
 * TUM's intrinsics (RGBD_TUM_*). Pure functions over plain files; any
 * thread. */
#ifndef PORTHOLE_ROBOT_RGBD_DIR_H
#define PORTHOLE_ROBOT_RGBD_DIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "robot/camera.h"

#define RGBD_SIDECAR "porthole.json"
#define RGBD_ASSOCIATIONS "associations.txt"
/* TUM: "a pixel value of 5000 in the depth image corresponds to a distance
 * of 1 meter". */
#define RGBD_TUM_DEPTH_SCALE (1.0 / 5000.0)
/* TUM's depth images are registered to the colour camera by the OpenNI
 * driver, and TUM converts every dataset to points with these. */
#define RGBD_TUM_FOCAL 525.0
#define RGBD_TUM_CX 319.5
#define RGBD_TUM_CY 239.5
#define RGBD_TUM_FPS 30

/* "rgb", "depth", "ir1", "ir2": the folder of stream s. */
const char *rgbd_subdir(enum cam_stream s);
/* "rgb.txt", "depth.txt", "ir1.txt", "ir2.txt". */
const char *rgbd_list_name(enum cam_stream s);
/* The comment lines that open stream s's list, as TUM's do. */
const char *rgbd_list_header(enum cam_stream s);

/* "1305031102.175304" for 1305031102175304 us; out holds at least 32 bytes. */
void rgbd_stamp(int64_t us, char *out, size_t len);
/* Parses "SECONDS[.FRACTION]" (at most 6 decimals are kept, exactly, with
 * no floating point). Returns 0, or -1 for anything else. */
int rgbd_stamp_parse(const char *s, int64_t *us);

/* A stream's list: n frames, in the file's order. */
struct rgbd_list {
    size_t n;
    int64_t *stamp_us;
    char **file; /* as listed, relative to the directory */
};

/* Reads dir's list of stream s. Returns 0 (a missing list file is an
 * empty list), or -1 with "LIST line N: what is wrong" in err: a line that
 * is not "TIMESTAMP FILE", an absolute path or "..", stamps out of order.
 * Clear out with rgbd_list_clear either way. */
int rgbd_list_read(const char *dir, enum cam_stream s, struct rgbd_list *out, char *err,
                   size_t errlen);
void rgbd_list_clear(struct rgbd_list *l);

/* What the sidecar says, or the TUM defaults. */
struct rgbd_meta {
    char name[64], serial[32], firmware[32], product_id[8], usb_type[8];
    struct cam_mode mode;          /* 0 when unknown (no sidecar) */
    double depth_scale;            /* metres per depth unit; 0 for a camera without depth */
    struct cam_intrinsics intrinsics[CAM_NSTREAMS];
    bool has_intrinsics[CAM_NSTREAMS];
};

/* Writes dir/porthole.json for m, with extra (borrowed, may be NULL) as
 * its "recorded" member, through a temporary file and a rename, so a
 * reader never sees half of it. Returns 0, or -1 with a reason in err. */
int rgbd_meta_write(const char *dir, const struct rgbd_meta *m, json_t *extra, char *err,
                    size_t errlen);

/* Reads dir/porthole.json into m. Returns 0; 1 when there is none (m then
 * holds the TUM defaults: depth scale, intrinsics of RGBD_TUM_* for a
 * 640x480 frame, mode 0 for the caller to take from the images); or -1 with
 * "porthole.json: what is wrong" in err. */
int rgbd_meta_read(const char *dir, struct rgbd_meta *m, char *err, size_t errlen);

#endif
