/* config.c - porthole-robot's option table and the checks that span options. */
#include "robot/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/opts.h"
#include "common/strlist.h"
#include "robot/camera.h"

static const char *const config_codec_names[] = {"vp8", "h264", NULL};

#define ROBOT_ID_MAX 64

void robot_config_defaults(struct robot_config *cfg)
{
    *cfg = (struct robot_config){
        .robot_id = NULL,
        .cloud_url = "ws://localhost:3001/ws",
        .camera = "sim",
        .width = 640,
        .height = 480,
        .fps = 30,
        .codec = "vp8",
        .bitrate_kbps = 2000,
        .min_bitrate_kbps = 300,
        .temporal_layers = 3,
        .spatial_layer = true,
        .stun_server = NULL,
        .turn_servers = NULL,
        .ice_allow = NULL,
        .backoff_initial_s = 0.5,
        .backoff_max_s = 30,
        .ping_interval_s = 15,
        .max_sessions = 32,
        .max_message = 64 * 1024,
        .session_timeout_s = 30,
        .api_port = 8000,
        .api_bind = "127.0.0.1",
        .api_max_body = 64 * 1024,
        .cloud_api = true,
        .tls_insecure = false,
        .token = NULL,
        .token_file = NULL,
        .max_remote_candidates = 64,
        .max_sessions_per_viewer = 8,
        .api_token = NULL,
        .api_token_file = NULL,
        .api_allowed_origins = NULL,
        .api_loopback = true,
        .record = NULL,
        .record_max_seconds = 600,
        .record_max_mb = 2048,
        .log_level = LOGL_INFO,
        .log_format = LOG_FORMAT_TEXT,
    };
}

enum { OPTION_COUNT = 38 };

/* The modes of camera spec camera (the first backend's for an unknown
 * name); nresolutions 0 when the source decides. */
static const struct cam_modes *config_modes(const char *camera)
{
    const struct cam_modes *m = camera_backend_modes(camera);
    return m ? m : camera_backend_modes(camera_backend_names()[0]);
}

/* Writes modes' resolutions ("640x480, 1280x720 or 424x240") or, with
 * rates, its frame rates into buf: ", " between items, last before the
 * last one. Truncated to fit. */
static void config_list_modes(const struct cam_modes *m, bool rates, const char *last, char *buf,
                              size_t len)
{
    size_t n = rates ? m->nrates : m->nresolutions, o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char item[32];
        if (rates)
            snprintf(item, sizeof item, "%d", m->rates[i]);
        else
            snprintf(item, sizeof item, "%dx%d", m->resolutions[i][0], m->resolutions[i][1]);
        int w = snprintf(buf + o, len - o, "%s%s", i == 0 ? "" : i + 1 == n ? last : ", ", item);
        if (w < 0 || (size_t)w >= len - o)
            return;
        o += (size_t)w;
    }
}

/* The help lines of --camera, --width and --fps, which name the backends
 * and the camera's modes. */
struct config_help {
    char camera[640], width[200], fps[200];
};

static void config_help_text(const char *camera, struct config_help *help)
{
    char list[128];
    const struct cam_modes *modes = config_modes(camera);
    snprintf(help->camera, sizeof help->camera, "camera spec BACKEND[:ARG], one of: %s",
             camera_backends_text());
    if (modes->nresolutions == 0) {
        snprintf(help->width, sizeof help->width, "frame width (unused: this camera's source "
                 "sets the size; put caps in its pipeline)");
        snprintf(help->fps, sizeof help->fps, "frames per second (unused: set by the source)");
        return;
    }
    config_list_modes(modes, false, " or ", list, sizeof list);
    snprintf(help->width, sizeof help->width, "frame width: %s with --height (gst, v4l2 and "
             "rtsp sources set their own)", list);
    config_list_modes(modes, true, " or ", list, sizeof list);
    snprintf(help->fps, sizeof help->fps, "frames per second: %s", list);
}

/* The table points into cfg, log level and format into the two strings
 * (the enums are converted after parsing) and two help lines into help,
 * so it is built per call. */
