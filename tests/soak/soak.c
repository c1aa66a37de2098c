/* soak.c - `make soak`: one porthole-robot (the ASan build) under SOAK_MINUTES
 * of random viewers, stream switches, REST calls and cloud restarts; fails
 * on any crash, sanitizer report, leak or growth.
 *
 * Runs inside the loopback-only network namespace (tests/netns-run.sh).
 * Starts $PORTHOLE_CLOUD and $PORTHOLE_ROBOT (its stderr goes to
 * $SOAK_LOG_DIR/robot.log, the cloud's to cloud.log) and then, until the
 * time is up, every 0.3 to 2 s picks one action at random:
 *   - a viewer joins (at most MAX_VIEWERS at once): a C WebRTC receiver
 *     (tests/support/rtcpeer.c) through the cloud, on one or two stream
 *     types, or one that opens its session over the robot's REST API;
 *   - a viewer leaves: close-session, or it just goes away (WebSocket
 *     closed; or, for a REST viewer, DELETE or silence);
 *   - a viewer switches to another stream type;
 *   - a REST call to the robot's API (devices, sensors, options, streams,
 *     point cloud, sessions, malformed requests) or through the cloud.
 * Every CLOUD_KILL_MIN_S..CLOUD_KILL_MAX_S the cloud gets SIGKILL and comes
 * back 1 to 5 s later on the same port; the robot re-registers and viewers
 * join again. The robot is never restarted. Every SOAK_SAMPLE_S (10 s) the
 * robot's RSS, threads and open files are read from /proc.
 *
 * It fails (exit 1) on: the robot exiting before the end, a sanitizer or
 * GLib assertion report in either log, the robot's or the cloud's exit
 * status after SIGTERM at the end (LeakSanitizer runs there), growth (see
 * soak_record.h), sessions left on the robot once every viewer has gone, a
 * REST call unanswered or answered with an unexpected status, the robot not
 * registering again after a cloud restart, or too many sessions that never
 * decoded a frame. Random but seeded: the seed is printed, SOAK_SEED
 * replays the same choices (timing still differs). Every wait is bounded;
 * an alarm ends the driver (and, through PR_SET_PDEATHSIG, its children)
 * if the run overstays by fifteen minutes. What is recorded and how it is
 * judged (the growth limits among it) is soak_record.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "soak_record.h"
#include "rtcpeer.h"
#include "testrng.h"
#include "wsclient.h"

#define MAX_VIEWERS 6
#define CLOUD_KILL_MIN_S 120
#define CLOUD_KILL_MAX_S 240
#define FIRST_FRAME_MS 30000   /* a session that decodes nothing by then is "stalled" */
#define REGISTER_MS 30000      /* the robot must be back at a restarted cloud by then */
#define API_TIMEOUT_MS 15000   /* an unanswered REST call fails the run */
/* Sessions must be gone this long after the last viewer left. A viewer that
 * vanishes (no close-session, no DELETE) before the robot has seen one RTCP
 * report from it is noticed only when SCTP gives up on it: 4.6 min seen. */
#define DRAIN_MS 360000
#define STOP_MS 60000          /* SIGTERM to exit, LeakSanitizer included */
static const char *const stream_names[] = {"color", "depth", "infrared-1", "infrared-2"};
#define NSTREAMS (sizeof stream_names / sizeof stream_names[0])

enum viewer_kind { VIEWER_CLOUD, VIEWER_REST };

struct viewer {
    struct rtcpeer *rtc;  /* NULL: a free slot */
    enum viewer_kind kind;
    bool multi;           /* two stream types: never switched */
    char *rest_sid;       /* VIEWER_REST: the robot's session id */
    int64_t born_ms;
    bool opened;          /* counted in stats.opened */
    bool streamed;        /* decoded a frame */
};

