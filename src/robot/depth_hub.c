/* depth_hub.c - the depth channels of every session: a media tap, one
 * worker thread that packs and sends, and each link's control side. */
#include "robot/depth_hub.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/list.h"
#include "common/log.h"
#include "robot/depth_pack.h"

#define DEPTH_MAX_CONTROL_BYTES 4096 /* a viewer's control message */
#define DEPTH_SLACK_US 5000          /* a frame this early is on time */
#define DEPTH_PASS_VARIANTS DEPTH_PACKERS /* (decimation, colour) pairs packed in one pass */

struct depth_link {
    gint refs;                       /* atomic: the owner's, one per pending event or pass */
    struct depth_hub *h;
    char *session_id;
    GstWebRTCDataChannel *data, *ctl; /* data is NULL when depth is unavailable */
    bool closed;                     /* main thread: set by depth_link_stop */
    /* under h->lock */
    struct list link;                /* on h->links */
    struct depth_request req;
    bool open;                       /* the data channel is open */
    bool ctl_open;
    int64_t next_us;                 /* capture time from which the next frame is due */
    struct depth_link_stats stats;
};

/* One frameset as the worker needs it: tight rows, owned copies. */
struct depth_snap {
    struct cam_frame depth, color;
    uint8_t *dbuf, *cbuf;
    size_t dcap, ccap;
    bool has_color;
};

struct depth_hub {
    struct media *m;
    struct camera *cam;
    GMainContext *ctx;
    char *unavailable;
    struct media_tap *tap;   /* main thread */
    atomic_uint want;        /* CAM_MASK bits the tap copies */
    GMutex lock;             /* links and their state, latest, pending, stopping */
    GCond cond;
    struct list links;
    struct depth_snap latest, work; /* latest: under lock; work: the worker's */
    bool pending, stopping;
    GMutex send_lock;        /* held by the worker through a pass */
    GThread *worker;
    /* the worker's: a packer per variant packed in a pass, kept for the
     * next pass (the same variants, frame after frame) */
    struct depth_packers packers;
};

static struct depth_link *link_ref(struct depth_link *l)
{
    g_atomic_int_inc(&l->refs);
    return l;
}

static void link_unref(struct depth_link *l)
{
    if (!g_atomic_int_dec_and_test(&l->refs))
        return;
    if (l->data)
        gst_object_unref(l->data);
    if (l->ctl)
        gst_object_unref(l->ctl);
    g_free(l->session_id);
    g_free(l);
}

/* ---- frames in: the capture thread ---- */

/* Copies f into s's frame and buffer (tight rows). Returns false when out
 * of memory. */
static bool snap_copy(const struct cam_frame *f, size_t bpp, struct cam_frame *out,
                      uint8_t **buf, size_t *cap)
{
    size_t row = bpp * (size_t)f->width, need = row * (size_t)f->height;
    if (*cap < need) {
        uint8_t *nb = realloc(*buf, need);
        if (!nb)
            return false;
        *buf = nb;
        *cap = need;
    }
    for (int y = 0; y < f->height; y++)
        memcpy(*buf + (size_t)y * row, f->data + (size_t)y * f->stride, row);
    *out = *f;
    out->stride = row;
    out->data = *buf;
    return true;
}

static void on_frames(void *user, const struct cam_frameset *set)
{
    struct depth_hub *h = user;
    unsigned want = atomic_load(&h->want);
    const struct cam_frame *d = NULL, *c = NULL;
    for (size_t i = 0; i < set->count; i++) {
        if (set->frames[i].stream == CAM_DEPTH && set->frames[i].format == CAM_FORMAT_Z16)
            d = &set->frames[i];
        if (set->frames[i].stream == CAM_COLOR && set->frames[i].format == CAM_FORMAT_RGB8)
            c = &set->frames[i];
    }
    if (!d || !(want & CAM_MASK(CAM_DEPTH)))
        return;
    g_mutex_lock(&h->lock);
    struct depth_snap *s = &h->latest;
    bool ok = snap_copy(d, 2, &s->depth, &s->dbuf, &s->dcap);
    s->has_color = ok && c && (want & CAM_MASK(CAM_COLOR)) &&
                   snap_copy(c, 3, &s->color, &s->cbuf, &s->ccap);
    if (ok) {
        h->pending = true;
        g_cond_signal(&h->cond);
    }
    g_mutex_unlock(&h->lock);
}

