/* session.c - the robot's sessions: open, end, timeout, status, peer events. */
#include "robot/session.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "common/list.h"
#include "common/log.h"

struct session {
    struct session_set *set;
    struct list link;   /* on set->all, in opening order */
    char *id;
    char *client_id;    /* the owner's clientId, or NULL */
    char *viewer;       /* whom it counts against: "sub:<sub>", "client:<id>", or NULL */
    struct session_sink *sink;
    struct peer *peer;
    guint timeout;      /* ends a session that does not connect in time */
    guint watch;        /* once connected: listens for the viewer (on_watch) */
    gint64 connected_us;
    gint64 restart_us;  /* when the ICE restart awaiting its outcome began, or 0 */
    gint64 last_restart_us; /* when the last ICE restart began, or 0 */
    gint64 restarts_us[SESSION_MAX_RESTARTS]; /* when the last restarts began, a ring */
    unsigned nrestarts;
    uint64_t frames_sent;  /* all tracks, at the last watch tick */
    gint64 sent_us;        /* when that count last grew */
    bool connected;
    bool orphan;        /* the signaling that opened it no longer knows it */
    gint64 opened_us;
};

struct session_set {
    struct session_set_params params;
    GHashTable *by_id;  /* id -> struct session * (borrowed: the list owns) */
    struct list all;
    char *cloud_stun;   /* the cloud's STUN server for new sessions, or NULL */
    char *cloud_turn;   /* the cloud's TURN URIs (comma-separated), or NULL */
};

/* ---- the set ---- */

struct session_set *session_set_new(const struct session_set_params *params)
{
    struct session_set *set = g_new0(struct session_set, 1);
    set->params = *params;
    set->by_id = g_hash_table_new(g_str_hash, g_str_equal);
    list_init(&set->all);
    return set;
}

/* Frees s and what it owns, without telling anyone; its sink has had its
 * last word already. */
static void session_free(struct session *s)
{
    g_hash_table_remove(s->set->by_id, s->id);
    list_remove(&s->link);
    if (s->timeout)
        g_source_remove(s->timeout);
    if (s->watch)
        g_source_remove(s->watch);
    /* The peer first: no callback fires after peer_free, so none reaches
     * the sink once it is gone. */
    peer_free(s->peer);
    s->sink->ops->free(s->sink);
    g_free(s->id);
    g_free(s->client_id);
    g_free(s->viewer);
    g_free(s);
}

void session_set_free(struct session_set *set)
{
    if (!set)
        return;
    struct list *pos, *tmp;
    list_foreach(pos, &set->all) {
        struct session *s = list_entry(pos, struct session, link);
        s->sink->ops->on_closed(s->sink, s, true, "the robot is shutting down");
    }
    list_foreach_safe(pos, tmp, &set->all)
        session_free(list_entry(pos, struct session, link));
    g_hash_table_destroy(set->by_id);
    g_free(set->cloud_stun);
    g_free(set->cloud_turn);
    g_free(set);
}

void session_set_cloud_ice(struct session_set *set, const char *stun, const char *turn)
{
    g_free(set->cloud_stun);
    g_free(set->cloud_turn);
    set->cloud_stun = g_strdup(stun);
    set->cloud_turn = g_strdup(turn);
}

const struct session_set_params *session_set_params(const struct session_set *set)
{
    return &set->params;
}

struct session *session_set_find(struct session_set *set, const char *id)
{
    return g_hash_table_lookup(set->by_id, id);
}

size_t session_set_count(const struct session_set *set)
{
    return g_hash_table_size(set->by_id);
}

void session_set_foreach(struct session_set *set, void (*fn)(struct session *s, void *user),
                         void *user)
{
    struct list *pos, *tmp;
    list_foreach_safe(pos, tmp, &set->all)
        fn(list_entry(pos, struct session, link), user);
}

size_t session_set_end_all(struct session_set *set, const char *why)
{
    size_t n = 0;
    struct list *first;
    /* One at a time from the head: ending one may not end another today,
     * but this stays right if it ever does. */
    while ((first = list_first(&set->all)) != NULL) {
        session_end(list_entry(first, struct session, link), true, why);
        n++;
    }
    return n;
}

/* ---- ending ---- */

/* Reports an error of s through its sink, without ending it. */
static void session_error(struct session *s, const char *code, const char *reason)
{
    s->sink->ops->on_error(s->sink, s, code, reason);
}

