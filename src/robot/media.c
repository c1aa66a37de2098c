/* media.c - one encoder per watched stream, fanned out to every track. */
#include "robot/media.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robot/media_convert.h"
#include "common/list.h"
#include "common/log.h"

/* A viewer's PLIs (and joins) ask for keyframes; one every 250 ms at most
 * keeps a hostile or lossy viewer from turning the stream into keyframes. */
#define KEYFRAME_MIN_INTERVAL_US (250 * 1000)
/* Raw frames queued in front of an encoder that falls behind: beyond two,
 * new frames are dropped rather than adding latency. */
#define RAW_QUEUE_FRAMES 2
/* The temporal ladder (media.h): what forwarding up to each layer costs,
 * as a share of the encoder's bitrate. Layer 0 (a quarter of the frames)
 * gets a quarter: its frames are every other frame's reference, so they
 * are worth their bits; layer 1 adds a fifth for as many frames, layer 2
 * the rest for the other half. */
static const double layer_share[3] = {0.25, 0.45, 1.0};
/* The encoder's bitrate changes at most this often, and only by more
 * than BITRATE_STEP: every change resets the encoder's rate control. */
#define BITRATE_MIN_INTERVAL_US (1000 * 1000)
#define BITRATE_STEP 0.05
/* Spatial layers: 0 the camera's size, 1 half of it in each direction, at
 * a fifth of the ceiling (at least LOW_MIN_KBPS), for viewers whose link
 * cannot carry even a quarter of the full encode (its keyframes alone
 * would not fit). It exists only while a track needs it, and only with
 * VP8 temporal layers, a ceiling of at least LOW_MIN_CEILING_KBPS and a
 * camera of at least 320x240. */
#define SPATIAL 2
#define LOW_SHARE 0.2
#define LOW_MIN_KBPS 100
#define LOW_MIN_CEILING_KBPS 600

struct encoder {
    struct media *m;
    enum cam_stream stream;
    int spatial;           /* 0: full size, 1: half */
    int width, height;     /* what it encodes */
    GstElement *pipeline, *src, *sink;
    GstElement *enc;       /* the encoder: its bitrate follows the viewers */
    GstPad *enc_src;       /* the encoder's source pad: keyframe requests go here */
    int layers;            /* temporal layers (1 or 3) */
    guint bus_watch;
    gint64 last_key_us;    /* under m->lock: last keyframe request */
    GPtrArray *scratch;    /* streaming thread only: appsrcs to push to */
    /* under m->lock */
    uint64_t frames, keyframes;
    uint64_t win_frames, win_bytes;
    gint64 win_start_us;
    int target_kbps;       /* the bitrate now */
    gint64 rate_changed_us;
};

struct media_track {
    struct media *m;
    GstElement *appsrc;
    /* under m->lock */
    struct list link; /* on m->tracks */
    enum cam_stream stream;
    bool wait_key;
    uint64_t sent, skipped;
    int max_layer;         /* forwards layers 0..max_layer */
    int spatial;           /* of the encoder it takes frames from */
    int want_spatial;      /* where media_track_set_rung moves it (switch_idle) */
    double estimate_kbps;  /* its viewer's, or 0: unknown */
};

struct media_tap {
    struct media *m;
    unsigned mask;      /* main thread */
    media_frames_fn fn; /* fixed while registered */
    void *user;
};

struct media {
    struct camera *cam;
    struct media_params params;
    struct cam_mode mode;
    GMutex lock;
    struct encoder *enc[CAM_NSTREAMS][SPATIAL]; /* written on the main thread under lock */
    guint switch_idle;                 /* under lock: apply_switches is pending */
    struct list tracks;                /* of media_track.link, under lock */
    unsigned held;                     /* main thread: streams captured without an encoder */
    media_frames_fn observer;          /* under lock */
    void *observer_user;               /* under lock */
    struct media_tap *taps[MEDIA_MAX_TAPS]; /* written on the main thread under lock */
    struct media_convert *convert;     /* the capture thread's: frames to I420 */
};

int media_codec_parse(const char *name, enum media_codec *out)
{
    if (strcmp(name, "vp8") == 0) { *out = MEDIA_VP8; return 0; }
    if (strcmp(name, "h264") == 0) { *out = MEDIA_H264; return 0; }
    return -1;
}

const char *media_codec_name(enum media_codec codec)
{
    return codec == MEDIA_H264 ? "h264" : "vp8";
}

GstCaps *media_encoded_caps(const struct media *m)
{
    if (m->params.codec == MEDIA_H264)
        return gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au,"
                                    "profile=constrained-baseline");
    return gst_caps_from_string("video/x-vp8");
}

const char *media_payloader(const struct media *m)
{
    return m->params.codec == MEDIA_H264 ? "rtph264pay" : "rtpvp8pay";
}

const char *media_rtp_encoding(const struct media *m)
{
    return m->params.codec == MEDIA_H264 ? "H264" : "VP8";
}