struct soak {
    uint64_t rng;
    unsigned long long seed;
    double minutes;
    int64_t start_ms, end_ms;
    char log_dir[512], robot_log[600], cloud_log[600];
    struct cloud cloud;
    int cloud_port;
    bool cloud_up, robot_listed;
    int64_t cloud_back_ms, next_kill_ms, cloud_restarted_ms;
    struct proc robot;
    bool robot_crashed;
    int robot_status;
    char robot_id[32], url[64];
    int api_port;
    char serial[64];
    int width, height, fps;
    struct viewer viewers[MAX_VIEWERS];
    int64_t next_sample_ms;
    struct soak_record rec;
};

static int64_t elapsed_s(const struct soak *s)
{
    return (wsc_now_ms() - s->start_ms) / 1000;
}

static size_t rnd(struct soak *s, size_t n)
{
    return testrng_below(&s->rng, n);
}

/* ---- processes ---- */

/* Runs start() with stderr sent to path (appended), so that the child
 * writes its log there; the driver's own stderr is restored after. */
static int with_stderr_to(const char *path, int (*start)(void *), void *arg)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "soak: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    int rc = start(arg);
    dup2(saved, 2);
    close(saved);
    close(fd);
    return rc;
}

static int start_cloud_cb(void *arg)
{
    struct soak *s = arg;
    char port[16];
    snprintf(port, sizeof port, "%d", s->cloud_port);
    const char *args[] = {"--port", port, NULL};
    return harness_start(&s->cloud, s->cloud_port ? args : NULL);
}

static int start_robot_cb(void *arg)
{
    struct soak *s = arg;
    char api[16];
    snprintf(api, sizeof api, "%d", s->api_port);
    const char *args[] = {"--cloud-url", s->url, "--robot-id", s->robot_id, "--ice-allow",
                          "127.0.0.1", "--reconnect-min", "0.1", "--reconnect-max", "1",
                          "--log-level", "info", "--api-port", api, NULL};
    return harness_start_robot(&s->robot, args);
}

/* A loopback port that was free a moment ago (the robot's API), or -1. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static bool robot_alive(struct soak *s)
{
    if (s->robot_crashed)
        return false;
    if (harness_proc_alive(&s->robot))
        return true;
    s->robot_crashed = true;
    s->robot_status = s->robot.status;
    soak_record_fail(&s->rec, "porthole-robot exited during the soak (status %d%s) after %llds; see %s",
         s->robot.status, s->robot.status > 128 ? ", a signal" : "",
         (long long)elapsed_s(s), s->robot_log);
    return false;
}

/* ---- the robot's REST API ---- */

/* One call; returns the status (0: no answer) and, when body_out is not
 * NULL, the parsed JSON body. Counts and judges it: ok_mask lists the
 * statuses expected besides 2xx (4xx bits: 1 << (status - 400)). */
static int api_call(struct soak *s, int port, const char *method, const char *path,
                    const char *body, unsigned ok_mask, bool allow_503, json_t **body_out)
{
    struct http_response r;
    s->rec.n.api_calls++;
    if (body_out)
        *body_out = NULL;
    if (http_request(port, method, path, NULL, body, API_TIMEOUT_MS, &r) != 0) {
        s->rec.n.api_unanswered++;
        soak_record_fail(&s->rec, "%s %s: no answer within %d ms", method, path, API_TIMEOUT_MS);
        return 0;
    }
    int status = r.status;
    bool ok = (status >= 200 && status < 300) ||
              (status >= 400 && status < 432 && (ok_mask & (1u << (status - 400)))) ||
              (status == 503 && allow_503);
    if (!ok) {
        s->rec.n.api_unexpected++;
        soak_record_fail(&s->rec, "%s %s: unexpected status %d: %.160s", method, path, status,
             r.body ? r.body : "");
    }
    if (body_out && r.body)
        *body_out = json_loads(r.body, 0, NULL);
    http_response_free(&r);
    return status;
}

#define BIT(st) (1u << ((st) - 400))