/* ---- frames out: the worker ---- */

/* A frame packed once per pass for each (decimation, colour) asked. */
struct packed {
    int decimation;
    bool color;
    const uint8_t *buf; /* NULL: out of memory; else the packer's */
    size_t len;
};

static const struct packed *pack_for(struct depth_hub *h, const struct depth_snap *s,
                                     const struct depth_request *r, struct packed *cache,
                                     size_t *ncache)
{
    bool color = r->color && s->has_color;
    for (size_t i = 0; i < *ncache; i++)
        if (cache[i].decimation == r->decimation && cache[i].color == color)
            return cache[i].buf ? &cache[i] : NULL;
    struct depth_pack_input in = {
        .depth = &s->depth, .depth_scale = camera_depth_scale(h->cam),
        .din = camera_intrinsics(h->cam, CAM_DEPTH), .color = color ? &s->color : NULL,
        .cin = camera_intrinsics(h->cam, CAM_COLOR), .d2c = camera_extrinsics(h->cam, CAM_COLOR)};
    struct packed *p = &cache[*ncache];
    *p = (struct packed){.decimation = r->decimation, .color = color};
    p->buf = depth_packer_pack(&h->packers.p[(*ncache)++], &in, r->decimation,
                               DEPTH_CODEC_DELTA_LZ4, &p->len);
    return p->buf ? p : NULL;
}

/* Sends p in chunks on l's channel. Returns false when the channel
 * refused a chunk. */
static bool send_chunks(struct depth_link *l, const struct packed *p, uint64_t number)
{
    uint8_t msg[DEPTH_CHUNK_BYTES];
    size_t n = depth_chunk_count(p->len);
    for (size_t k = 0; k < n; k++) {
        size_t len = depth_chunk_write(msg, p->buf, p->len, number, k);
        GBytes *b = g_bytes_new(msg, len);
        GError *err = NULL;
        gboolean ok = gst_webrtc_data_channel_send_data_full(l->data, b, &err);
        g_bytes_unref(b);
        if (!ok) {
            log_debug("depth %s: frame not sent: %s", l->session_id, err ? err->message : "?");
            g_clear_error(&err);
            return false;
        }
    }
    return true;
}

/* One frameset to every link that is due. Runs under send_lock. */
static void send_pass(struct depth_hub *h, const struct depth_snap *s)
{
    struct depth_link *due[64];
    struct depth_request req[64];
    size_t n = 0;
    int64_t mono = s->depth.capture_mono_us;
    g_mutex_lock(&h->lock);
    struct list *pos;
    list_foreach(pos, &h->links) {
        struct depth_link *l = list_entry(pos, struct depth_link, link);
        int64_t period = 1000000 / l->req.rate;
        /* Deadlines advance by whole periods, so 5/s from a 30/s camera is
         * 5/s, not every sixth frame's 6/s; DEPTH_SLACK_US absorbs capture
         * jitter. A link that fell behind starts over from this frame. */
        if (!l->open || !l->data || n == 64 || mono + DEPTH_SLACK_US < l->next_us)
            continue;
        l->next_us = l->next_us + period > mono ? l->next_us + period : mono + period;
        req[n] = l->req;
        due[n++] = link_ref(l);
    }
    g_mutex_unlock(&h->lock);

    struct packed cache[DEPTH_PASS_VARIANTS];
    size_t ncache = 0;
    for (size_t i = 0; i < n; i++) {
        struct depth_link *l = due[i];
        const struct packed *p =
            ncache < DEPTH_PASS_VARIANTS ? pack_for(h, s, &req[i], cache, &ncache) : NULL;
        guint64 queued = 0;
        g_object_get(l->data, "buffered-amount", &queued, NULL);
        bool skip = !p || queued > DEPTH_MAX_BUFFERED;
        bool sent = !skip && send_chunks(l, p, s->depth.number);
        g_mutex_lock(&h->lock);
        l->stats.skipped += skip;
        l->stats.frames += sent;
        l->stats.bytes += sent ? p->len : 0;
        g_mutex_unlock(&h->lock);
        link_unref(l);
    }
    /* Packers no link has used for a while give their memory back. */
    depth_packers_done(&h->packers, ncache, mono);
}