GstCaps *media_rtp_caps(const struct media *m, int pt, int twcc_id)
{
    GstCaps *caps = gst_caps_new_simple(
        "application/x-rtp", "media", G_TYPE_STRING, "video", "encoding-name", G_TYPE_STRING,
        media_rtp_encoding(m), "payload", G_TYPE_INT, pt, "clock-rate", G_TYPE_INT, 90000,
        "rtcp-fb-nack-pli", G_TYPE_BOOLEAN, TRUE, "rtcp-fb-nack", G_TYPE_BOOLEAN, TRUE,
        "rtcp-fb-ccm-fir", G_TYPE_BOOLEAN, TRUE, NULL);
    if (twcc_id > 0 && twcc_id < 15) {
        /* rtpsession numbers every packet it sends with this extension, and
         * turns the viewer's feedback into twcc-stats (peer_bwe.c). */
        char key[16];
        snprintf(key, sizeof key, "extmap-%d", twcc_id);
        gst_caps_set_simple(caps, "rtcp-fb-transport-cc", G_TYPE_BOOLEAN, TRUE, key,
                            G_TYPE_STRING, MEDIA_TWCC_URI, NULL);
    }
    if (m->params.codec == MEDIA_H264)
        /* The payloader derives profile-level-id from the stream's SPS
         * (constrained baseline); fixing it here would fail negotiation. */
        gst_caps_set_simple(caps, "packetization-mode", G_TYPE_STRING, "1", NULL);
    return caps;
}

/* ---- frames in: the camera's capture thread ---- */

static void on_camera_frames(void *user, const struct cam_frameset *set)
{
    struct media *m = user;
    /* The observer runs under the lock so that media_set_observer(NULL)
     * returning means it is not running and will not run again. */
    g_mutex_lock(&m->lock);
    if (m->observer)
        m->observer(m->observer_user, set);
    for (int i = 0; i < MEDIA_MAX_TAPS; i++)
        if (m->taps[i])
            m->taps[i]->fn(m->taps[i]->user, set);
    g_mutex_unlock(&m->lock);
    for (size_t i = 0; i < set->count; i++) {
        const struct cam_frame *f = &set->frames[i];
        GstElement *src[SPATIAL] = {NULL};
        g_mutex_lock(&m->lock);
        for (int sp = 0; sp < SPATIAL; sp++)
            if (m->enc[f->stream][sp])
                src[sp] = gst_object_ref(m->enc[f->stream][sp]->src);
        g_mutex_unlock(&m->lock);
        if (!src[0] && !src[1])
            continue;
        /* One conversion for both sizes: each encoder scales its own. */
        GstBuffer *buf = media_convert_frame(m->convert, f, camera_depth_scale(m->cam));
        for (int sp = 0; sp < SPATIAL; sp++) {
            if (!src[sp])
                continue;
            if (buf) /* takes a reference; drops when full */
                gst_app_src_push_buffer(GST_APP_SRC(src[sp]), gst_buffer_ref(buf));
            gst_object_unref(src[sp]);
        }
        if (buf)
            gst_buffer_unref(buf);
    }
}

/* ---- frames out: each encoder's streaming thread ---- */

static void request_key_of(struct media *m, enum cam_stream s, int sp, bool force);

/* The temporal layer of an encoded frame: vp8enc says so in a custom meta
 * that rtpvp8pay also reads (it writes TID and TL0PICIDX from it). */
static int frame_layer(const struct encoder *e, GstBuffer *buf)
{
    if (e->layers < 2)
        return 0;
    GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, "GstVP8Meta");
    guint id = 0;
    if (!meta || !gst_structure_get_uint(gst_custom_meta_get_structure(meta), "layer-id", &id))
        return 0;
    return id < 3 ? (int)id : 2;
}

static GstFlowReturn on_encoded(GstAppSink *sink, gpointer user)
{
    struct encoder *e = user;
    struct media *m = e->m;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_FLUSHING;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    bool key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    size_t size = gst_buffer_get_size(buf);
    bool want_key = false;
    int layer = frame_layer(e, buf);

    g_ptr_array_set_size(e->scratch, 0);
    g_mutex_lock(&m->lock);
    e->frames++;
    e->keyframes += key;
    e->win_frames++;
    e->win_bytes += size;
    struct list *pos;
    list_foreach(pos, &m->tracks) {
        struct media_track *t = list_entry(pos, struct media_track, link);
        if (t->stream != e->stream || t->spatial != e->spatial)
            continue;
        if (t->wait_key && !key)
            continue;
        if (layer > t->max_layer) {
            t->skipped++;
            continue;
        }
        if (gst_app_src_get_current_level_bytes(GST_APP_SRC(t->appsrc)) >
            m->params.track_queue_bytes) {
            /* The peer is not keeping up: skip to a fresh keyframe rather
             * than queue seconds of video or send a broken reference chain. */
            t->wait_key = true;
            want_key = true;
            continue;
        }
        t->wait_key = false;
        t->sent++;
        g_ptr_array_add(e->scratch, gst_object_ref(t->appsrc));
    }
    g_mutex_unlock(&m->lock);

    for (guint i = 0; i < e->scratch->len; i++) {
        GstElement *src = g_ptr_array_index(e->scratch, i);
        /* A shallow copy: the encoded bytes are shared by every peer; each
         * peer's appsrc stamps its own pipeline's running time. */
        GstBuffer *out = gst_buffer_copy(buf);
        GST_BUFFER_PTS(out) = GST_CLOCK_TIME_NONE;
        GST_BUFFER_DTS(out) = GST_CLOCK_TIME_NONE;
        GST_BUFFER_DURATION(out) = GST_CLOCK_TIME_NONE;
        gst_app_src_push_buffer(GST_APP_SRC(src), out);
        gst_object_unref(src);
    }
    g_ptr_array_set_size(e->scratch, 0);
    gst_sample_unref(sample);
    if (want_key)
        request_key_of(m, e->stream, e->spatial, false);
    return GST_FLOW_OK;
}

