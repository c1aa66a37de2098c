/* recorder.h - records a camera's framesets to a directory in the TUM
 * RGB-D layout (rgbd_dir.h): every captured stream as lossless PNG, with
 * the sidecar that says the device, mode, depth scale and intrinsics.
 *
 * The capture thread only copies a frameset into a bounded queue
 * (recorder_push); a writer thread of the recorder's own encodes and
 * writes it. When the queue is full the frameset is dropped and counted,
 * so recording never slows the capture. Recording stops by itself at the
 * limits (duration, bytes) or on a write error, logged once; the robot
 * carries on streaming.
 *
 * A stream's file is named by its frame's capture time; a stamp that does
 * not increase over the stream's previous one is moved 1 us after it, so
 * each list stays in strict time order.
 *
 * Threads: recorder_new/free on the robot's main thread, recorder_push on
 * the capture thread, recorder_stats on any thread. */
#ifndef PORTHOLE_ROBOT_RECORDER_H
#define PORTHOLE_ROBOT_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "robot/camera.h"

/* Framesets the queue holds: a second at 30 fps. */
#define RECORDER_QUEUE 30

struct recorder_limits {
    int64_t max_seconds; /* of capture time from the first frame; > 0 */
    int64_t max_bytes;   /* of PNG files written; > 0 */
};

enum recorder_state { RECORDER_RECORDING, RECORDER_LIMIT, RECORDER_FAILED };

struct recorder_stats {
    enum recorder_state state;
    uint64_t framesets;            /* written */
    uint64_t frames[CAM_NSTREAMS]; /* written, per stream */
    uint64_t dropped;              /* framesets dropped on a full queue */
    int64_t bytes;                 /* of PNG files written */
    double seconds;                /* capture time from the first frame to the last written */
};

struct recorder;

/* Creates directory dir (its parent must exist; an existing dir must be
 * empty), writes the sidecar for cam (borrowed; read here only) and starts
 * the writer thread. Returns NULL with a one-line reason in err. */
struct recorder *recorder_new(const char *dir, const struct camera *cam,
                              const struct recorder_limits *limits, char *err, size_t errlen);

/* Queues a copy of set, or drops it when the queue is full. A
 * media_frames_fn (user is the recorder): quick, never blocks on disk.
 * Capture thread. */
void recorder_push(void *user, const struct cam_frameset *set);

/* A consistent snapshot. Any thread. */
void recorder_stats(struct recorder *rec, struct recorder_stats *out);
/* "recording", "limit" (stopped at a limit) or "failed" (a write error). */
const char *recorder_state_name(enum recorder_state s);
const char *recorder_dir(const struct recorder *rec);

/* Writes what is queued, stops the writer thread and completes the
 * sidecar with what was recorded. recorder_push must not run during or
 * after this call. NULL is a no-op. */
void recorder_free(struct recorder *rec);

#endif