static const char *pathf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return buf;
}

/* The camera's serial and mode, for the paths and stream/start bodies. */
static int learn_device(struct soak *s)
{
    json_t *list = NULL;
    if (api_call(s, s->api_port, "GET", "/api/devices/", NULL, 0, false, &list) != 200)
        return -1;
    const char *serial = json_string_value(json_object_get(json_array_get(list, 0), "device_id"));
    snprintf(s->serial, sizeof s->serial, "%s", serial ? serial : "");
    json_decref(list);
    char p[256];
    json_t *st = NULL;
    api_call(s, s->api_port, "GET", pathf(p, sizeof p, "/api/devices/%s/stream/status", s->serial),
             NULL, 0, false, &st);
    json_t *res = json_object_get(st, "resolution");
    s->width = (int)json_integer_value(json_object_get(res, "width"));
    s->height = (int)json_integer_value(json_object_get(res, "height"));
    s->fps = (int)json_integer_value(json_object_get(st, "configured_framerate"));
    json_decref(st);
    return s->serial[0] && s->width > 0 && s->fps > 0 ? 0 : -1;
}

/* Sessions the robot lists, or -1. */
static int robot_sessions(struct soak *s)
{
    json_t *list = NULL;
    if (api_call(s, s->api_port, "GET", "/api/webrtc/sessions", NULL, 0, false, &list) != 200) {
        json_decref(list);
        return -1;
    }
    int n = json_is_array(list) ? (int)json_array_size(list) : -1;
    json_decref(list);
    return n;
}

/* One REST call picked at random (sessions are opened and closed by the
 * viewer actions). */
static void action_rest(struct soak *s)
{
    char p[256], b[512];
    const char *d = s->serial;
    switch (rnd(s, 13)) {
    case 0: api_call(s, s->api_port, "GET", "/api/devices/", NULL, 0, false, NULL); break;
    case 1:
        api_call(s, s->api_port, "GET", pathf(p, sizeof p, "/api/devices/%s/sensors/", d), NULL,
                 0, false, NULL);
        break;
    case 2:
        api_call(s, s->api_port, "GET",
                 pathf(p, sizeof p, "/api/devices/%s/sensors/%s-sensor-%zu/options/", d, d,
                       rnd(s, 2)), NULL, 0, false, NULL);
        break;
    case 3: { /* an option within its range: color_gain 0..128, gain 16..248 */
        bool color = rnd(s, 2);
        api_call(s, s->api_port, "PUT",
                 pathf(p, sizeof p, "/api/devices/%s/sensors/%s-sensor-%d/options/%s", d, d,
                       color ? 1 : 0, color ? "color_gain" : "gain"),
                 pathf(b, sizeof b, "{\"value\": %zu}", color ? rnd(s, 129) : 16 + rnd(s, 233)),
                 0, false, NULL);
        break;
    }
    case 4: /* malformed JSON and an out-of-range value */
        api_call(s, s->api_port, "PUT",
                 pathf(p, sizeof p, "/api/devices/%s/sensors/%s-sensor-1/options/brightness", d, d),
                 rnd(s, 2) ? "{\"value\": " : "{\"value\": 1000}", BIT(400) | BIT(422), false,
                 NULL);
        break;
    case 5:
        api_call(s, s->api_port, "GET", pathf(p, sizeof p, "/api/devices/%s/stream/status", d),
                 NULL, 0, false, NULL);
        break;
    case 6:
        api_call(s, s->api_port, "POST", pathf(p, sizeof p, "/api/devices/%s/stream/start", d),
                 pathf(b, sizeof b, "{\"configs\": [{\"sensor_id\": \"%s-sensor-0\", "
                       "\"stream_type\": \"depth\", \"format\": \"Z16\", \"resolution\": "
                       "{\"width\": %d, \"height\": %d}, \"framerate\": %d}]}",
                       d, s->width, s->height, s->fps), BIT(409), false, NULL);
        break;
    case 7:
        api_call(s, s->api_port, "POST", pathf(p, sizeof p, "/api/devices/%s/stream/stop", d),
                 NULL, BIT(409), false, NULL);
        break;
    case 8:
        api_call(s, s->api_port, "POST",
                 pathf(p, sizeof p, "/api/devices/%s/point_cloud/%s", d,
                       rnd(s, 2) ? "activate" : "deactivate"), NULL, 0, false, NULL);
        break;
    case 9:
        api_call(s, s->api_port, "GET", pathf(p, sizeof p, "/api/devices/%s/point_cloud/status", d),
                 NULL, 0, false, NULL);
        break;
    case 10: robot_sessions(s); break;
    case 11: api_call(s, s->api_port, "GET", "/api/nothing/here", NULL, BIT(404), false, NULL); break;
    default: /* through the cloud: 503 while the robot is not registered */
        if (s->cloud_up)
            api_call(s, s->cloud_port, "GET",
                     pathf(p, sizeof p, "/api/robots/%s/devices/", s->robot_id), NULL,
                     BIT(404), true, NULL);
        break;
    }
}

