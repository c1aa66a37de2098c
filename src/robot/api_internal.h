/* api_internal.h - what the REST API's files share: the state behind
 * struct api, one request as the route table hands it to a handler, and
 * each resource family's resolvers and handlers.
 *
 * Private to src/robot/api*.c; the rest of the robot sees api.h. api.c
 * routes (the table of endpoints), api_device.c answers devices, sensors
 * and options, api_streams.c streams and the point cloud, api_webrtc.c
 * WebRTC sessions. Main thread only, but for what struct api's lock
 * guards. */
#ifndef PORTHOLE_ROBOT_API_INTERNAL_H
#define PORTHOLE_ROBOT_API_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "robot/api.h"
#include "robot/pointcloud.h"

/* The point cloud is summarised from every 4th pixel of every 4th row:
 * 19,200 points at 640x480, a few tens of microseconds per frame. */
#define API_PC_DECIMATION 4

/* A frameset arriving more than this after the previous one starts a new
 * streaming run (its duration restarts). */
#define API_RUN_GAP_US (1000 * 1000)

/* The most {...} segments a route's path has. */
#define API_MAX_ARGS 4

struct api {
    struct camera *cam;
    struct media *media;
    struct api_sessions ops;
    void *user;
    json_t *sensors;         /* camera_describe(full)'s sensors, without options */

    /* Main thread. */
    unsigned held;           /* streams started with stream/start */
    json_t *configs;         /* the accepted stream/start configs, or NULL */
    const char *align_to;    /* a cam_stream_name, or NULL */
    bool pc_active;

    /* The capture thread writes these, the main thread reads them. */
    GMutex lock;
    gint64 run_start_us;     /* monotonic: first frameset of the current run */
    gint64 last_frame_us;
    gint64 win_start_us;
    unsigned win_frames;
    double fps;
    uint64_t pc_frames;
    int64_t pc_capture_wall_us;
    struct pointcloud_stats pc;
};

/* One request whose path matched a route. */
struct api_request {
    struct api *api;
    const struct api_caller *caller; /* NULL: the robot's own port */
    const char *method;
    const char *path;              /* without the query, for messages */
    const char *query;             /* after the '?', percent-encoded; "" for none */
    json_t *body;                  /* borrowed; NULL: no body */
    const char *arg[API_MAX_ARGS]; /* the path's {...} segments, in order */
    size_t nargs;
    /* What the resolvers found: */
    int sensor;                    /* {sensor}: its index in api->sensors */
    const char *sensor_id;         /* {sensor} as the path spells it */
    const struct cam_option_desc *option; /* {option} */
    /* For a handler that answers later (the offer). */
    api_reply_fn reply;
    void *ctx;
};

/* A route's handler: returns the status with the body in *out, or 0 when
 * it has undertaken to call rq->reply itself later (*out stays NULL). */
typedef int (*api_handler_fn)(struct api_request *rq, json_t **out);

/* Checks one {...} segment of a path before the method is: returns 0,
 * having noted in rq what it found, or 404 with the body in *out. */
typedef int (*api_resolve_fn)(struct api_request *rq, const char *seg, json_t **out);

/* ---- api_device.c: devices, sensors and options ---- */

/* {device}: this robot's camera, by serial. */
int api_device_resolve(struct api_request *rq, const char *seg, json_t **out);
/* {sensor}: "<serial>-sensor-<index>". */
int api_sensor_resolve(struct api_request *rq, const char *seg, json_t **out);
/* {option}: an option id of the resolved sensor. */
int api_option_resolve(struct api_request *rq, const char *seg, json_t **out);

/* True when id is this robot's device. */
bool api_device_is(const struct api *api, const char *id);
/* The 404 body for a device id that is not this robot's. */
json_t *api_device_unknown(const struct api *api, const char *id);
/* The index in api->sensors of sensor id, or -1. */
int api_sensor_find(const struct api *api, const char *id);
/* The 404 body for an unknown sensor id: names the sensors there are. */
json_t *api_sensor_unknown(const struct api *api, const char *id);

int api_device_list(struct api_request *rq, json_t **out);
int api_device_get(struct api_request *rq, json_t **out);
int api_device_reset(struct api_request *rq, json_t **out);
int api_sensor_list(struct api_request *rq, json_t **out);
int api_sensor_get(struct api_request *rq, json_t **out);
int api_option_list(struct api_request *rq, json_t **out);
int api_option_get(struct api_request *rq, json_t **out);
int api_option_put(struct api_request *rq, json_t **out);

/* ---- api_streams.c: streams and the point cloud ---- */

/* media's frames observer: keeps the frame rate and the point cloud's
 * summary. Runs on the capture thread; takes api->lock. */
void api_stream_on_frames(void *user, const struct cam_frameset *set);

int api_stream_start(struct api_request *rq, json_t **out);
int api_stream_stop(struct api_request *rq, json_t **out);
int api_stream_status(struct api_request *rq, json_t **out);
int api_pc_activate(struct api_request *rq, json_t **out);
int api_pc_deactivate(struct api_request *rq, json_t **out);
int api_pc_status(struct api_request *rq, json_t **out);

/* ---- api_webrtc.c: WebRTC sessions, through struct api_sessions ---- */

int api_webrtc_offer(struct api_request *rq, json_t **out);
int api_webrtc_answer(struct api_request *rq, json_t **out);
int api_webrtc_candidate(struct api_request *rq, json_t **out);
int api_session_list(struct api_request *rq, json_t **out);
int api_session_close_all(struct api_request *rq, json_t **out);
int api_session_get(struct api_request *rq, json_t **out);
int api_session_close(struct api_request *rq, json_t **out);

/* ---- api_whep.c: WHEP sessions (the viewer offers), through struct api_sessions ---- */

int api_whep_offer(struct api_request *rq, json_t **out);
int api_whep_trickle(struct api_request *rq, json_t **out);
int api_whep_delete(struct api_request *rq, json_t **out);

#endif