static void option_table(struct robot_config *cfg, const char **level, const char **format,
                         const struct config_help *help, struct opt out[OPTION_COUNT])
{
    const struct opt table[OPTION_COUNT] = {
        {.name = "robot-id", .env = {"ROBOT_ID"}, .type = OPT_STRING, .target = &cfg->robot_id,
         .metavar = "ID",
         .help = "name of this robot at the cloud (none: robot-<camera serial>)"},
        {.name = "cloud-url", .env = {"CLOUD_SIGNALING_URL"}, .type = OPT_STRING,
         .target = &cfg->cloud_url, .metavar = "URL",
         .help = "porthole-cloud's WebSocket: ws://HOST[:PORT]/PATH or wss://..."},
        {.name = "camera", .env = {"ROBOT_CAMERA"}, .type = OPT_STRING, .target = &cfg->camera,
         .metavar = "SPEC", .help = help->camera},
        {.name = "list", .type = OPT_BOOL, .target = &cfg->list_devices,
         .help = "print the devices the camera backend can open (realsense: serial, name, "
                 "firmware) and exit"},
        {.name = "width", .env = {"ROBOT_WIDTH"}, .type = OPT_INT, .target = &cfg->width,
         .min = 1, .max = 8192, .metavar = "PIXELS", .help = help->width},
        {.name = "height", .env = {"ROBOT_HEIGHT"}, .type = OPT_INT, .target = &cfg->height,
         .min = 1, .max = 8192, .metavar = "PIXELS", .help = "frame height"},
        {.name = "fps", .env = {"ROBOT_FPS"}, .type = OPT_INT, .target = &cfg->fps, .min = 1,
         .max = 1000, .metavar = "N", .help = help->fps},
        {.name = "codec", .env = {"ROBOT_CODEC"}, .type = OPT_STRING, .target = &cfg->codec,
         .choices = config_codec_names, .metavar = "CODEC",
         .help = "video codec of every stream"},
        {.name = "bitrate", .env = {"ROBOT_BITRATE"}, .type = OPT_INT,
         .target = &cfg->bitrate_kbps, .min = 100, .max = 50000, .metavar = "KBPS",
         .help = "the most an encoder sends, in kbit/s: its bitrate follows the best "
                 "viewer's bandwidth estimate up to this"},
        {.name = "min-bitrate", .env = {"ROBOT_MIN_BITRATE"}, .type = OPT_INT,
         .target = &cfg->min_bitrate_kbps, .min = 50, .max = 50000, .metavar = "KBPS",
         .help = "the least an encoder's bitrate falls to when its best viewer's link is slow "
                 "(at most --bitrate)"},
        {.name = "temporal-layers", .env = {"ROBOT_TEMPORAL_LAYERS"}, .type = OPT_INT,
         .target = &cfg->temporal_layers, .min = 1, .max = 3, .metavar = "N",
         .help = "VP8 temporal layers: 3 lets each viewer take 30, 15 or 7.5 fps of one "
                 "encode as its link allows; 1 turns the ladder off"},
        {.name = "spatial-layer", .env = {"ROBOT_SPATIAL_LAYER"}, .type = OPT_BOOL,
         .target = &cfg->spatial_layer, .metavar = "BOOL",
         .help = "with temporal layers, a half-size encode (started only while a viewer on a "
                 "slow link needs it)"},
        {.name = "stun-server", .env = {"ROBOT_STUN_SERVER"}, .type = OPT_STRING,
         .target = &cfg->stun_server, .metavar = "URL", .help = "STUN server, stun://HOST:PORT"},
        {.name = "turn-server", .env = {"ROBOT_TURN_SERVERS"}, .type = OPT_STRING,
         .target = &cfg->turn_servers, .metavar = "URLS",
         .help = "comma-separated turn://USER:PASS@HOST:PORT or turns://..."},
        {.name = "ice-allow", .env = {"ROBOT_ICE_ALLOW"}, .type = OPT_STRING,
         .target = &cfg->ice_allow, .metavar = "LIST",
         .help = "comma-separated addresses and CIDRs ICE may use (none: any)"},
        {.name = "reconnect-min", .env = {"ROBOT_RECONNECT_MIN"}, .type = OPT_DOUBLE,
         .target = &cfg->backoff_initial_s, .dmin = 0.01, .dmax = 60, .metavar = "SECONDS",
         .help = "first reconnect delay ceiling (doubles per attempt)"},
        {.name = "reconnect-max", .env = {"ROBOT_RECONNECT_MAX"}, .type = OPT_DOUBLE,
         .target = &cfg->backoff_max_s, .dmin = 0.01, .dmax = 3600, .metavar = "SECONDS",
         .help = "largest reconnect delay ceiling (>= --reconnect-min)"},
        {.name = "ping-interval", .env = {"ROBOT_PING_INTERVAL"}, .type = OPT_INT,
         .target = &cfg->ping_interval_s, .min = 1, .max = 3600, .metavar = "SECONDS",
         .help = "WebSocket ping period; a link silent for twice this is dropped"},
        {.name = "max-sessions", .env = {"ROBOT_MAX_SESSIONS"}, .type = OPT_INT,
         .target = &cfg->max_sessions, .min = 1, .max = 256, .metavar = "N",
         .help = "viewer sessions at once"},
        {.name = "max-message", .env = {"ROBOT_MAX_MESSAGE"}, .type = OPT_SIZE,
         .target = &cfg->max_message, .min = 1024, .max = 16L << 20, .metavar = "BYTES",
         .help = "largest signaling message accepted (the link is closed past it)"},
        {.name = "session-timeout", .env = {"ROBOT_SESSION_TIMEOUT"}, .type = OPT_INT,
         .target = &cfg->session_timeout_s, .min = 1, .max = 600, .metavar = "SECONDS",
         .help = "a session not connected by then is closed"},
        {.name = "api-port", .env = {"ROBOT_API_PORT"}, .type = OPT_INT, .target = &cfg->api_port,
         .max = 65535, .metavar = "PORT", .help = "TCP port of the REST API (0: none)"},
        {.name = "api-bind", .env = {"ROBOT_API_BIND"}, .type = OPT_STRING,
         .target = &cfg->api_bind, .metavar = "ADDR",
         .help = "address the REST API listens on (\"\" or \"*\": every interface)"},
        {.name = "api-max-body", .env = {"ROBOT_API_MAX_BODY"}, .type = OPT_SIZE,
         .target = &cfg->api_max_body, .min = 1024, .max = 16L << 20, .metavar = "BYTES",
         .help = "largest REST request body accepted (413 past it)"},
        {.name = "cloud-api", .env = {"ROBOT_CLOUD_API"}, .type = OPT_BOOL,
         .target = &cfg->cloud_api,
         .help = "answer REST API calls relayed by the cloud (robot-request); off: 403"},
        {.name = "no-depth-channel", .env = {"ROBOT_NO_DEPTH_CHANNEL"}, .type = OPT_BOOL,
         .target = &cfg->no_depth_channel,
         .help = "refuse metric depth data channels, as a camera without depth does "
                 "(the depth video is unaffected)"},
        {.name = "tls-insecure", .env = {"ROBOT_TLS_INSECURE"}, .type = OPT_BOOL,
         .target = &cfg->tls_insecure, .help = "accept any wss:// certificate (testing only)"},
        {.name = "token-file", .env = {"ROBOT_TOKEN_FILE"}, .type = OPT_STRING,
         .target = &cfg->token_file, .metavar = "PATH",
         .help = "file holding the robot's token, re-read at every connect (or set "
                 "ROBOT_TOKEN)"},
        {.name = "max-remote-candidates", .env = {"ROBOT_MAX_REMOTE_CANDIDATES"},
         .type = OPT_INT, .target = &cfg->max_remote_candidates, .min = 1, .max = 1024,
         .metavar = "N", .help = "remote ICE candidates a session takes at most"},
        {.name = "max-sessions-per-viewer", .env = {"ROBOT_MAX_SESSIONS_PER_VIEWER"},
         .type = OPT_INT, .target = &cfg->max_sessions_per_viewer, .min = 1, .max = 256,
         .metavar = "N",
         .help = "sessions at once per viewer (token subject, or clientId without auth)"},
        {.name = "api-token", .env = {"ROBOT_API_TOKEN"}, .type = OPT_STRING,
         .target = &cfg->api_token, .metavar = "TOKEN", .secret = true,
         .help = "Bearer token every REST request needs (required off loopback)"},
        {.name = "api-token-file", .env = {"ROBOT_API_TOKEN_FILE"}, .type = OPT_STRING,
         .target = &cfg->api_token_file, .metavar = "PATH",
         .help = "file holding the REST API's Bearer token (read at start)"},
        {.name = "api-allowed-origins", .env = {"ROBOT_API_ALLOWED_ORIGINS"},
         .type = OPT_STRING, .target = &cfg->api_allowed_origins, .metavar = "LIST",
         .help = "comma-separated browser origins the REST API serves (none: no web page)"},
        {.name = "record", .env = {"ROBOT_RECORD"}, .type = OPT_STRING, .target = &cfg->record,
         .metavar = "DIR",
         .help = "record every captured stream to DIR (new or empty; TUM RGB-D layout, PNG)"},
        {.name = "record-max-seconds", .env = {"ROBOT_RECORD_MAX_SECONDS"}, .type = OPT_INT,
         .target = &cfg->record_max_seconds, .min = 1, .max = 604800, .metavar = "SECONDS",
         .help = "recording stops after this much capture time"},
        {.name = "record-max-mb", .env = {"ROBOT_RECORD_MAX_MB"}, .type = OPT_INT,
         .target = &cfg->record_max_mb, .min = 1, .max = 1048576, .metavar = "MIB",
         .help = "recording stops once its files pass this many MiB"},
        {.name = "log-level", .short_name = 'l', .env = {"LOG_LEVEL"}, .type = OPT_STRING,
         .target = level, .choices = log_level_names, .metavar = "LEVEL",
         .help = "least severe level logged"},
        {.name = "log-format", .env = {"LOG_FORMAT"}, .type = OPT_STRING, .target = format,
         .choices = log_format_names, .metavar = "FORMAT",
         .help = "log lines as text or as JSON objects"},
    };
    memcpy(out, table, sizeof(table));
}