static gpointer worker_main(gpointer data)
{
    struct depth_hub *h = data;
    g_mutex_lock(&h->lock);
    for (;;) {
        while (!h->pending && !h->stopping)
            g_cond_wait(&h->cond, &h->lock);
        if (h->stopping)
            break;
        struct depth_snap t = h->work;
        h->work = h->latest;
        h->latest = t;
        h->pending = false;
        g_mutex_unlock(&h->lock);
        g_mutex_lock(&h->send_lock);
        send_pass(h, &h->work);
        g_mutex_unlock(&h->send_lock);
        g_mutex_lock(&h->lock);
    }
    g_mutex_unlock(&h->lock);
    return NULL;
}

/* ---- the control side: main thread ---- */

/* The streams the hub needs captured now, and the tap that asks for them. */
static void update_tap(struct depth_hub *h)
{
    unsigned want = 0;
    g_mutex_lock(&h->lock);
    struct list *pos;
    list_foreach(pos, &h->links) {
        struct depth_link *l = list_entry(pos, struct depth_link, link);
        if (l->open)
            want |= CAM_MASK(CAM_DEPTH) | (l->req.color ? CAM_MASK(CAM_COLOR) : 0);
    }
    g_mutex_unlock(&h->lock);
    atomic_store(&h->want, want);
    if (want && !h->tap) {
        h->tap = media_tap_add(h->m, want, on_frames, h);
        if (!h->tap)
            log_warn("depth: no media tap left; depth frames are not captured");
    } else if (want && h->tap) {
        media_tap_set_mask(h->tap, want);
    } else if (!want && h->tap) {
        media_tap_remove(h->tap);
        h->tap = NULL;
    }
}

static void send_json(struct depth_link *l, json_t *msg)
{
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!text || !l->ctl)
        return free(text);
    GError *err = NULL;
    if (!gst_webrtc_data_channel_send_string_full(l->ctl, text, &err)) {
        log_debug("depth %s: control message not sent: %s", l->session_id,
                  err ? err->message : "?");
        g_clear_error(&err);
    }
    free(text);
}

static void broadcast_colormap(struct depth_hub *h, const struct colormap_settings *s)
{
    g_mutex_lock(&h->lock);
    GPtrArray *to = g_ptr_array_new();
    struct list *pos;
    list_foreach(pos, &h->links) {
        struct depth_link *l = list_entry(pos, struct depth_link, link);
        if (l->ctl_open)
            g_ptr_array_add(to, link_ref(l));
    }
    g_mutex_unlock(&h->lock);
    for (guint i = 0; i < to->len; i++) {
        send_json(to->pdata[i], depth_colormap_json(s));
        link_unref(to->pdata[i]);
    }
    g_ptr_array_free(to, TRUE);
}

static void on_control_open(struct depth_link *l)
{
    struct depth_hub *h = l->h;
    g_mutex_lock(&h->lock);
    l->ctl_open = true;
    struct depth_request r = l->req;
    l->req.note[0] = '\0'; /* told once */
    g_mutex_unlock(&h->lock);
    if (h->unavailable) {
        send_json(l, depth_error_json("no-depth", h->unavailable));
        return;
    }
    send_json(l, depth_calibration_json(h->cam));
    send_json(l, depth_request_json(&r));
    struct colormap_settings cs;
    colormap_current(&cs);
    send_json(l, depth_colormap_json(&cs));
}