/* ---- viewers ---- */

static int viewer_count(const struct soak *s)
{
    int n = 0;
    for (int i = 0; i < MAX_VIEWERS; i++)
        n += s->viewers[i].rtc != NULL;
    return n;
}

static struct viewer *free_slot(struct soak *s)
{
    for (int i = 0; i < MAX_VIEWERS; i++)
        if (!s->viewers[i].rtc)
            return &s->viewers[i];
    return NULL;
}

/* A random occupied slot that passes want (NULL: any), or NULL. */
static struct viewer *pick_viewer(struct soak *s, bool (*want)(const struct viewer *))
{
    struct viewer *c[MAX_VIEWERS];
    size_t n = 0;
    for (int i = 0; i < MAX_VIEWERS; i++)
        if (s->viewers[i].rtc && (!want || want(&s->viewers[i])))
            c[n++] = &s->viewers[i];
    return n ? c[rnd(s, n)] : NULL;
}

static void viewer_drop(struct soak *s, struct viewer *v)
{
    if (v->opened)
        s->rec.n.closed++;
    rtcpeer_free(v->rtc);
    free(v->rest_sid);
    memset(v, 0, sizeof *v);
    (void)s;
}

static void join_cloud(struct soak *s, struct viewer *v)
{
    char types[64];
    v->multi = rnd(s, 5) == 0;
    size_t a = rnd(s, NSTREAMS), b = (a + 1 + rnd(s, NSTREAMS - 1)) % NSTREAMS;
    if (v->multi)
        snprintf(types, sizeof types, "[\"%s\",\"%s\"]", stream_names[a], stream_names[b]);
    else
        snprintf(types, sizeof types, "[\"%s\"]", stream_names[a]);
    struct rtcpeer_opts o = {.cloud_url = s->url, .robot_id = s->robot_id,
                             .stream_types_json = types};
    v->rtc = rtcpeer_new_opts(&o);
    v->kind = VIEWER_CLOUD;
}