static gboolean on_encoder_bus(GstBus *bus, GstMessage *msg, gpointer user)
{
    (void)bus;
    struct encoder *e = user;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR || GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
        GError *err = NULL;
        gchar *dbg = NULL;
        if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
            gst_message_parse_error(msg, &err, &dbg);
        else
            gst_message_parse_warning(msg, &err, &dbg);
        log_msg(GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR ? LOGL_ERROR : LOGL_WARN,
                "media: %s encoder%s: %s (%s)", cam_stream_name(e->stream),
                e->spatial ? " (half size)" : "",
                err ? err->message : "?", dbg ? dbg : "");
        g_clear_error(&err);
        g_free(dbg);
    }
    return G_SOURCE_CONTINUE;
}

/* ---- encoder lifetime: main thread ---- */

static char *encoder_description(const struct media *m, int width, int height)
{
    int fps = m->mode.fps;
    /* A keyframe every 2 s bounds recovery after loss even without PLI. */
    int gop = fps * 2;
    /* I420 frames of the camera's size (media_convert.h) */
    size_t raw = (size_t)m->mode.width * (size_t)m->mode.height * 3 / 2 * RAW_QUEUE_FRAMES;
    const char *src = "appsrc name=src is-live=true format=time do-timestamp=true "
                      "leaky-type=downstream block=false";
    const char *sink = "appsink name=sink sync=false async=false max-buffers=8 drop=false";
    if (m->params.codec == MEDIA_H264)
        return g_strdup_printf(
            "%s max-bytes=%zu ! videoconvert ! video/x-raw,format=I420 ! "
            "x264enc name=enc tune=zerolatency speed-preset=ultrafast bitrate=%d "
            "key-int-max=%d threads=2 ! "
            "video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au ! %s",
            src, raw, m->params.bitrate_kbps, gop, sink);
    return g_strdup_printf(
        "%s max-bytes=%zu ! videoconvert ! videoscale ! "
        "video/x-raw,format=I420,width=%d,height=%d ! "
        "vp8enc name=enc deadline=1 cpu-used=16 end-usage=cbr target-bitrate=%d "
        "keyframe-max-dist=%d lag-in-frames=0 error-resilient=default threads=1 "
        "token-partitions=0 ! %s",
        src, raw, width, height, m->params.bitrate_kbps * 1000, gop, sink);
}

/* vp8enc's temporal-scalability-* integer properties are GValueArrays, a
 * type GLib deprecates but the property still has. */
static void set_int_array(GstElement *enc, const char *prop, const int *v, guint n)
{
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    GValueArray *a = g_value_array_new(n);
    for (guint i = 0; i < n; i++) {
        GValue x = G_VALUE_INIT;
        g_value_init(&x, G_TYPE_INT);
        g_value_set_int(&x, v[i]);
        g_value_array_append(a, &x);
        g_value_unset(&x);
    }
    g_object_set(enc, prop, a, NULL);
    g_value_array_free(a);
    G_GNUC_END_IGNORE_DEPRECATIONS
}

/* Three temporal layers in the pattern 0 2 1 2 (media.h). Layer 0 refers
 * to and updates only the last-frame buffer; layers 1 and 2 refer to it
 * and update nothing, not even the entropy context, so that a viewer that
 * does not receive them decodes exactly what the encoder assumed. Every
 * frame of layers 1 and 2 is therefore a sync point of its layer. Before
 * the encoder starts (libvpx reads the layout once). */
