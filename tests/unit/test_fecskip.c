/* test_fecskip.c - fecskip.c against a real webrtcbin: two webrtcbins in
 * one process negotiate one VP8 track and connect over loopback; with
 * fecskip attached to the sender, its send path skips webrtcbin's FEC bin
 * and the payloader's lists of packets reach libnice's sink whole. No
 * signaling, no robot. */
#define GST_USE_UNSTABLE_API
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include "robot/fecskip.h"

/* Every wait is bounded: 10 s of main loop at most. */
#define WAIT_US (10 * G_USEC_PER_SEC)

struct side {
    GstElement *pipeline, *webrtc;
    struct side *other;
};

struct pair {
    struct side send, recv;
    gint lists, buffers; /* what the sender's nicesink got (atomic) */
};

static void on_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer data)
{
    (void)webrtc;
    struct side *s = data;
    g_signal_emit_by_name(s->other->webrtc, "add-ice-candidate", mline, candidate);
}

/* Waits for a promise's reply (webrtcbin answers on its own thread). */
static GstWebRTCSessionDescription *await_sdp(GstPromise *promise, const char *field)
{
    assert_int_equal(gst_promise_wait(promise), GST_PROMISE_RESULT_REPLIED);
    GstWebRTCSessionDescription *sdp = NULL;
    gst_structure_get(gst_promise_get_reply(promise), field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                      &sdp, NULL);
    gst_promise_unref(promise);
    assert_non_null(sdp);
    return sdp;
}

static void set_description(GstElement *webrtc, const char *signal,
                            GstWebRTCSessionDescription *sdp)
{
    GstPromise *p = gst_promise_new();
    g_signal_emit_by_name(webrtc, signal, sdp, p);
    assert_int_equal(gst_promise_wait(p), GST_PROMISE_RESULT_REPLIED);
    gst_promise_unref(p);
}

static GstPadProbeReturn on_nicesink_data(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    struct pair *pr = data;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
        g_atomic_int_inc(&pr->lists);
    else
        g_atomic_int_inc(&pr->buffers);
    return GST_PAD_PROBE_OK;
}

/* Counts what reaches every nicesink inside the sender's webrtcbin. */
static unsigned watch_nicesinks(struct pair *pr)
{
    unsigned n = 0;
    GstIterator *it = gst_bin_iterate_recurse(GST_BIN(pr->send.webrtc));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        GstElement *el = g_value_get_object(&item);
        GstElementFactory *f = gst_element_get_factory(el);
        if (f && strcmp(GST_OBJECT_NAME(f), "nicesink") == 0) {
            GstPad *sink = gst_element_get_static_pad(el, "sink");
            gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                              on_nicesink_data, pr, NULL);
            gst_object_unref(sink);
            n++;
        }
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return n;
}

/* libnice gathers no loopback address unless told to (FACTS.md). */
static void loopback_only(GstElement *webrtc)
{
    GstElement *ice = NULL;
    gboolean ok = FALSE;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    assert_non_null(ice);
    g_signal_emit_by_name(ice, "add-local-ip-address", "127.0.0.1", &ok);
    assert_true(ok);
    GObject *agent = NULL;
    g_object_get(ice, "agent", &agent, NULL);
    if (agent) {
        g_object_set(agent, "upnp", FALSE, NULL);
        g_object_unref(agent);
    }
    gst_object_unref(ice);
}