/* POST /api/webrtc/offer, a receiver answering it, POST /api/webrtc/answer. */
static void join_rest(struct soak *s, struct viewer *v)
{
    char body[128];
    snprintf(body, sizeof body, "{\"stream_types\": [\"%s\"]}", stream_names[rnd(s, NSTREAMS)]);
    json_t *o = NULL;
    if (api_call(s, s->api_port, "POST", "/api/webrtc/offer", body, 0, true, &o) != 200) {
        json_decref(o);
        return;
    }
    const char *sid = json_string_value(json_object_get(o, "session_id"));
    const char *sdp = json_string_value(json_object_get(o, "sdp"));
    if (!sid || !sdp) {
        soak_record_fail(&s->rec, "POST /api/webrtc/offer: no session_id or sdp");
        json_decref(o);
        return;
    }
    v->rtc = rtcpeer_new_opts(&(struct rtcpeer_opts){.offer_sdp = sdp});
    v->kind = VIEWER_REST;
    v->rest_sid = strdup(sid);
    v->opened = true;
    s->rec.n.opened++;
    s->rec.n.opened_rest++;
    json_decref(o);
    const char *answer = rtcpeer_wait_local_answer(v->rtc, 10000);
    if (!answer)
        return; /* counted as stalled when no frame comes */
    json_t *req = json_pack("{s:s, s:s, s:s}", "session_id", v->rest_sid, "sdp", answer, "type",
                            "answer");
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    /* 404: the robot ended the session meanwhile (its offer timed out). */
    api_call(s, s->api_port, "POST", "/api/webrtc/answer", text, BIT(404), false, NULL);
    free(text);
}

static void action_join(struct soak *s)
{
    struct viewer *v = free_slot(s);
    if (!v)
        return;
    v->born_ms = wsc_now_ms();
    s->rec.n.joins++;
    if (rnd(s, 4) == 0)
        join_rest(s, v);
    else if (s->cloud_up && s->robot_listed)
        join_cloud(s, v);
    else
        s->rec.n.joins--;
}

static void action_leave(struct soak *s)
{
    struct viewer *v = pick_viewer(s, NULL);
    if (!v)
        return;
    if (v->kind == VIEWER_REST && rnd(s, 2)) {
        char p[128];
        s->rec.n.leave_rest_delete++;
        api_call(s, s->api_port, "DELETE", pathf(p, sizeof p, "/api/webrtc/sessions/%s",
                                                 v->rest_sid), NULL, BIT(404), false, NULL);
    } else if (v->kind == VIEWER_CLOUD && rnd(s, 2) && rtcpeer_close(v->rtc)) {
        s->rec.n.leave_polite++;
        json_decref(rtcpeer_take(v->rtc, "session-closed", 5000));
    } else {
        s->rec.n.leave_abrupt++;
    }
    viewer_drop(s, v);
}

static bool switchable(const struct viewer *v)
{
    return v->kind == VIEWER_CLOUD && !v->multi && rtcpeer_session_id(v->rtc);
}

static void action_switch(struct soak *s)
{
    struct viewer *v = pick_viewer(s, switchable);
    if (!v)
        return;
    s->rec.n.switches++;
    unsigned before = rtcpeer_count(v->rtc, "session-error");
    rtcpeer_switch(v->rtc, stream_names[rnd(s, NSTREAMS)]);
    rtcpeer_run_for(200);
    s->rec.n.switch_refused += rtcpeer_count(v->rtc, "session-error") > before;
}

/* Bookkeeping of every viewer once per tick: sessions that opened, decoded,
 * stalled, lost their cloud, or were closed by the robot. */
static void viewers_update(struct soak *s)
{
    int64_t now = wsc_now_ms();
    for (int i = 0; i < MAX_VIEWERS; i++) {
        struct viewer *v = &s->viewers[i];
        if (!v->rtc)
            continue;
        if (!v->opened && rtcpeer_session_id(v->rtc)) {
            v->opened = true;
            s->rec.n.opened++;
        }
        if (!v->streamed && rtcpeer_frames(v->rtc) > 0) {
            v->streamed = true;
            s->rec.n.streamed++;
            int64_t ms = now - v->born_ms;
            s->rec.n.first_frame_ms_sum += ms;
            if (ms > s->rec.n.first_frame_ms_max)
                s->rec.n.first_frame_ms_max = ms;
        }
        if (v->kind == VIEWER_CLOUD && rtcpeer_ws_closed(v->rtc)) {
            s->rec.n.lost_to_cloud++; /* the cloud was killed: join again later */
            viewer_drop(s, v);
        } else if (rtcpeer_count(v->rtc, "session-closed") > 0) {
            s->rec.n.closed_by_robot++;
            viewer_drop(s, v);
        } else if (!v->streamed && now - v->born_ms > FIRST_FRAME_MS) {
            s->rec.n.stalled++;
            fprintf(stderr, "soak: %s session %s decoded no frame in %d s (offer %d, "
                    "connected %d, session-errors %u)\n",
                    v->kind == VIEWER_REST ? "REST" : "cloud",
                    v->rest_sid ? v->rest_sid
                    : rtcpeer_session_id(v->rtc) ? rtcpeer_session_id(v->rtc) : "(none)",
                    FIRST_FRAME_MS / 1000, rtcpeer_has_offer(v->rtc), rtcpeer_connected(v->rtc),
                    rtcpeer_count(v->rtc, "session-error"));
            viewer_drop(s, v);
        }
    }
}