void session_end(struct session *s, bool tell, const char *why)
{
    log_info("session %s: closed (%s)", s->id, why);
    s->sink->ops->on_closed(s->sink, s, tell, why);
    session_free(s);
    /* A peer's teardown frees megabytes of buffers across the arenas of
     * many threads; hand them back to the system so that a long-running
     * robot's memory follows its sessions instead of its peak. */
    malloc_trim(0);
}

static gboolean on_session_timeout(gpointer data)
{
    struct session *s = data;
    s->timeout = 0;
    char reason[128];
    snprintf(reason, sizeof reason, "the viewer did not connect within %ld s",
             s->set->params.timeout_s);
    session_error(s, "timeout", reason);
    session_end(s, true, "timeout");
    return G_SOURCE_REMOVE;
}

/* ---- ICE restarts and the viewer's silence ---- */

#define WATCH_TICK_MS 250
#define RESTART_WINDOW_US (60 * G_USEC_PER_SEC)

/* Begins an ICE restart unless the budget is spent, in which case the
 * session ends. Returns false when s has ended (s is then gone). */
static bool restart_or_end(struct session *s, const char *why)
{
    gint64 now = g_get_monotonic_time();
    unsigned slot = s->nrestarts % SESSION_MAX_RESTARTS;
    if (s->nrestarts >= SESSION_MAX_RESTARTS && now - s->restarts_us[slot] < RESTART_WINDOW_US) {
        char reason[160];
        snprintf(reason, sizeof reason,
                 "the connection to the viewer keeps failing: %d ICE restarts within a minute "
                 "did not hold (last: %s)", SESSION_MAX_RESTARTS, why);
        session_error(s, "connection-failed", reason);
        session_end(s, true, "ICE restart limit");
        return false;
    }
    char err[160];
    if (peer_restart_ice(s->peer, err, sizeof err) < 0) {
        log_warn("session %s: no ICE restart (%s): %s", s->id, why, err);
        return true;
    }
    s->restarts_us[slot] = now;
    s->nrestarts++;
    s->restart_us = s->last_restart_us = now;
    log_info("session %s: ICE restart %u: %s", s->id, s->nrestarts, why);
    return true;
}

/* True when an ICE restart may begin now: connected once, a sink that can
 * carry the offer to a signaling side that still knows the session (not an
 * orphan), and none begun in the last SESSION_RETRY_MS (its checks may
 * still be running, whatever arrived meanwhile). */
static bool may_restart(const struct session *s)
{
    return s->connected && s->sink->ops->restarts && !s->orphan && !peer_answering(s->peer) &&
           (!s->last_restart_us ||
            g_get_monotonic_time() - s->last_restart_us >= (gint64)SESSION_RETRY_MS * 1000);
}

void session_restart_ice(struct session *s, bool stalled)
{
    const char *why = stalled ? "the viewer's video stalled" : "the viewer asked";
    gint64 idle = g_get_monotonic_time() - s->sent_us;
    if (stalled && s->connected && idle >= (gint64)SESSION_SENDING_MS * 1000)
        log_info("session %s: no ICE restart (%s): no frame was sent for %lld ms", s->id, why,
                 (long long)idle / 1000);
    else if (may_restart(s))
        restart_or_end(s, why);
    else
        log_debug("session %s: no ICE restart (%s): too soon, or not possible", s->id, why);
}

int session_restart_ice_offer(struct session *s, const char *offer, char *err, size_t errlen)
{
    char *answer = peer_restart_ice_offer(s->peer, offer, err, errlen);
    if (!answer)
        return -1;
    s->restart_us = s->last_restart_us = g_get_monotonic_time();
    s->nrestarts++;
    log_info("session %s: ICE restart %u: the viewer offered again", s->id, s->nrestarts);
    s->sink->ops->on_offer(s->sink, s, answer);
    g_free(answer);
    return 0;
}

/* Every WATCH_TICK_MS once connected: how long since the viewer was heard
 * from (or since the connection, before the first packet)? A restart that
 * brought packets back is over; silence restarts ICE, or ends the
 * session. */