static void encoder_set_layers(GstElement *enc)
{
    static const int ids[] = {0, 2, 1, 2}, decimators[] = {4, 2, 1};
    g_object_set(enc, "temporal-scalability-number-layers", 3,
                 "temporal-scalability-periodicity", 4, NULL);
    set_int_array(enc, "temporal-scalability-layer-id", ids, G_N_ELEMENTS(ids));
    set_int_array(enc, "temporal-scalability-rate-decimator", decimators,
                  G_N_ELEMENTS(decimators));
#define LAYER0 "no-ref-golden+no-ref-alt+no-upd-golden+no-upd-alt"
#define UPPER "no-ref-golden+no-ref-alt+no-upd-last+no-upd-golden+no-upd-alt+no-upd-entropy"
    gst_util_set_object_arg(G_OBJECT(enc), "temporal-scalability-layer-flags",
                            "<" LAYER0 ", " UPPER ", " UPPER ", " UPPER ">");
#undef LAYER0
#undef UPPER
    gst_util_set_object_arg(G_OBJECT(enc), "temporal-scalability-layer-sync-flags",
                            "<true, true, true, true>");
}

/* Any thread: the encoder's properties take its own lock. */
static void encoder_apply_bitrate(GstElement *enc, enum media_codec codec, int layers, int kbps)
{
    if (codec == MEDIA_H264) {
        g_object_set(enc, "bitrate", (guint)kbps, NULL);
        return;
    }
    if (layers > 1) {
        int rates[G_N_ELEMENTS(layer_share)];
        for (size_t i = 0; i < G_N_ELEMENTS(layer_share); i++)
            rates[i] = (int)(layer_share[i] * kbps * 1000.0);
        set_int_array(enc, "temporal-scalability-target-bitrate", rates, G_N_ELEMENTS(rates));
    }
    g_object_set(enc, "target-bitrate", kbps * 1000, NULL);
}

static void encoder_free(struct encoder *e)
{
    if (!e)
        return;
    if (e->pipeline) {
        gst_element_set_state(e->pipeline, GST_STATE_NULL);
        if (e->bus_watch)
            g_source_remove(e->bus_watch);
    }
    if (e->enc_src)
        gst_object_unref(e->enc_src);
    if (e->enc)
        gst_object_unref(e->enc);
    if (e->src)
        gst_object_unref(e->src);
    if (e->sink)
        gst_object_unref(e->sink);
    if (e->pipeline)
        gst_object_unref(e->pipeline);
    if (e->scratch)
        g_ptr_array_unref(e->scratch);
    g_free(e);
}

/* The bitrate of the half-size encoder. */
static int low_kbps(const struct media *m)
{
    return MAX(LOW_MIN_KBPS, (int)(LOW_SHARE * m->params.bitrate_kbps));
}

static bool spatial_enabled(const struct media *m)
{
    return m->params.codec == MEDIA_VP8 && m->params.temporal_layers >= 3 &&
           m->params.spatial_layer && m->params.bitrate_kbps >= LOW_MIN_CEILING_KBPS &&
           m->mode.width >= 320 && m->mode.height >= 240;
}

