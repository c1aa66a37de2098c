/* config.h - porthole-robot's settings: flags, environment variables,
 * defaults and validation, in one table (see common/opts.h). */
#ifndef PORTHOLE_ROBOT_CONFIG_H
#define PORTHOLE_ROBOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/log.h"
#include "common/netlist.h"

struct robot_config {
    const char *robot_id;      /* --robot-id, ROBOT_ID; NULL: "robot-<serial>" */
    const char *cloud_url;     /* --cloud-url, CLOUD_SIGNALING_URL: ws:// or wss:// URL */
    const char *camera;        /* --camera, ROBOT_CAMERA: a camera spec BACKEND[:ARG] that camera_spec_check accepts ("sim") */
    bool list_devices;         /* --list: print the camera backend's devices (camera_list_devices) and exit */
    long width, height, fps;   /* --width --height --fps (ROBOT_WIDTH...): 640x480@30; one of camera_backend_modes(camera), unused when the source decides */
    const char *codec;         /* --codec, ROBOT_CODEC: "vp8" (default) or "h264" */
    long bitrate_kbps;         /* --bitrate, ROBOT_BITRATE: 100..50000, default 2000 */
    long min_bitrate_kbps;     /* --min-bitrate, ROBOT_MIN_BITRATE: 50..50000, default 300 */
    long temporal_layers;      /* --temporal-layers, ROBOT_TEMPORAL_LAYERS: 1 or 3, default 3 */
    bool spatial_layer;        /* --spatial-layer, ROBOT_SPATIAL_LAYER: default true */
    const char *stun_server;   /* --stun-server, ROBOT_STUN_SERVER: stun://host:port or NULL */
    const char *turn_servers;  /* --turn-server, ROBOT_TURN_SERVERS: comma-separated turn(s)://user:pass@host:port, or NULL */
    const char *ice_allow;     /* --ice-allow, ROBOT_ICE_ALLOW: comma-separated addresses/CIDRs, or NULL (any) */
    struct netlist allow;      /* ice_allow parsed */
    double backoff_initial_s;  /* --reconnect-min, ROBOT_RECONNECT_MIN: 0.5 (0.01..60) */
    double backoff_max_s;      /* --reconnect-max, ROBOT_RECONNECT_MAX: 30 (>= min, <= 3600) */
    long ping_interval_s;      /* --ping-interval, ROBOT_PING_INTERVAL: 15 (1..3600); dead link detected within ~2x */
    long max_sessions;         /* --max-sessions, ROBOT_MAX_SESSIONS: 32 (1..256) */
    long max_message;          /* --max-message, ROBOT_MAX_MESSAGE: 64 KiB (1 KiB..16 MiB): larger signaling messages close the link */
    long session_timeout_s;    /* --session-timeout, ROBOT_SESSION_TIMEOUT: 30 (1..600): a session not connected by then is closed */
    long api_port;             /* --api-port, ROBOT_API_PORT: 8000 (0: no REST API) */
    const char *api_bind;      /* --api-bind, ROBOT_API_BIND: "127.0.0.1"; an IPv4/IPv6 address, "" or "*": all */
    bool cloud_api;            /* --cloud-api, ROBOT_CLOUD_API: serve the API through the cloud (robot-request); default on */
    long api_max_body;         /* --api-max-body, ROBOT_API_MAX_BODY: 64 KiB (1 KiB..16 MiB): larger request bodies get 413 */
    bool no_depth_channel;     /* --no-depth-channel: refuse metric depth channels, as a camera without depth does */
    bool tls_insecure;         /* --tls-insecure, ROBOT_TLS_INSECURE: accept any wss certificate (testing only) */
    const char *token;         /* ROBOT_TOKEN (no flag: argv is visible to every user): the robot's token (a JWT), or NULL */
    const char *token_file;    /* --token-file, ROBOT_TOKEN_FILE: a file holding it, re-read at every connect; not with ROBOT_TOKEN */
    long max_remote_candidates;/* --max-remote-candidates, ROBOT_MAX_REMOTE_CANDIDATES: 64 (1..1024) per session */
    long max_sessions_per_viewer; /* --max-sessions-per-viewer, ROBOT_MAX_SESSIONS_PER_VIEWER: 8 (1..256), per caller sub (clientId without auth) */
    const char *api_token;     /* --api-token, ROBOT_API_TOKEN: the Bearer token every REST request needs, or NULL */
    const char *api_token_file;/* --api-token-file, ROBOT_API_TOKEN_FILE: a file holding it (read at start); not with api_token */
    const char *api_allowed_origins; /* --api-allowed-origins, ROBOT_API_ALLOWED_ORIGINS: comma-separated browser origins (none: refuse every Origin) */
    bool api_loopback;         /* derived: api_bind is a loopback address (then Host must name loopback) */
    const char *record;        /* --record, ROBOT_RECORD: a new or empty directory to record every captured stream to (recorder.h), or NULL */
    long record_max_seconds;   /* --record-max-seconds, ROBOT_RECORD_MAX_SECONDS: 600 (1..604800): recording stops after this much capture time */
    long record_max_mb;        /* --record-max-mb, ROBOT_RECORD_MAX_MB: 2048 (1..1048576) MiB of PNG files: recording stops past it */
    enum log_level log_level;  /* --log-level, LOG_LEVEL */
    enum log_format log_format;/* --log-format, LOG_FORMAT */
};

/* Fills cfg with the defaults. */
void robot_config_defaults(struct robot_config *cfg);

enum robot_config_result { ROBOT_CONFIG_OK, ROBOT_CONFIG_HELP, ROBOT_CONFIG_VERSION, ROBOT_CONFIG_ERROR };

/* Applies environment then argv on top of cfg and validates the whole
 * (URL scheme and syntax, robot id syntax, the camera spec, a resolution
 * the camera supports, backoff min <= max, the allow-list, one source per token, the
 * origins' syntax, and an API token whenever the API listens beyond
 * loopback). On ROBOT_CONFIG_ERROR err holds one line naming the flag or
 * variable, the value (never a secret's) and what is accepted. */
enum robot_config_result robot_config_parse(struct robot_config *cfg, int argc, char **argv,
                                            char *err, size_t errlen);

/* Prints --help to out. */
void robot_config_help(FILE *out, const struct robot_config *defaults);

#endif
