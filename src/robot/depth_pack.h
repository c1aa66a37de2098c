/* depth_pack.h - the binary layout of metric depth frames on the "depth"
 * data channel: decimation, millimetre quantization, aligned colour,
 * compression (LZ4 block format over row deltas), and the chunks that keep
 * each message under the SCTP size every stack delivers.
 *
 * Layout (docs/PROTOCOL.md, "Depth channel"), all integers little-endian:
 *
 *   frame = header (DEPTH_PACK_HEADER_BYTES) | depth block | colour block
 *   header:
 *     0  "PHDF"          4  u8 version (1)   5 u8 depth codec   6 u8 colour codec  7 u8 0
 *     8  u64 frame number (the camera's)
 *     16 i64 capture time, CLOCK_REALTIME microseconds (the video marker's
 *            milliseconds are this / 1000 mod 2^32)
 *     24 i64 capture time, CLOCK_MONOTONIC microseconds
 *     32 u16 width, u16 height (of the decimated image)
 *     36 u16 decimation, u16 0
 *     40 f64 metres per sample unit (0.001: samples are millimetres)
 *     48 f64 fx, fy, ppx, ppy of the full-resolution depth stream (pixels)
 *     80 u32 depth block bytes, u32 colour block bytes
 *   depth samples: width x height u16 millimetres, row-major, 0 = no data;
 *     sample (i, j) is depth pixel (i * decimation, j * decimation).
 *     Codec 0: raw. Codec 2: each row delta-coded (first sample as is, then
 *     sample - previous, modulo 2^16), then the whole as one LZ4 block.
 *   colour (when asked): width x height R G B bytes, the colour pixel each
 *     sample lands on (deprojected, moved by the depth->colour extrinsics,
 *     projected, nearest pixel; black when it has no depth or falls off
 *     the colour image). Codec 0: none, 1: raw, 2: one LZ4 block.
 *
 *   message on the channel = chunk header (DEPTH_CHUNK_HEADER_BYTES) | data
 *     0 "PHDC"  4 u32 frame number mod 2^32  8 u16 index  10 u16 count
 *     12 u32 frame bytes; data is bytes [index * DEPTH_CHUNK_DATA ...) of the frame.
 *
 * Pure: no threads, no state; every function may run on any thread. */
#ifndef PORTHOLE_ROBOT_DEPTH_PACK_H
#define PORTHOLE_ROBOT_DEPTH_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "robot/camera.h"

#define DEPTH_PACK_VERSION 1
#define DEPTH_PACK_HEADER_BYTES 88
#define DEPTH_PACK_UNIT_M 0.001
#define DEPTH_PACK_MAX_DECIMATION 16
/* Whole messages of at most 16 KiB: what RFC 8831's interoperable senders
 * keep to, far under webrtcbin's and browsers' max-message-size. */
#define DEPTH_CHUNK_BYTES 16384
#define DEPTH_CHUNK_HEADER_BYTES 16
#define DEPTH_CHUNK_DATA (DEPTH_CHUNK_BYTES - DEPTH_CHUNK_HEADER_BYTES)

enum depth_codec { DEPTH_CODEC_RAW = 0, DEPTH_CODEC_DELTA_LZ4 = 2 };
enum depth_color_codec { DEPTH_COLOR_NONE = 0, DEPTH_COLOR_RAW = 1, DEPTH_COLOR_LZ4 = 2 };

/* What one packed frame says about itself. */
struct depth_frame_info {
    uint64_t number;
    int64_t wall_us, mono_us;
    int width, height, decimation;
    double unit_m;
    double fx, fy, ppx, ppy;
    int codec, color_codec;
    size_t depth_bytes, color_bytes;
};

/* The camera side of one frame: color/cin/d2c NULL for depth only. */
struct depth_pack_input {
    const struct cam_frame *depth;     /* Z16 */
    double depth_scale;                /* metres per Z16 unit */
    const struct cam_intrinsics *din;  /* of depth */
    const struct cam_frame *color;     /* RGB8, or NULL */
    const struct cam_intrinsics *cin;  /* of colour */
    const struct cam_extrinsics *d2c;  /* depth -> colour */
};