/* ---- the cloud dies and comes back ---- */

static void cloud_schedule_kill(struct soak *s)
{
    s->next_kill_ms = wsc_now_ms() +
                      1000 * (int64_t)(CLOUD_KILL_MIN_S + rnd(s, CLOUD_KILL_MAX_S - CLOUD_KILL_MIN_S));
}

static void cloud_update(struct soak *s)
{
    int64_t now = wsc_now_ms();
    if (s->cloud_up && now >= s->next_kill_ms && now < s->end_ms - 60000) {
        harness_kill(&s->cloud);
        s->cloud_up = s->robot_listed = false;
        s->rec.n.cloud_kills++;
        s->cloud_back_ms = now + 1000 + (int64_t)rnd(s, 4000);
        fprintf(stderr, "soak: %llds: cloud killed (SIGKILL)\n", (long long)elapsed_s(s));
    }
    if (!s->cloud_up && now >= s->cloud_back_ms) {
        if (with_stderr_to(s->cloud_log, start_cloud_cb, s) == 0) {
            s->cloud_up = true;
            s->cloud_restarted_ms = now;
            cloud_schedule_kill(s);
        } else if (++s->rec.n.cloud_restart_fail > 10) {
            soak_record_fail(&s->rec, "porthole-cloud does not start again on port %d", s->cloud_port);
            s->end_ms = now;
        } else {
            s->cloud_back_ms = now + 1000;
        }
    }
    if (s->cloud_up && !s->robot_listed) {
        s->robot_listed = harness_robot_listed(s->cloud_port, s->robot_id, 0);
        int64_t took = wsc_now_ms() - s->cloud_restarted_ms;
        if (s->robot_listed && took > s->rec.n.reregister_ms_max)
            s->rec.n.reregister_ms_max = took;
        if (!s->robot_listed && took > REGISTER_MS) {
            soak_record_fail(&s->rec, "the robot did not register at the restarted cloud within %d s",
                 REGISTER_MS / 1000);
            s->robot_listed = true; /* said once */
        }
    }
}

/* ---- sampling ---- */

static void sample_update(struct soak *s)
{
    if (wsc_now_ms() < s->next_sample_ms)
        return;
    s->next_sample_ms += SOAK_SAMPLE_S * 1000;
    soak_record_sample(&s->rec, s->robot.pid, (int)elapsed_s(s), viewer_count(s),
                       robot_sessions(s));
}

/* ---- idle checkpoints: before the soak and after every viewer left ---- */

static bool no_sessions(struct soak *s)
{
    return robot_sessions(s) == 0;
}

/* Waits (up to timeout_ms) until the robot lists no session, then keeps the
 * lowest of five samples a second apart: threads finishing and buffers
 * being returned come and go, what stays is the floor. */