static struct encoder *encoder_new(struct media *m, enum cam_stream s, int sp, char *err,
                                   size_t errlen)
{
    struct encoder *e = g_new0(struct encoder, 1);
    e->m = m;
    e->stream = s;
    e->spatial = sp;
    e->width = sp ? (m->mode.width / 2) & ~1 : m->mode.width;
    e->height = sp ? (m->mode.height / 2) & ~1 : m->mode.height;
    e->scratch = g_ptr_array_new();
    e->win_start_us = g_get_monotonic_time();

    char *desc = encoder_description(m, e->width, e->height);
    GError *gerr = NULL;
    e->pipeline = gst_parse_launch(desc, &gerr);
    g_free(desc);
    if (!e->pipeline || gerr) {
        snprintf(err, errlen, "cannot build the %s encoder: %s", cam_stream_name(s),
                 gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        encoder_free(e);
        return NULL;
    }
    gchar *name = g_strdup_printf("encoder-%s%s", cam_stream_name(s), sp ? "-half" : "");
    gst_object_set_name(GST_OBJECT(e->pipeline), name);
    g_free(name);

    e->src = gst_bin_get_by_name(GST_BIN(e->pipeline), "src");
    e->sink = gst_bin_get_by_name(GST_BIN(e->pipeline), "sink");
    e->enc = gst_bin_get_by_name(GST_BIN(e->pipeline), "enc");
    e->enc_src = gst_element_get_static_pad(e->enc, "src");
    e->layers = m->params.codec == MEDIA_VP8 && m->params.temporal_layers >= 3 ? 3 : 1;
    if (e->layers > 1)
        encoder_set_layers(e->enc);
    e->target_kbps = sp ? low_kbps(m) : m->params.bitrate_kbps;
    encoder_apply_bitrate(e->enc, m->params.codec, e->layers, e->target_kbps);

    GstCaps *caps = media_convert_caps(m->convert, m->mode.fps);
    g_object_set(e->src, "caps", caps, NULL);
    gst_caps_unref(caps);

    GstAppSinkCallbacks cb = {.new_sample = on_encoded};
    gst_app_sink_set_callbacks(GST_APP_SINK(e->sink), &cb, e, NULL);

    GstBus *bus = gst_element_get_bus(e->pipeline);
    e->bus_watch = gst_bus_add_watch(bus, on_encoder_bus, e);
    gst_object_unref(bus);

    if (gst_element_set_state(e->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        snprintf(err, errlen, "cannot start the %s encoder", cam_stream_name(s));
        encoder_free(e);
        return NULL;
    }
    return e;
}

static unsigned running_mask(struct media *m)
{
    unsigned mask = m->held;
    for (int i = 0; i < MEDIA_MAX_TAPS; i++)
        if (m->taps[i])
            mask |= m->taps[i]->mask;
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (m->enc[s][0] || m->enc[s][1])
            mask |= CAM_MASK(s);
    return mask;
}

/* Main thread. Starts the encoder of s at size sp if it is not running. */
static int encoder_ensure(struct media *m, enum cam_stream s, int sp, char *err, size_t errlen)
{
    if (m->enc[s][sp])
        return 0;
    struct encoder *e = encoder_new(m, s, sp, err, errlen);
    if (!e)
        return -1;
    g_mutex_lock(&m->lock);
    m->enc[s][sp] = e;
    g_mutex_unlock(&m->lock);
    camera_set_streams(m->cam, running_mask(m));
    log_info("media: %s encoder%s started (%s, %dx%d, %d kbit/s%s)", cam_stream_name(s),
             sp ? " (half size)" : "", media_codec_name(m->params.codec), e->width, e->height,
             e->target_kbps, e->layers > 1 ? ", 3 temporal layers" : "");
    return 0;
}

/* Main thread. Stops the encoders of s that no track takes frames from. */
static void encoder_release(struct media *m, enum cam_stream s)
{
    for (int sp = 0; sp < SPATIAL; sp++) {
        struct encoder *e = NULL;
        g_mutex_lock(&m->lock);
        bool watched = false;
        struct list *pos;
        list_foreach(pos, &m->tracks) {
            struct media_track *t = list_entry(pos, struct media_track, link);
            watched |= t->stream == s && (t->spatial == sp || t->want_spatial == sp);
        }
        if (!watched) {
            e = m->enc[s][sp];
            m->enc[s][sp] = NULL;
        }
        g_mutex_unlock(&m->lock);
        if (!e)
            continue;
        camera_set_streams(m->cam, running_mask(m));
        encoder_free(e); /* outside the lock: this joins its streaming thread */
        log_info("media: %s encoder%s stopped (no viewers)", cam_stream_name(s),
                 sp ? " (half size)" : "");
    }
}

struct media *media_new(struct camera *cam, const struct media_params *params, char *err,
                        size_t errlen)
{
    const char *needed[] = {"appsrc", "appsink", "videoconvert",
                            params->codec == MEDIA_H264 ? "x264enc" : "vp8enc",
                            params->codec == MEDIA_H264 ? "rtph264pay" : "rtpvp8pay",
                            "webrtcbin", "nicesrc", "dtlsdec"};
    for (size_t i = 0; i < G_N_ELEMENTS(needed); i++) {
        GstElementFactory *f = gst_element_factory_find(needed[i]);
        if (!f) {
            snprintf(err, errlen, "GStreamer element '%s' is missing (install the packages in "
                     "deps/debian-packages.txt)", needed[i]);
            return NULL;
        }
        gst_object_unref(f);
    }
    struct media *m = g_new0(struct media, 1);
    m->cam = cam;
    m->params = *params;
    m->mode = *camera_mode(cam);
    g_mutex_init(&m->lock);
    list_init(&m->tracks);
    m->convert = media_convert_new(m->mode.width, m->mode.height);
    if (camera_start(cam, 0, on_camera_frames, m, err, errlen) < 0) {
        media_convert_free(m->convert);
        g_mutex_clear(&m->lock);
        g_free(m);
        return NULL;
    }
    return m;
}

void media_hold_streams(struct media *m, unsigned mask)
{
    m->held = mask & CAM_MASK_ALL;
    camera_set_streams(m->cam, running_mask(m));
}

unsigned media_captured_streams(struct media *m)
{
    return running_mask(m);
}

void media_set_observer(struct media *m, media_frames_fn fn, void *user)
{
    g_mutex_lock(&m->lock);
    m->observer = fn;
    m->observer_user = user;
    g_mutex_unlock(&m->lock);
}

struct media_tap *media_tap_add(struct media *m, unsigned mask, media_frames_fn fn, void *user)
{
    for (int i = 0; i < MEDIA_MAX_TAPS; i++) {
        if (m->taps[i])
            continue;
        struct media_tap *t = g_new0(struct media_tap, 1);
        *t = (struct media_tap){.m = m, .mask = mask & CAM_MASK_ALL, .fn = fn, .user = user};
        g_mutex_lock(&m->lock);
        m->taps[i] = t;
        g_mutex_unlock(&m->lock);
        camera_set_streams(m->cam, running_mask(m));
        return t;
    }
    return NULL;
}

void media_tap_set_mask(struct media_tap *t, unsigned mask)
{
    t->mask = mask & CAM_MASK_ALL;
    camera_set_streams(t->m->cam, running_mask(t->m));
}

void media_tap_remove(struct media_tap *t)
{
    if (!t)
        return;
    struct media *m = t->m;
    g_mutex_lock(&m->lock);
    for (int i = 0; i < MEDIA_MAX_TAPS; i++)
        if (m->taps[i] == t)
            m->taps[i] = NULL;
    g_mutex_unlock(&m->lock);
    camera_set_streams(m->cam, running_mask(m));
    g_free(t);
}

int media_restart_camera(struct media *m, char *err, size_t errlen)
{
    camera_stop(m->cam);
    if (camera_start(m->cam, running_mask(m), on_camera_frames, m, err, errlen) < 0)
        return -1;
    /* Every encoder restarts from a keyframe, so that viewers recover at once. */
    for (int s = 0; s < CAM_NSTREAMS; s++)
        for (int sp = 0; sp < SPATIAL; sp++)
            if (m->enc[s][sp])
                request_key_of(m, (enum cam_stream)s, sp, true);
    return 0;
}

void media_free(struct media *m)
{
    if (!m)
        return;
    camera_stop(m->cam);
    if (m->switch_idle)
        g_source_remove(m->switch_idle);
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        for (int sp = 0; sp < SPATIAL; sp++) {
            encoder_free(m->enc[s][sp]);
            m->enc[s][sp] = NULL;
        }
    }
    media_convert_free(m->convert); /* the capture thread stopped above */
    g_mutex_clear(&m->lock);
    g_free(m);
}

/* Any thread. Sends a force-key-unit event to the encoder of s, unless
 * one was sent less than KEYFRAME_MIN_INTERVAL_US ago (force skips that
 * check: a joining or switching track must not wait). */
static void request_key_of(struct media *m, enum cam_stream s, int sp, bool force)
{
    GstPad *pad = NULL;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&m->lock);
    struct encoder *e = m->enc[s][sp];
    if (e && (force || now - e->last_key_us >= KEYFRAME_MIN_INTERVAL_US)) {
        e->last_key_us = now;
        pad = gst_object_ref(e->enc_src);
    }
    g_mutex_unlock(&m->lock);
    if (!pad)
        return;
    log_debug("media: keyframe of %s%s requested", cam_stream_name(s), sp ? " (half)" : "");
    /* Outside the lock; the encoder may be stopping on the main thread, and
     * the pad ref keeps the send safe (a stopped encoder ignores it). */
    gst_pad_send_event(pad,
                       gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    gst_object_unref(pad);
}

struct media_track *media_track_new(struct media *m, enum cam_stream s, GstElement *appsrc,
                                    char *err, size_t errlen)
{
    if (encoder_ensure(m, s, 0, err, errlen) < 0)
        return NULL;
    struct media_track *t = g_new0(struct media_track, 1);
    t->m = m;
    t->appsrc = gst_object_ref(appsrc);
    t->stream = s;
    t->wait_key = true;
    t->max_layer = G_N_ELEMENTS(layer_share) - 1;
    list_init(&t->link);
    g_mutex_lock(&m->lock);
    list_insert_head(&m->tracks, &t->link);
    g_mutex_unlock(&m->lock);
    request_key_of(m, s, 0, true);
    return t;
}

int media_tracks_switch(struct media_track *const *tracks, const enum cam_stream *streams,
                        size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    struct media *m = tracks[0]->m;
    /* Every encoder the tracks need first: a stream that one track leaves
     * and another takes keeps its encoder (no stop, start and keyframe),
     * and a failure leaves every track where it was. */
    for (size_t i = 0; i < n; i++) {
        if (tracks[i]->stream == streams[i] ||
            encoder_ensure(m, streams[i], tracks[i]->spatial, err, errlen) == 0)
            continue;
        for (size_t j = 0; j < i; j++)
            encoder_release(m, streams[j]); /* those nobody watches after all */
        return -1;
    }
    bool left[CAM_NSTREAMS] = {false};
    for (size_t i = 0; i < n; i++) {
        struct media_track *t = tracks[i];
        if (t->stream == streams[i])
            continue;
        g_mutex_lock(&m->lock);
        left[t->stream] = true;
        t->stream = streams[i];
        t->wait_key = true;
        int sp = t->spatial;
        g_mutex_unlock(&m->lock);
        request_key_of(m, streams[i], sp, true);
    }
    for (int st = 0; st < CAM_NSTREAMS; st++)
        if (left[st])
            encoder_release(m, (enum cam_stream)st);
    return 0;
}

void media_track_request_keyframe(struct media_track *t)
{
    g_mutex_lock(&t->m->lock);
    enum cam_stream s = t->stream;
    int sp = t->spatial;
    g_mutex_unlock(&t->m->lock);
    request_key_of(t->m, s, sp, false);
}

int media_bitrate_ceiling(const struct media *m)
{
    return m->params.bitrate_kbps;
}

/* One rung of a stream's ladder: an encoder's size and the highest
 * temporal layer forwarded from it, and what that costs. */
struct rung {
    int spatial, layer;
    double kbps;
};

/* Under m->lock. The rungs of stream s, cheapest first: the half-size
 * encoder's three layers when spatial layers are on, then the full-size
 * encoder's layers (its 7.5 fps layer is left out when a half-size one
 * exists: 30 fps at half size is worth more to a driver than 7.5 at full);
 * a rung that costs less than the one below it is left out. */
static int ladder(const struct media *m, enum cam_stream s, struct rung *out)
{
    const struct encoder *hi = m->enc[s][0];
    double top = hi ? hi->target_kbps : m->params.bitrate_kbps;
    int layers = m->params.codec == MEDIA_VP8 && m->params.temporal_layers >= 3 ? 3 : 1;
    int n = 0;
    bool spatial = spatial_enabled(m);
    for (int l = 0; spatial && l < layers; l++)
        out[n++] = (struct rung){.spatial = 1, .layer = l, .kbps = layer_share[l] * low_kbps(m)};
    for (int l = spatial ? 1 : 0; l < layers; l++) {
        double k = layers == 1 ? top : layer_share[l] * top;
        if (n && k <= out[n - 1].kbps)
            continue;
        out[n++] = (struct rung){.spatial = 0, .layer = l, .kbps = k};
    }
    return n;
}

int media_ladder(struct media *m, enum cam_stream s, double *rates_kbps, bool *keyframe,
                 int max)
{
    struct rung r[MEDIA_MAX_RUNGS];
    g_mutex_lock(&m->lock);
    int n = ladder(m, s, r);
    g_mutex_unlock(&m->lock);
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        rates_kbps[i] = r[i].kbps;
        keyframe[i] = i > 0 && r[i].spatial != r[i - 1].spatial;
    }
    return n;
}