static void on_control_message(struct depth_link *l, const char *text)
{
    struct depth_hub *h = l->h;
    char err[256];
    json_error_t jerr;
    json_t *msg = strlen(text) <= DEPTH_MAX_CONTROL_BYTES ? json_loads(text, 0, &jerr) : NULL;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type) {
        send_json(l, depth_error_json("invalid-message", "a depth control message is a JSON "
                                      "object of at most 4096 bytes with a string 'type'"));
    } else if (h->unavailable) {
        send_json(l, depth_error_json("no-depth", h->unavailable));
    } else if (strcmp(type, "depth-config") == 0) {
        g_mutex_lock(&h->lock);
        struct depth_request r = l->req;
        g_mutex_unlock(&h->lock);
        if (depth_request_apply(msg, camera_mode(h->cam)->fps, &r, err, sizeof err) < 0) {
            send_json(l, depth_error_json("invalid-config", err));
        } else {
            g_mutex_lock(&h->lock);
            l->req = r;
            l->req.note[0] = '\0';
            g_mutex_unlock(&h->lock);
            if (r.note[0])
                log_info("depth %s: request clamped: %s", l->session_id, r.note);
            send_json(l, depth_request_json(&r));
            update_tap(h);
        }
    } else if (strcmp(type, "depth-colormap") == 0) {
        struct colormap_settings cs;
        colormap_current(&cs);
        if (depth_colormap_apply(msg, &cs, err, sizeof err) < 0 ||
            colormap_configure(&cs, err, sizeof err) < 0) {
            send_json(l, depth_error_json("invalid-colormap", err));
        } else {
            log_info("depth %s: colormap %s, %.2f to %.2f m", l->session_id,
                     colormap_ramp_name(cs.ramp), cs.near_m, cs.far_m);
            broadcast_colormap(h, &cs);
        }
    } else {
        snprintf(err, sizeof err, "unknown depth control message '%.64s': use depth-config or "
                 "depth-colormap", type);
        send_json(l, depth_error_json("invalid-message", err));
    }
    json_decref(msg);
}

/* ---- webrtcbin's threads, handed to the main context ---- */

enum ev_kind { EV_DATA_OPEN, EV_DATA_CLOSE, EV_CTL_OPEN, EV_CTL_MESSAGE };

struct event {
    struct depth_link *l;
    enum ev_kind kind;
    char *text;
};

static void event_free(gpointer data)
{
    struct event *ev = data;
    link_unref(ev->l);
    g_free(ev->text);
    g_free(ev);
}

static gboolean event_dispatch(gpointer data)
{
    struct event *ev = data;
    struct depth_link *l = ev->l;
    if (l->closed)
        return G_SOURCE_REMOVE;
    switch (ev->kind) {
    case EV_DATA_OPEN:
    case EV_DATA_CLOSE:
        g_mutex_lock(&l->h->lock);
        l->open = ev->kind == EV_DATA_OPEN;
        g_mutex_unlock(&l->h->lock);
        update_tap(l->h);
        break;
    case EV_CTL_OPEN:
        on_control_open(l);
        break;
    case EV_CTL_MESSAGE:
        on_control_message(l, ev->text);
        break;
    }
    return G_SOURCE_REMOVE;
}

static void post(struct depth_link *l, enum ev_kind kind, const char *text)
{
    struct event *ev = g_new0(struct event, 1);
    ev->l = link_ref(l);
    ev->kind = kind;
    ev->text = g_strdup(text);
    GSource *src = g_idle_source_new();
    g_source_set_callback(src, event_dispatch, ev, event_free);
    g_source_attach(src, l->h->ctx);
    g_source_unref(src);
}

static void on_data_open(GstWebRTCDataChannel *c, gpointer l) { (void)c; post(l, EV_DATA_OPEN, NULL); }
static void on_data_close(GstWebRTCDataChannel *c, gpointer l) { (void)c; post(l, EV_DATA_CLOSE, NULL); }
static void on_ctl_open(GstWebRTCDataChannel *c, gpointer l) { (void)c; post(l, EV_CTL_OPEN, NULL); }

static void on_ctl_string(GstWebRTCDataChannel *c, const gchar *text, gpointer l)
{
    (void)c;
    post(l, EV_CTL_MESSAGE, text ? text : "");
}