static gboolean on_watch(gpointer data)
{
    struct session *s = data;
    gint64 now = g_get_monotonic_time();
    uint64_t sent = 0;
    for (size_t i = 0; i < peer_track_count(s->peer); i++)
        sent += peer_track_frames(s->peer, i);
    if (sent != s->frames_sent) {
        s->frames_sent = sent;
        s->sent_us = now;
    }
    gint64 heard = MAX(peer_heard_us(s->peer), s->connected_us);
    if (s->restart_us && heard > s->restart_us) {
        log_info("session %s: the viewer is back %lld ms after the ICE restart", s->id,
                 (long long)(heard - s->restart_us) / 1000);
        s->restart_us = 0;
    }
    long long quiet_ms = (long long)(now - heard) / 1000;
    if (quiet_ms >= SESSION_GONE_MS) {
        s->watch = 0;
        char reason[128];
        snprintf(reason, sizeof reason, "nothing received from the viewer for %lld ms", quiet_ms);
        session_error(s, "viewer-unreachable", reason);
        session_end(s, true, "viewer unreachable");
        return G_SOURCE_REMOVE;
    }
    if (quiet_ms >= SESSION_QUIET_MS && may_restart(s)) {
        /* Ending s removes this source too (session_free): harmless while
         * it dispatches. */
        if (!restart_or_end(s, s->restart_us ? "the last ICE restart brought nothing back"
                                              : "the viewer fell silent"))
            return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* ---- peer callbacks (main thread; user is the session) ---- */

static void on_peer_offer(void *user, struct peer *p, const char *sdp)
{
    struct session *s = user;
    (void)p;
    log_debug("session %s: offer ready (%zu bytes)", s->id, strlen(sdp));
    s->sink->ops->on_offer(s->sink, s, sdp);
}

static void on_peer_candidate(void *user, struct peer *p, unsigned mline, const char *mid,
                              const char *candidate)
{
    struct session *s = user;
    (void)p;
    s->sink->ops->on_candidate(s->sink, s, mline, mid, candidate);
}

static void on_peer_state(void *user, struct peer *p, enum peer_state st)
{
    struct session *s = user;
    (void)p;
    log_info("session %s: %s", s->id, peer_state_name(st));
    if (st == PEER_CONNECTED && !s->connected) {
        s->connected = true;
        s->connected_us = s->sent_us = g_get_monotonic_time();
        s->watch = g_timeout_add(WATCH_TICK_MS, on_watch, s);
        if (s->timeout) {
            g_source_remove(s->timeout);
            s->timeout = 0;
        }
    } else if ((st == PEER_FAILED || st == PEER_DISCONNECTED) && s->connected &&
               s->sink->ops->restarts) {
        /* A restart still young keeps its chance: the watch retries. */
        if (may_restart(s))
            restart_or_end(s, st == PEER_FAILED ? "the connection failed"
                                                : "the connection was interrupted");
    } else if (st == PEER_FAILED) {
        session_error(s, "connection-failed", "the WebRTC connection failed");
        session_end(s, true, "connection failed");
    } else if (st == PEER_CLOSED) {
        session_end(s, true, "connection closed");
    }
}

static void on_peer_error(void *user, struct peer *p, const char *code, const char *reason)
{
    struct session *s = user;
    (void)p;
    session_error(s, code, reason);
    /* A refused answer leaves the offer standing: the viewer may answer
     * again. Anything else leaves nothing to save. */
    if (strcmp(code, "answer-rejected") != 0)
        session_end(s, true, code);
}

static void on_peer_viewer_gone(void *user, struct peer *p, const char *why)
{
    (void)p;
    session_end(user, true, why);
}

static const struct peer_callbacks peer_cb = {
    .on_offer = on_peer_offer,
    .on_candidate = on_peer_candidate,
    .on_state = on_peer_state,
    .on_error = on_peer_error,
    .on_viewer_gone = on_peer_viewer_gone,
};

/* ---- opening ---- */

static void log_opened(const struct session *s, const enum cam_stream *streams, size_t n)
{
    GString *names = g_string_new(NULL);
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(names, "%s%s", i ? "," : "", cam_stream_name(streams[i]));
    log_info("session %s: opened for %s %s (%s)", s->id, s->sink->ops->client_label,
             s->client_id ? s->client_id : "api", names->str);
    g_string_free(names, TRUE);
}

/* The key of the viewer owner counts against, or NULL (g_free). */
static char *viewer_key(const struct session_owner *owner)
{
    if (!owner)
        return NULL;
    if (owner->sub)
        return g_strconcat("sub:", owner->sub, NULL);
    return owner->client_id ? g_strconcat("client:", owner->client_id, NULL) : NULL;
}

/* Sessions open for viewer. */
static size_t viewer_sessions(struct session_set *set, const char *viewer)
{
    size_t n = 0;
    struct list *pos;
    list_foreach(pos, &set->all) {
        const struct session *s = list_entry(pos, struct session, link);
        n += s->viewer && strcmp(s->viewer, viewer) == 0;
    }
    return n;
}

/* The limits of the set and of the viewer. Returns 0, or -1 with *code
 * and err. */
static int check_limits(struct session_set *set, const char *viewer, const char **code,
                        char *err, size_t errlen)
{
    if (session_set_count(set) >= set->params.max_sessions) {
        *code = "session-limit";
        snprintf(err, errlen, "this robot serves at most %zu sessions at once",
                 set->params.max_sessions);
        return -1;
    }
    size_t max = set->params.max_per_viewer;
    if (viewer && max && viewer_sessions(set, viewer) >= max) {
        *code = "session-limit";
        snprintf(err, errlen, "this viewer already has %zu sessions on this robot, the most it "
                 "may have at once", max);
        return -1;
    }
    return 0;
}

struct session *session_open(struct session_set *set, const char *id,
                             const struct session_owner *owner, const enum cam_stream *streams,
                             size_t nstreams, struct session_sink *sink, const char **code,
                             char *err, size_t errlen)
{
    return session_open_depth(set, id, owner, streams, nstreams, NULL, sink, code, err, errlen);
}

struct session *session_open_depth(struct session_set *set, const char *id,
                                   const struct session_owner *owner,
                                   const enum cam_stream *streams, size_t nstreams,
                                   const struct depth_request *depth, struct session_sink *sink,
                                   const char **code, char *err, size_t errlen)
{
    char *viewer = viewer_key(owner);
    if (check_limits(set, viewer, code, err, errlen) < 0) {
        g_free(viewer);
        sink->ops->free(sink);
        return NULL;
    }
    struct peer_params pp = set->params.peer;
    /* The robot's own --stun-server / --turn-server win over the cloud's. */
    if (!pp.stun_server || !*pp.stun_server)
        pp.stun_server = set->cloud_stun;
    if (!pp.turn_servers || !*pp.turn_servers)
        pp.turn_servers = set->cloud_turn;
    pp.session_id = id;
    pp.remote_offer = sink->remote_offer;
    pp.nstreams = nstreams;
    memcpy(pp.streams, streams, nstreams * sizeof *streams);
    pp.depth = depth; /* peer_new copies what it keeps */
    struct session *s = g_new0(struct session, 1);
    s->set = set;
    s->id = g_strdup(id);
    s->client_id = g_strdup(owner ? owner->client_id : NULL);
    s->viewer = viewer;
    s->sink = sink;
    s->opened_us = g_get_monotonic_time();
    g_hash_table_insert(set->by_id, s->id, s);
    list_insert_tail(&set->all, &s->link);
    s->peer = peer_new(set->params.media, &pp, &peer_cb, s, err, errlen);
    if (!s->peer) {
        *code = "internal";
        session_free(s);
        return NULL;
    }
    /* Not g_timeout_add_seconds: that one may fire up to a second early. */
    s->timeout = g_timeout_add((guint)set->params.timeout_s * 1000, on_session_timeout, s);
    log_opened(s, streams, nstreams);
    return s;
}

/* ---- what a session is ---- */

void session_set_orphan(struct session *s) { s->orphan = true; }
bool session_orphan(const struct session *s) { return s->orphan; }
const char *session_id(const struct session *s) { return s->id; }
const char *session_client_id(const struct session *s) { return s->client_id; }
struct peer *session_peer(struct session *s) { return s->peer; }
struct session_sink *session_sink(struct session *s) { return s->sink; }

json_t *session_status(struct session *s)
{
    json_t *types = json_array(), *frames = json_array();
    bool streaming = false;
    for (size_t i = 0; i < peer_track_count(s->peer); i++) {
        uint64_t n = peer_track_frames(s->peer, i);
        json_array_append_new(types,
                              json_string(cam_stream_name(peer_track_stream(s->peer, i))));
        json_array_append_new(frames, json_integer((json_int_t)n));
        streaming |= n > 0;
    }
    size_t admitted, refused;
    peer_candidate_counts(s->peer, &admitted, &refused);
    return json_pack("{s:s, s:s, s:b, s:b, s:o, s:{s:s, s:s, s:s, s:f, s:o, s:b, s:I, s:I}}",
                     "session_id", s->id, "device_id", camera_serial(s->set->params.cam),
                     "connected", s->connected, "streaming", s->connected && streaming,
                     "stream_types", types, "stats", "state",
                     peer_state_name(peer_state(s->peer)), "origin", s->sink->ops->origin,
                     "client_id", s->client_id ? s->client_id : "api", "age_seconds",
                     (double)(g_get_monotonic_time() - s->opened_us) / 1e6, "frames_sent",
                     frames, "orphan", s->orphan, "remote_candidates", (json_int_t)admitted,
                     "candidates_refused", (json_int_t)refused);
}