/* Main thread (an idle callback): moves the tracks media_track_set_rung
 * asked to move to another size, starting the encoder they need first and
 * stopping the ones nobody takes frames from any more. */
static gboolean apply_switches(gpointer data)
{
    struct media *m = data;
    bool need[CAM_NSTREAMS][SPATIAL] = {{false}};
    struct list *pos;
    g_mutex_lock(&m->lock);
    m->switch_idle = 0;
    list_foreach(pos, &m->tracks) {
        struct media_track *t = list_entry(pos, struct media_track, link);
        if (t->want_spatial != t->spatial)
            need[t->stream][t->want_spatial] = true;
    }
    g_mutex_unlock(&m->lock);
    bool key[CAM_NSTREAMS][SPATIAL] = {{false}};
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        for (int sp = 0; sp < SPATIAL; sp++) {
            char err[256];
            bool ok = !need[s][sp] || encoder_ensure(m, (enum cam_stream)s, sp, err, sizeof err) == 0;
            if (!ok)
                log_warn("media: %s", err);
            g_mutex_lock(&m->lock);
            list_foreach(pos, &m->tracks) {
                struct media_track *t = list_entry(pos, struct media_track, link);
                if (!need[s][sp] || (int)t->stream != s || t->want_spatial != sp ||
                    t->spatial == sp)
                    continue;
                if (!ok) {
                    t->want_spatial = t->spatial; /* stays where it is */
                    continue;
                }
                t->spatial = sp;
                t->wait_key = true;
                key[s][sp] = true;
            }
            g_mutex_unlock(&m->lock);
        }
    }
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        for (int sp = 0; sp < SPATIAL; sp++)
            if (key[s][sp])
                request_key_of(m, (enum cam_stream)s, sp, true);
        encoder_release(m, (enum cam_stream)s);
    }
    return G_SOURCE_REMOVE;
}