/* Names what set option o: its flag when argv gives it, else its variable
 * when that is set, else the flag (the value is a default). */
static void config_origin(const struct opt *o, int argc, char **argv, char *buf, size_t len)
{
    size_t n = strlen(o->name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, o->name, n) == 0 &&
            (a[2 + n] == '\0' || a[2 + n] == '=')) {
            snprintf(buf, len, "--%s", o->name);
            return;
        }
    }
    for (size_t e = 0; e < 3 && o->env[e] != NULL; e++) {
        const char *v = getenv(o->env[e]);
        if (v != NULL && v[0] != '\0') {
            snprintf(buf, len, "%s", o->env[e]);
            return;
        }
    }
    snprintf(buf, len, "--%s", o->name);
}

static bool config_host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* True when url is ws://HOST[:PORT][/PATH] or wss://...: HOST a name, an
 * IPv4 address or a bracketed IPv6 address; PORT 1..65535. */
static bool config_valid_ws_url(const char *url)
{
    const char *p;
    if (strncmp(url, "ws://", 5) == 0)
        p = url + 5;
    else if (strncmp(url, "wss://", 6) == 0)
        p = url + 6;
    else
        return false;
    for (const char *c = url; *c != '\0'; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return false;
    const char *host = p;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL || close == p + 1)
            return false;
        for (const char *c = p + 1; c < close; c++)
            if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                return false;
        p = close + 1;
    } else {
        while (config_host_char(*p))
            p++;
        if (p == host)
            return false;
    }
    if (*p == ':') {
        p++;
        long port = 0;
        const char *digits = p;
        while (isdigit((unsigned char)*p) && p - digits < 6)
            port = port * 10 + (*p++ - '0');
        if (p == digits || port < 1 || port > 65535)
            return false;
    }
    return *p == '\0' || *p == '/' || *p == '?';
}