/* Size of the decimated image: ceil(n / decimation). */
int depth_pack_decimated(int n, int decimation);

/* Samples in millimetres of every decimation-th pixel of every
 * decimation-th row into mm (w x h, depth_pack_decimated of each side);
 * depth beyond 65.535 m saturates. decimation >= 1. */
void depth_pack_decimate(const struct cam_frame *depth, double depth_scale, int decimation,
                         uint16_t *mm);

/* The colour pixel under each sample of mm (w x h, decimated), as the
 * header comment says, into rgb (3 * w * h). */
void depth_pack_align_color(const uint16_t *mm, int w, int h, int decimation,
                            const struct depth_pack_input *in, uint8_t *rgb);

/* A packer's working buffers, kept from one frame to the next: frames of
 * one size pack without allocating (each buffer is 0.15 to 2 MB, which
 * glibc maps and unmaps per call above its mmap threshold, fixed at
 * 128 KiB by the robot: 0.2 to 0.4 ms a frame). Zero-initialise it; one
 * thread at a time. */
struct depth_packer {
    uint16_t *mm;          /* the decimated samples */
    uint8_t *le, *rgb;     /* the samples little-endian; the aligned colour */
    uint8_t *out;          /* the packed frame */
    size_t mm_cap, le_cap, rgb_cap, out_cap; /* what each holds room for (items) */
};

/* Packs one frame into pk: returns it (*len bytes, pk's memory, valid until
 * the next call on pk or depth_packer_free), or NULL when out of memory.
 * decimation is 1..DEPTH_PACK_MAX_DECIMATION (the caller clamps); colour
 * is included when in->color is set. */
const uint8_t *depth_packer_pack(struct depth_packer *pk, const struct depth_pack_input *in,
                                 int decimation, enum depth_codec codec, size_t *len);

/* Frees pk's buffers; pk is empty (zero) again. */
void depth_packer_free(struct depth_packer *pk);

/* The packers of a sender that packs up to DEPTH_PACKERS variants of each
 * frame (one per decimation and colour asked), kept from frame to frame so
 * that their buffers are reused, and freed once unused for
 * DEPTH_PACKER_IDLE_US: longer than the slowest link's period
 * (DEPTH_MIN_RATE, 1/s), so that the frames between two of a slow link's,
 * which pack nothing, keep them. Zero is an empty set. */
#define DEPTH_PACKERS 8
#define DEPTH_PACKER_IDLE_US 2500000
struct depth_packers {
    struct depth_packer p[DEPTH_PACKERS];
    int64_t used_us[DEPTH_PACKERS]; /* the last frame (capture time) each packed */
};

/* After packing the frame captured at now_us with p[0] .. p[used - 1]:
 * those are marked used, and the others unused for longer than
 * DEPTH_PACKER_IDLE_US give their memory back. */
void depth_packers_done(struct depth_packers *set, size_t used, int64_t now_us);

/* Frees every packer's buffers; set is empty again. */
void depth_packers_free(struct depth_packers *set);

/* The same as one call with a packer of its own: a new buffer (free()) of
 * *len bytes, or NULL when out of memory. */
uint8_t *depth_pack_frame(const struct depth_pack_input *in, int decimation,
                          enum depth_codec codec, size_t *len);

/* Reads and checks a packed frame: returns 0 with info filled and, when
 * mm / rgb are not NULL, new buffers (free()) of the samples and colour
 * (*rgb NULL without colour); -1 with a reason in err for anything
 * malformed (magic, version, sizes, codecs, a block that does not
 * decompress to its exact size). */
int depth_unpack_frame(const uint8_t *buf, size_t len, struct depth_frame_info *info,
                       uint16_t **mm, uint8_t **rgb, char *err, size_t errlen);

/* Chunks of a frame of len bytes. */
size_t depth_chunk_count(size_t len);

/* Writes chunk index of frame (len bytes, frame number number) into out
 * (DEPTH_CHUNK_BYTES at least); returns the message's bytes. */
size_t depth_chunk_write(uint8_t *out, const uint8_t *frame, size_t len, uint64_t number,
                         size_t index);

#endif