static void build(struct pair *pr)
{
    GError *gerr = NULL;
    /* As the robot builds a track (peer.c): the payloader straight into
     * webrtcbin, the RTP caps as the transceiver's codec preferences. */
    pr->send.pipeline = gst_parse_launch(
        "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! "
        "vp8enc deadline=1 target-bitrate=800000 ! rtpvp8pay name=pay mtu=1200 pt=96 "
        "webrtcbin name=w bundle-policy=max-bundle",
        &gerr);
    assert_null(gerr);
    pr->send.webrtc = gst_bin_get_by_name(GST_BIN(pr->send.pipeline), "w");
    assert_non_null(pr->send.webrtc);
    GstPad *sink = gst_element_request_pad_simple(pr->send.webrtc, "sink_%u");
    GstWebRTCRTPTransceiver *trans = NULL;
    g_object_get(sink, "transceiver", &trans, NULL);
    assert_non_null(trans);
    GstCaps *caps = gst_caps_from_string(
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000");
    g_object_set(trans, "codec-preferences", caps, "direction",
                 GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
    gst_caps_unref(caps);
    gst_object_unref(trans);
    GstElement *pay = gst_bin_get_by_name(GST_BIN(pr->send.pipeline), "pay");
    GstPad *out = gst_element_get_static_pad(pay, "src");
    assert_int_equal(gst_pad_link(out, sink), GST_PAD_LINK_OK);
    gst_object_unref(out);
    gst_object_unref(pay);
    gst_object_unref(sink);
    pr->recv.pipeline = gst_pipeline_new(NULL);
    pr->recv.webrtc = gst_element_factory_make("webrtcbin", NULL);
    assert_non_null(pr->send.webrtc);
    assert_non_null(pr->recv.webrtc);
    g_object_set(pr->recv.webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    gst_bin_add(GST_BIN(pr->recv.pipeline), gst_object_ref(pr->recv.webrtc));
    pr->send.other = &pr->recv;
    pr->recv.other = &pr->send;
    loopback_only(pr->send.webrtc);
    loopback_only(pr->recv.webrtc);
    g_signal_connect(pr->send.webrtc, "on-ice-candidate", G_CALLBACK(on_candidate), &pr->send);
    g_signal_connect(pr->recv.webrtc, "on-ice-candidate", G_CALLBACK(on_candidate), &pr->recv);
}

static void negotiate(struct pair *pr)
{
    GstPromise *p = gst_promise_new();
    g_signal_emit_by_name(pr->send.webrtc, "create-offer", NULL, p);
    GstWebRTCSessionDescription *offer = await_sdp(p, "offer");
    set_description(pr->send.webrtc, "set-local-description", offer);
    set_description(pr->recv.webrtc, "set-remote-description", offer);
    gst_webrtc_session_description_free(offer);
    p = gst_promise_new();
    g_signal_emit_by_name(pr->recv.webrtc, "create-answer", NULL, p);
    GstWebRTCSessionDescription *answer = await_sdp(p, "answer");
    set_description(pr->recv.webrtc, "set-local-description", answer);
    set_description(pr->send.webrtc, "set-remote-description", answer);
    gst_webrtc_session_description_free(answer);
}

static void teardown_pair(struct pair *pr)
{
    gst_element_set_state(pr->send.pipeline, GST_STATE_NULL);
    gst_element_set_state(pr->recv.pipeline, GST_STATE_NULL);
    gst_object_unref(pr->send.webrtc);
    gst_object_unref(pr->recv.webrtc);
    gst_object_unref(pr->send.pipeline);
    gst_object_unref(pr->recv.pipeline);
}

static void test_lists_reach_nicesink_whole(void **state)
{
    (void)state;
    struct pair pr = {0};
    build(&pr);
    fecskip_attach(pr.send.webrtc);
    assert_int_not_equal(gst_element_set_state(pr.recv.pipeline, GST_STATE_PLAYING),
                         GST_STATE_CHANGE_FAILURE);
    assert_int_not_equal(gst_element_set_state(pr.send.pipeline, GST_STATE_PLAYING),
                         GST_STATE_CHANGE_FAILURE);
    negotiate(&pr);
    assert_int_equal(watch_nicesinks(&pr), 1); /* max-bundle: one transport */

    /* The payloader makes a list per frame; once ICE and DTLS are up, the
     * lists reach nicesink (the FEC bin would have split them). */
    gint64 end = g_get_monotonic_time() + WAIT_US;
    while (g_atomic_int_get(&pr.lists) < 10 && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(10000);
    }
    assert_int_equal(fecskip_count(pr.send.webrtc), 1);
    if (g_atomic_int_get(&pr.lists) < 10)
        fail_msg("nicesink got %d lists and %d single buffers in 10 s", g_atomic_int_get(&pr.lists),
                 g_atomic_int_get(&pr.buffers));
    teardown_pair(&pr);
}

int main(void)
{
    gst_init(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_reach_nicesink_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