/* Checks every comma-separated item of list starts with one of the two
 * schemes and has more after it. Returns 0, or -1 with the bad item in bad. */
static int config_check_urls(const char *list, const char *scheme1, const char *scheme2,
                             char *bad, size_t badlen)
{
    const char *cursor = list;
    struct strlist_item it;
    size_t l1 = strlen(scheme1), l2 = scheme2 != NULL ? strlen(scheme2) : 0;
    while (strlist_next(&cursor, &it)) {
        const char *a = it.ptr;
        size_t len = it.len;
        bool ok = (len > l1 && strncmp(a, scheme1, l1) == 0) ||
                  (scheme2 != NULL && len > l2 && strncmp(a, scheme2, l2) == 0);
        for (size_t i = 0; ok && i < len; i++)
            if ((unsigned char)a[i] <= 0x20 || a[i] == 0x7f)
                ok = false;
        if (!ok) {
            char item[72];
            snprintf(item, sizeof item, "%.*s", (int)(len > 64 ? 64 : len), a);
            opts_quote(item, bad, badlen);
            return -1;
        }
    }
    return 0;
}

/* Finds the table entry of a flag name. */
static const struct opt *config_opt(const struct opt *table, const char *name)
{
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/* Checks --width, --height and --fps against the camera backend's modes.
 * Returns 0, or -1 with err filled. */
static int config_check_mode(const struct robot_config *cfg, const struct opt *table, int argc,
                             char **argv, char *err, size_t errlen)
{
    const struct cam_modes *modes = config_modes(cfg->camera);
    bool mode_ok = false, fps_ok = false;
    char list[128], who[64], who2[64];
    if (modes->nresolutions == 0)
        return 0; /* the source decides; main logs when the request differs */
    for (size_t i = 0; i < modes->nresolutions; i++)
        mode_ok |= cfg->width == modes->resolutions[i][0] &&
                   cfg->height == modes->resolutions[i][1];
    if (!mode_ok) {
        config_origin(config_opt(table, "width"), argc, argv, who, sizeof who);
        config_origin(config_opt(table, "height"), argc, argv, who2, sizeof who2);
        config_list_modes(modes, false, ", ", list, sizeof list);
        snprintf(err, errlen, "%s and %s: %ldx%ld is not a supported resolution (%s)", who, who2,
                 cfg->width, cfg->height, list);
        return -1;
    }
    for (size_t i = 0; i < modes->nrates; i++)
        fps_ok |= cfg->fps == modes->rates[i];
    if (!fps_ok) {
        config_origin(config_opt(table, "fps"), argc, argv, who, sizeof who);
        config_list_modes(modes, true, " or ", list, sizeof list);
        snprintf(err, errlen, "%s: '%ld' is not a supported frame rate (%s)", who, cfg->fps,
                 list);
        return -1;
    }
    return 0;
}

/* True when bind (an address, or "" for every interface) is loopback only. */
static bool config_is_loopback(const char *bind)
{
    unsigned char a[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, bind, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, bind, a) != 1)
        return false;
    static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
    static const unsigned char one[16] = {[15] = 1};
    return memcmp(a, one, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
}

/* True when item (len bytes) is a browser origin: http:// or https://,
 * then a host of letters, digits, '.', '-', or a bracketed IPv6 address,
 * and an optional :PORT; no path, no trailing slash. */
static bool config_valid_origin(const char *item, size_t len)
{
    size_t at;
    if (len > 7 && strncmp(item, "http://", 7) == 0)
        at = 7;
    else if (len > 8 && strncmp(item, "https://", 8) == 0)
        at = 8;
    else
        return false;
    size_t host = at;
    if (item[at] == '[') {
        while (at < len && item[at] != ']')
            at++;
        if (at == len)
            return false;
        at++;
    } else {
        while (at < len && (isalnum((unsigned char)item[at]) || item[at] == '.' ||
                            item[at] == '-'))
            at++;
        if (at == host)
            return false;
    }
    if (at < len && item[at] == ':') {
        size_t digits = ++at;
        while (at < len && isdigit((unsigned char)item[at]))
            at++;
        if (at == digits || at - digits > 5)
            return false;
    }
    return at == len;
}

/* The checks of who may reach the robot: one source per token, origins,
 * and a token whenever the REST API listens beyond loopback. Returns 0, or
 * -1 with err filled (never quoting a secret). */
static int config_validate_access(struct robot_config *cfg, const struct opt *table, int argc,
                                  char **argv, char *err, size_t errlen)
{
    char who[64], who2[64], q[72];
#define ORIGIN(name, buf) config_origin(config_opt(table, name), argc, argv, buf, sizeof buf)
    const char *env_token = getenv("ROBOT_TOKEN");
    cfg->token = env_token && env_token[0] ? env_token : NULL;
    if (cfg->token_file && !cfg->token_file[0])
        cfg->token_file = NULL;
    if (cfg->token && cfg->token_file) {
        ORIGIN("token-file", who);
        snprintf(err, errlen, "%s and ROBOT_TOKEN are both set: give the robot's token one way",
                 who);
        return -1;
    }
    if (cfg->api_token && !cfg->api_token[0])
        cfg->api_token = NULL;
    if (cfg->api_token_file && !cfg->api_token_file[0])
        cfg->api_token_file = NULL;
    if (cfg->api_token && cfg->api_token_file) {
        ORIGIN("api-token", who);
        ORIGIN("api-token-file", who2);
        snprintf(err, errlen, "%s and %s are both set: give the API's token one way", who, who2);
        return -1;
    }
    if (cfg->api_token && strlen(cfg->api_token) < 16) {
        ORIGIN("api-token", who);
        snprintf(err, errlen, "%s: the token is %zu characters; at least 16 are required", who,
                 strlen(cfg->api_token));
        return -1;
    }
    if (cfg->api_allowed_origins && !cfg->api_allowed_origins[0])
        cfg->api_allowed_origins = NULL;
    const char *cursor = cfg->api_allowed_origins;
    struct strlist_item it;
    while (cursor && strlist_next(&cursor, &it)) {
        if (!config_valid_origin(it.ptr, it.len)) {
            ORIGIN("api-allowed-origins", who);
            char item[72];
            snprintf(item, sizeof item, "%.*s", (int)(it.len > 64 ? 64 : it.len), it.ptr);
            opts_quote(item, q, sizeof q);
            snprintf(err, errlen, "%s: '%s' is not an origin (http://HOST[:PORT] or "
                     "https://HOST[:PORT], without a path)", who, q);
            return -1;
        }
    }
    cfg->api_loopback = cfg->api_bind[0] != '\0' && config_is_loopback(cfg->api_bind);
    if (cfg->api_port > 0 && !cfg->api_loopback && !cfg->api_token && !cfg->api_token_file) {
        ORIGIN("api-bind", who);
        snprintf(err, errlen, "%s: '%s' makes the REST API reachable beyond this host; give it "
                 "a credential with --api-token, ROBOT_API_TOKEN or --api-token-file (or bind "
                 "127.0.0.1)", who, cfg->api_bind[0] ? cfg->api_bind : "*");
        return -1;
    }
#undef ORIGIN
    return 0;
}

/* The checks no single option can make. Returns 0, or -1 with err filled. */
static int config_validate(struct robot_config *cfg, const struct opt *table, int argc,
                           char **argv, char *err, size_t errlen)
{
    char who[64], who2[64], q[72];
#define ORIGIN(name, buf) config_origin(config_opt(table, name), argc, argv, buf, sizeof buf)

    if (cfg->robot_id != NULL && !ids_valid_name(cfg->robot_id, ROBOT_ID_MAX)) {
        ORIGIN("robot-id", who);
        opts_quote(cfg->robot_id, q, sizeof q);
        snprintf(err, errlen,
                 "%s: '%s' is not a robot id (1 to 64 characters of A-Z a-z 0-9 . _ : @ -)",
                 who, q);
        return -1;
    }
    if (!config_valid_ws_url(cfg->cloud_url)) {
        ORIGIN("cloud-url", who);
        opts_quote(cfg->cloud_url, q, sizeof q);
        snprintf(err, errlen,
                 "%s: '%s' is not a WebSocket URL (ws://HOST[:PORT][/PATH] or "
                 "wss://HOST[:PORT][/PATH], port 1..65535)", who, q);
        return -1;
    }
    char nerr[300];
    if (camera_spec_check(cfg->camera, nerr, sizeof nerr) != 0) {
        ORIGIN("camera", who);
        snprintf(err, errlen, "%s: %s", who, nerr);
        return -1;
    }
    if (config_check_mode(cfg, table, argc, argv, err, errlen) != 0)
        return -1;
    if (cfg->backoff_initial_s > cfg->backoff_max_s) {
        ORIGIN("reconnect-min", who);
        ORIGIN("reconnect-max", who2);
        snprintf(err, errlen, "%s: %g is more than %s %g (the minimum must not exceed the "
                 "maximum)", who, cfg->backoff_initial_s, who2, cfg->backoff_max_s);
        return -1;
    }
    if (cfg->temporal_layers == 2) {
        ORIGIN("temporal-layers", who);
        snprintf(err, errlen, "%s: 2 is not a ladder this robot encodes (1: none, 3: 30, 15 "
                 "and 7.5 fps)", who);
        return -1;
    }
    if (cfg->stun_server != NULL && cfg->stun_server[0] == '\0')
        cfg->stun_server = NULL;
    if (cfg->stun_server != NULL && (strchr(cfg->stun_server, ',') != NULL ||
        config_check_urls(cfg->stun_server, "stun://", NULL, q, sizeof q) != 0)) {
        ORIGIN("stun-server", who);
        opts_quote(cfg->stun_server, q, sizeof q);
        snprintf(err, errlen, "%s: '%s' is not a STUN server (stun://HOST:PORT)", who, q);
        return -1;
    }
    if (cfg->turn_servers != NULL && cfg->turn_servers[0] == '\0')
        cfg->turn_servers = NULL;
    if (cfg->turn_servers != NULL &&
        config_check_urls(cfg->turn_servers, "turn://", "turns://", q, sizeof q) != 0) {
        ORIGIN("turn-server", who);
        snprintf(err, errlen,
                 "%s: '%s' is not a TURN server (turn://USER:PASS@HOST:PORT or turns://...)",
                 who, q);
        return -1;
    }
    if (cfg->ice_allow != NULL && cfg->ice_allow[0] == '\0')
        cfg->ice_allow = NULL;
    if (netlist_parse(cfg->ice_allow, &cfg->allow, nerr, sizeof nerr) != 0) {
        ORIGIN("ice-allow", who);
        snprintf(err, errlen, "%s: %s", who, nerr);
        return -1;
    }
    if (cfg->api_bind != NULL && strcmp(cfg->api_bind, "*") == 0)
        cfg->api_bind = "";
    unsigned char addr[sizeof(struct in6_addr)];
    if (cfg->api_bind == NULL)
        cfg->api_bind = "";
    if (cfg->api_bind[0] != '\0' && inet_pton(AF_INET, cfg->api_bind, addr) != 1 &&
        inet_pton(AF_INET6, cfg->api_bind, addr) != 1) {
        ORIGIN("api-bind", who);
        opts_quote(cfg->api_bind, q, sizeof q);
        snprintf(err, errlen, "%s: '%s' is not an IPv4 or IPv6 address (\"\" or \"*\": every "
                 "interface)", who, q);
        return -1;
    }
#undef ORIGIN
    return config_validate_access(cfg, table, argc, argv, err, errlen);
}

enum robot_config_result robot_config_parse(struct robot_config *cfg, int argc, char **argv,
                                            char *err, size_t errlen)
{
    char dummy[8];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    /* The enums index the name lists, which are in the same order. */
    const char *level = log_level_names[cfg->log_level];
    const char *format = log_format_names[cfg->log_format];
    struct config_help help;
    config_help_text(cfg->camera, &help);
    struct opt table[OPTION_COUNT];
    option_table(cfg, &level, &format, &help, table);
    switch (opts_parse(table, OPTION_COUNT, argc, argv, err, errlen)) {
    case OPTS_OK:
        break;
    case OPTS_HELP:
        return ROBOT_CONFIG_HELP;
    case OPTS_VERSION:
        return ROBOT_CONFIG_VERSION;
    case OPTS_ERROR:
        return ROBOT_CONFIG_ERROR;
    }
    /* The option table restricts both to their choices already. */
    log_level_parse(level, &cfg->log_level);
    log_format_parse(format, &cfg->log_format);
    if (config_validate(cfg, table, argc, argv, err, errlen) != 0)
        return ROBOT_CONFIG_ERROR;
    return ROBOT_CONFIG_OK;
}

void robot_config_help(FILE *out, const struct robot_config *defaults)
{
    struct robot_config copy = *defaults;
    const char *level = log_level_names[copy.log_level];
    const char *format = log_format_names[copy.log_format];
    struct config_help help;
    config_help_text(copy.camera, &help);
    struct opt table[OPTION_COUNT];
    option_table(&copy, &level, &format, &help, table);
    opts_print_help(out,
                    "porthole-robot [OPTIONS]\n"
                    "Robot agent: dials out to porthole-cloud and streams its depth camera "
                    "over WebRTC.\n"
                    "Every option can also be set by the environment variable shown.",
                    table, OPTION_COUNT);
}
