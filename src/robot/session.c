/* session.c - the robot's sessions: open, end, timeout, status, peer events. */
#include "session.h"

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
        if (s->timeout) {
            g_source_remove(s->timeout);
            s->timeout = 0;
        }
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
    pp.nstreams = nstreams;
    memcpy(pp.streams, streams, nstreams * sizeof *streams);
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