void media_track_set_rung(struct media_track *t, int rung)
{
    struct media *m = t->m;
    struct rung r[MEDIA_MAX_RUNGS];
    g_mutex_lock(&m->lock);
    int n = ladder(m, t->stream, r);
    rung = rung < 0 ? 0 : rung >= n ? n - 1 : rung;
    t->max_layer = r[rung].layer;
    t->want_spatial = r[rung].spatial;
    if (t->want_spatial != t->spatial && !m->switch_idle)
        m->switch_idle = g_idle_add(apply_switches, m);
    g_mutex_unlock(&m->lock);
}

int media_track_rung(struct media_track *t)
{
    struct media *m = t->m;
    struct rung r[MEDIA_MAX_RUNGS];
    g_mutex_lock(&m->lock);
    int n = ladder(m, t->stream, r), found = n - 1;
    for (int i = 0; i < n; i++)
        if (r[i].spatial == t->spatial && r[i].layer >= t->max_layer) {
            found = i;
            break;
        }
    g_mutex_unlock(&m->lock);
    return found;
}

void media_track_describe(struct media_track *t, int *width, int *height, int *fps_div)
{
    struct media *m = t->m;
    g_mutex_lock(&m->lock);
    struct encoder *e = m->enc[t->stream][t->spatial];
    *width = e ? e->width : m->mode.width;
    *height = e ? e->height : m->mode.height;
    *fps_div = e && e->layers > 1 ? 1 << (2 - t->max_layer) : 1;
    g_mutex_unlock(&m->lock);
}