static struct soak_idle measure_idle(struct soak *s, int timeout_ms)
{
    struct soak_idle m = {.threads = -1, .fds = -1, .rss_kb = -1};
    int64_t start = wsc_now_ms(), deadline = start + timeout_ms;
    while (!(m.ok = no_sessions(s)) && wsc_now_ms() < deadline && robot_alive(s))
        rtcpeer_run_for(1000);
    m.drain_s = (int)((wsc_now_ms() - start) / 1000);
    for (int i = 0; i < 5 && robot_alive(s); i++) {
        rtcpeer_run_for(1000);
        long t = soak_proc_status(s->robot.pid, "Threads:");
        long f = soak_proc_fds(s->robot.pid);
        long r = soak_proc_status(s->robot.pid, "VmRSS:");
        m.threads = m.threads < 0 || t < m.threads ? t : m.threads;
        m.fds = m.fds < 0 || f < m.fds ? f : m.fds;
        m.rss_kb = m.rss_kb < 0 || r < m.rss_kb ? r : m.rss_kb;
    }
    return m;
}

/* One cloud session and one REST session opened, streamed and closed
 * before the baseline is taken: the DTLS certificate, GStreamer's plugin
 * and type caches and the thread pools exist from then on. */
static void warm_up(struct soak *s)
{
    struct viewer *v = &s->viewers[0];
    for (int round = 0; round < 2; round++) {
        v->born_ms = wsc_now_ms();
        s->rec.n.joins++;
        if (round == 0)
            join_cloud(s, v);
        else
            join_rest(s, v);
        for (int i = 0; i < 600 && v->rtc && !v->streamed; i++) {
            rtcpeer_run_for(100);
            viewers_update(s);
        }
        if (v->rtc) {
            s->rec.n.leave_abrupt++;
            viewer_drop(s, v);
        }
    }
}

/* ---- set-up and the run ---- */

static int configure(struct soak *s)
{
    const char *m = getenv("SOAK_MINUTES");
    s->minutes = m && *m ? strtod(m, NULL) : 30;
    if (!(s->minutes > 0 && s->minutes <= 24 * 60)) {
        fprintf(stderr, "soak: SOAK_MINUTES must be a number of minutes in (0, 1440]\n");
        return -1;
    }
    const char *seed = getenv("SOAK_SEED");
    s->seed = seed && *seed ? strtoull(seed, NULL, 0)
                            : (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 16);
    s->rng = s->seed ? s->seed : 1;
    const char *dir = getenv("SOAK_LOG_DIR");
    snprintf(s->log_dir, sizeof s->log_dir, "%s", dir && *dir ? dir : "soak-logs");
    mkdir(s->log_dir, 0755);
    snprintf(s->robot_log, sizeof s->robot_log, "%s/robot.log", s->log_dir);
    snprintf(s->cloud_log, sizeof s->cloud_log, "%s/cloud.log", s->log_dir);
    unlink(s->robot_log);
    unlink(s->cloud_log);
    snprintf(s->robot_id, sizeof s->robot_id, "soak-robot");
    s->api_port = free_port();
    if (s->api_port < 0 || !getenv("PORTHOLE_ROBOT") || !getenv("PORTHOLE_CLOUD")) {
        fprintf(stderr, "soak: needs PORTHOLE_ROBOT and PORTHOLE_CLOUD (use `make soak`)\n");
        return -1;
    }
    return 0;
}

static int start_all(struct soak *s)
{
    if (with_stderr_to(s->cloud_log, start_cloud_cb, s) < 0)
        return -1;
    s->cloud_port = s->cloud.port;
    s->cloud_up = true;
    snprintf(s->url, sizeof s->url, "ws://127.0.0.1:%d/ws", s->cloud_port);
    if (with_stderr_to(s->robot_log, start_robot_cb, s) < 0)
        return -1;
    if (!harness_robot_listed(s->cloud_port, s->robot_id, 60000)) {
        fprintf(stderr, "soak: porthole-robot did not register within 60 s; see %s\n",
                s->robot_log);
        return -1;
    }
    s->robot_listed = true;
    if (learn_device(s) < 0) {
        fprintf(stderr, "soak: the robot's REST API on port %d does not describe its camera\n",
                s->api_port);
        return -1;
    }
    return 0;
}