/* ---- lifetimes ---- */

struct depth_link *depth_link_new(struct depth_hub *h, GstElement *webrtc,
                                  const struct depth_request *req, const char *session_id)
{
    struct depth_link *l = g_new0(struct depth_link, 1);
    l->refs = 1;
    l->h = h;
    l->session_id = g_strdup(session_id);
    l->req = *req;
    list_init(&l->link);
    if (!h->unavailable) {
        GstStructure *opts = gst_structure_new("options", "ordered", G_TYPE_BOOLEAN, FALSE,
                                               "max-retransmits", G_TYPE_INT, 0, NULL);
        g_signal_emit_by_name(webrtc, "create-data-channel", "depth", opts, &l->data);
        gst_structure_free(opts);
    }
    g_signal_emit_by_name(webrtc, "create-data-channel", "depth-control", NULL, &l->ctl);
    if (!l->ctl || (!h->unavailable && !l->data)) {
        log_warn("depth %s: webrtcbin made no depth channel", session_id);
        link_unref(l);
        return NULL;
    }
    if (l->data) {
        g_signal_connect(l->data, "on-open", G_CALLBACK(on_data_open), l);
        g_signal_connect(l->data, "on-close", G_CALLBACK(on_data_close), l);
    }
    g_signal_connect(l->ctl, "on-open", G_CALLBACK(on_ctl_open), l);
    g_signal_connect(l->ctl, "on-message-string", G_CALLBACK(on_ctl_string), l);
    g_mutex_lock(&h->lock);
    list_insert_tail(&h->links, &l->link);
    g_mutex_unlock(&h->lock);
    if (req->note[0])
        log_info("depth %s: request clamped: %s", session_id, req->note);
    return l;
}

void depth_link_stop(struct depth_link *l)
{
    if (!l || l->closed)
        return;
    struct depth_hub *h = l->h;
    l->closed = true;
    g_mutex_lock(&h->lock);
    list_remove(&l->link);
    l->open = l->ctl_open = false;
    g_mutex_unlock(&h->lock);
    /* A pass that took l before it left the list ends before this returns. */
    g_mutex_lock(&h->send_lock);
    g_mutex_unlock(&h->send_lock);
    update_tap(h);
}

void depth_link_free(struct depth_link *l)
{
    if (!l)
        return;
    depth_link_stop(l);
    if (l->data)
        g_signal_handlers_disconnect_by_data(l->data, l);
    g_signal_handlers_disconnect_by_data(l->ctl, l);
    link_unref(l);
}

void depth_link_stats(struct depth_link *l, struct depth_link_stats *out)
{
    g_mutex_lock(&l->h->lock);
    *out = l->stats;
    g_mutex_unlock(&l->h->lock);
}

struct depth_hub *depth_hub_new(struct media *m, struct camera *cam, GMainContext *ctx,
                                const char *unavailable)
{
    struct depth_hub *h = g_new0(struct depth_hub, 1);
    h->m = m;
    h->cam = cam;
    h->ctx = ctx;
    h->unavailable = g_strdup(unavailable);
    atomic_init(&h->want, 0u);
    g_mutex_init(&h->lock);
    g_mutex_init(&h->send_lock);
    g_cond_init(&h->cond);
    list_init(&h->links);
    h->worker = g_thread_new("depth", worker_main, h);
    return h;
}

void depth_hub_free(struct depth_hub *h)
{
    if (!h)
        return;
    if (h->tap)
        media_tap_remove(h->tap);
    g_mutex_lock(&h->lock);
    h->stopping = true;
    g_cond_signal(&h->cond);
    g_mutex_unlock(&h->lock);
    g_thread_join(h->worker);
    depth_packers_free(&h->packers);
    free(h->latest.dbuf);
    free(h->latest.cbuf);
    free(h->work.dbuf);
    free(h->work.cbuf);
    g_cond_clear(&h->cond);
    g_mutex_clear(&h->lock);
    g_mutex_clear(&h->send_lock);
    g_free(h->unavailable);
    g_free(h);
}