uint64_t media_track_frames_skipped(struct media_track *t)
{
    g_mutex_lock(&t->m->lock);
    uint64_t n = t->skipped;
    g_mutex_unlock(&t->m->lock);
    return n;
}

void media_track_set_estimate(struct media_track *t, double kbps)
{
    struct media *m = t->m;
    const struct media_params *mp = &m->params;
    GstElement *enc = NULL;
    int target = 0, layers = 1;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&m->lock);
    t->estimate_kbps = kbps > 0 ? kbps : 0;
    struct encoder *e = m->enc[t->stream][0];
    if (e) {
        double best = 0;
        struct list *pos;
        list_foreach(pos, &m->tracks) {
            struct media_track *o = list_entry(pos, struct media_track, link);
            if (o->stream == t->stream)
                best = fmax(best, o->estimate_kbps > 0 ? o->estimate_kbps : mp->bitrate_kbps);
        }
        target = (int)fmin(fmax(best, mp->min_bitrate_kbps), mp->bitrate_kbps);
        if (abs(target - e->target_kbps) > BITRATE_STEP * e->target_kbps &&
            now - e->rate_changed_us >= BITRATE_MIN_INTERVAL_US) {
            e->target_kbps = target;
            e->rate_changed_us = now;
            enc = gst_object_ref(e->enc);
            layers = e->layers;
        }
    }
    g_mutex_unlock(&m->lock);
    if (!enc)
        return;
    /* Outside the lock: the encoder takes its own, and its streaming
     * thread takes ours to fan out. */
    encoder_apply_bitrate(enc, mp->codec, layers, target);
    gst_object_unref(enc);
}

enum cam_stream media_track_stream(const struct media_track *t)
{
    return t->stream; /* written only on the main thread, where this is read */
}

uint64_t media_track_frames_sent(struct media_track *t)
{
    g_mutex_lock(&t->m->lock);
    uint64_t n = t->sent;
    g_mutex_unlock(&t->m->lock);
    return n;
}

void media_track_free(struct media_track *t)
{
    if (!t)
        return;
    struct media *m = t->m;
    g_mutex_lock(&m->lock);
    list_remove(&t->link);
    g_mutex_unlock(&m->lock);
    encoder_release(m, t->stream);
    gst_object_unref(t->appsrc);
    g_free(t);
}

void media_stats(struct media *m, enum cam_stream s, struct media_stream_stats *out)
{
    memset(out, 0, sizeof *out);
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&m->lock);
    struct list *pos;
    list_foreach(pos, &m->tracks)
        out->viewers += list_entry(pos, struct media_track, link)->stream == s;
    struct encoder *e = m->enc[s][0];
    out->spatial_layers = (m->enc[s][0] != NULL) + (m->enc[s][1] != NULL);
    if (e) {
        out->running = true;
        out->frames = e->frames;
        out->keyframes = e->keyframes;
        out->target_kbps = e->target_kbps;
        out->layers = e->layers;
        double secs = (double)(now - e->win_start_us) / 1e6;
        if (secs > 0.05) {
            out->fps = (double)e->win_frames / secs;
            out->bitrate_kbps = (double)e->win_bytes * 8.0 / 1000.0 / secs;
            e->win_frames = 0;
            e->win_bytes = 0;
            e->win_start_us = now;
        }
    }
    g_mutex_unlock(&m->lock);
}

unsigned media_encoder_count(struct media *m)
{
    unsigned n = 0;
    for (int s = 0; s < CAM_NSTREAMS; s++)
        for (int sp = 0; sp < SPATIAL; sp++)
            n += m->enc[s][sp] != NULL;
    return n;
}

unsigned media_count_elements(GstBin *bin)
{
    unsigned n = 0;
    GstIterator *it = gst_bin_iterate_recurse(bin);
    GValue item = G_VALUE_INIT;
    gboolean done = FALSE;
    while (!done) {
        switch (gst_iterator_next(it, &item)) {
        case GST_ITERATOR_OK:
            n++;
            g_value_reset(&item);
            break;
        case GST_ITERATOR_RESYNC:
            n = 0;
            gst_iterator_resync(it);
            break;
        default:
            done = TRUE;
            break;
        }
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return n;
}

unsigned media_element_count(struct media *m)
{
    unsigned n = 0;
    for (int s = 0; s < CAM_NSTREAMS; s++)
        for (int sp = 0; sp < SPATIAL; sp++)
            if (m->enc[s][sp])
                n += media_count_elements(GST_BIN(m->enc[s][sp]->pipeline));
    return n;
}