static void one_action(struct soak *s)
{
    int n = viewer_count(s);
    unsigned w_join = (unsigned)(MAX_VIEWERS - n) * 8, w_leave = (unsigned)n * 5;
    unsigned w_switch = 20, w_rest = 30;
    size_t r = rnd(s, w_join + w_leave + w_switch + w_rest);
    if (r < w_join)
        action_join(s);
    else if ((r -= w_join) < w_leave)
        action_leave(s);
    else if ((r -= w_leave) < w_switch)
        action_switch(s);
    else
        action_rest(s);
}

static void run(struct soak *s)
{
    s->end_ms = wsc_now_ms() + (int64_t)(s->minutes * 60000);
    s->next_sample_ms = wsc_now_ms();
    cloud_schedule_kill(s);
    int64_t next_action = wsc_now_ms();
    while (wsc_now_ms() < s->end_ms && robot_alive(s)) {
        rtcpeer_run_for(100);
        cloud_update(s);
        viewers_update(s);
        sample_update(s);
        if (wsc_now_ms() >= next_action) {
            one_action(s);
            next_action = wsc_now_ms() + 300 + (int64_t)rnd(s, 1700);
        }
    }
}

/* Ends what run() left: viewers, then the robot and the cloud (SIGTERM;
 * their exit statuses go to o). */
static void finish(struct soak *s, struct soak_outcome *o)
{
    for (int i = 0; i < MAX_VIEWERS; i++)
        if (s->viewers[i].rtc)
            viewer_drop(s, &s->viewers[i]);
    if (robot_alive(s)) {
        o->end = measure_idle(s, DRAIN_MS);
        o->robot_exit = harness_proc_stop(&s->robot, STOP_MS);
        if (o->robot_exit != 0)
            soak_record_fail(&s->rec, "porthole-robot exited with status %d after SIGTERM "
                             "(LeakSanitizer runs at exit; see %s)", o->robot_exit,
                             s->robot_log);
    } else {
        o->robot_exit = s->robot_status;
    }
    o->robot_crashed = s->robot_crashed;
    o->cloud_exit = s->cloud_up ? harness_stop(&s->cloud) : 0;
    if (o->cloud_exit != 0)
        soak_record_fail(&s->rec, "porthole-cloud exited with status %d after SIGTERM; see %s",
                         o->cloud_exit, s->cloud_log);
}

int main(void)
{
    static struct soak s;
    setvbuf(stderr, NULL, _IOLBF, 0);
    if (configure(&s) < 0)
        return 2;
    /* Whatever happens, the driver ends; its children die with it. */
    alarm((unsigned)(s.minutes * 60) + 900);
    fprintf(stderr, "soak: seed %llu (SOAK_SEED=%llu replays it), %.1f min, logs in %s\n",
            s.seed, s.seed, s.minutes, s.log_dir);
    s.start_ms = wsc_now_ms();
    if (start_all(&s) < 0) {
        harness_proc_kill(&s.robot);
        harness_kill(&s.cloud);
        return 1;
    }
    struct soak_outcome o = {.seed = s.seed, .minutes = s.minutes, .robot_id = s.robot_id};
    warm_up(&s);
    o.base = measure_idle(&s, DRAIN_MS);
    fprintf(stderr, "soak: idle baseline: threads %ld, open files %ld, RSS %.1f MB\n",
            o.base.threads, o.base.fds, (double)o.base.rss_kb / 1024);
    run(&s);
    finish(&s, &o);
    if (s.rec.nsamples)
        soak_record_check_growth(&s.rec, &o, DRAIN_MS / 1000);
    soak_record_check_log(&s.rec, "robot", s.robot_log);
    soak_record_check_log(&s.rec, "cloud", s.cloud_log);
    soak_record_check_sessions(&s.rec);
    soak_record_print(&s.rec, &o);
    return soak_record_verdict(&s.rec);
}
