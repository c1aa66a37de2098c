/* test_robot_whep.c - WHEP (docs/PROTOCOL.md "WHEP") end to end, and a
 * cloud viewer that offers in create-session (the same answering path): the real
 * porthole-cloud and porthole-robot, a WHEP session opened with a fixed
 * browser-like offer on the cloud's /api/robots/{robotId}/whep and on the
 * robot's own /api/whep, its candidates trickled, ended with DELETE; every
 * bad request answered with its status (400, 404, 405, 412, 413, 415, 422)
 * while the robot keeps streaming to a viewer; and, with a cloud that runs
 * with auth, a session touched only by its creator's token subject.
 *
 * A GStreamer webrtcbin player (below, no trickle) decodes the video of
 * one session; the browser test (tests/browser/whep.mjs) does the rest with
 * Chromium. The other sessions here are never connected to, and end by
 * DELETE or --session-timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#define GST_USE_UNSTABLE_API
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>

#include "harness.h"
#include "robotfix.h"

#define API_PORT 8000

#define CREDS                                                                           \
    "a=ice-ufrag:Kx3u\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"                          \
    "a=fingerprint:sha-256 79:FC:1D:D4:51:3E:43:DA:8A:22:8E:64:6D:E7:B9:D1:91:EF:8E:30:" \
    "C6:95:FD:03:C3:AF:BC:CD:82:85:BA:39\r\na=setup:actpass\r\n"
/* A browser's offer to receive one video (VP8 or H264) and nothing else. */
static const char OFFER[] =
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
    CREDS "a=ice-options:trickle\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n";
static const char AUDIO_ONLY[] =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" CREDS
    "a=mid:0\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n";
static const char FRAG[] =
    "a=ice-ufrag:Kx3u\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n";
static const char RESTART_FRAG[] =
    "a=ice-ufrag:New1\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n";
static const char NEW_GEN_FRAG[] =
    "a=ice-ufrag:New1\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
    "a=candidate:2 1 udp 2122260223 127.0.0.1 40002 typ host\r\n";

#define SDP_CT "Content-Type: application/sdp\r\n"
#define FRAG_CT "Content-Type: application/trickle-ice-sdpfrag\r\n"

static const char *const robot_args[] = {"--api-port", "8000", NULL};
/* The ASan robot on a loaded machine may take more than the default 10 s
 * to make its first answer (DTLS certificate, encoder, gathering): a
 * generous --request-timeout, so that the test shows slowness, not a 504. */
static const char *const cloud_args[] = {"--stun-urls", "stun:127.0.0.1:3478",
                                         "--request-timeout", "60", NULL};
static const struct robotfix_config config = {.cloud_args = cloud_args,
                                              .robot_args = robot_args};

/* One request; fails the test when no response arrives. */
static void req(int port, const char *method, const char *path, const char *headers,
                const char *body, struct http_response *r)
{
    if (http_request(port, method, path, headers, body, robotfix_wait(30000), r) != 0)
        fail_msg("%s %s on port %d: no response", method, path, port);
}

/* req() and the status it must have; the response is freed. */
#define EXPECT_STATUS(port_, method_, path_, headers_, body_, want_)                        \
    do {                                                                                      \
        struct http_response r_;                                                              \
        req((port_), (method_), (path_), (headers_), (body_), &r_);                           \
        if (r_.status != (want_))                                                             \
            fail_msg("line %d: %s %s: %d %s, want %d", __LINE__, (method_), (path_),          \
                     r_.status, r_.body ? r_.body : "", (want_));                             \
        http_response_free(&r_);                                                              \
    } while (0)

/* POSTs OFFER to url (with headers) and checks the 201; returns the
 * session's path (its Location, g_free) and its ETag in etag. */
static char *open_whep(int port, const char *url, const char *headers, char *etag, size_t len)
{
    struct http_response r;
    char *h = g_strconcat(SDP_CT, headers ? headers : "", NULL);
    req(port, "POST", url, h, OFFER, &r);
    g_free(h);
    if (r.status != 201)
        fail_msg("POST %s: %d %s", url, r.status, r.body ? r.body : "");
    char *type = http_header(&r, "Content-Type");
    char *loc = http_header(&r, "Location");
    char *tag = http_header(&r, "ETag");
    assert_non_null(type);
    assert_non_null(strstr(type, "application/sdp"));
    assert_non_null(loc);
    assert_non_null(tag);
    snprintf(etag, len, "%s", tag);
    assert_true(strncmp(r.body, "v=0", 3) == 0);
    assert_non_null(strstr(r.body, "a=candidate:")); /* gathered before the answer went */
    assert_non_null(strstr(r.body, "a=sendonly"));
    free(type);
    free(tag);
    char *out = g_strdup(loc);
    free(loc);
    http_response_free(&r);
    return out;
}

/* True when the robot's REST API lists a session whose id ends path. */
static bool robot_lists(const char *path)
{
    const char *id = strrchr(path, '/') + 1;
    struct http_response r;
    req(API_PORT, "GET", "/api/webrtc/sessions", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    bool found = strstr(r.body, id) != NULL;
    if (found)
        assert_non_null(strstr(r.body, "\"origin\":\"whep\""));
    http_response_free(&r);
    return found;
}

/* The whole life of a session at base (the cloud's or the robot's). */
static void session_lifecycle(int port, const char *base)
{
    char etag[96], hdr[160];
    char *url = g_strdup_printf("%s?streams=color", base);
    char *loc = open_whep(port, url, NULL, etag, sizeof etag);
    g_free(url);
    assert_true(g_str_has_prefix(loc, base));
    assert_true(robot_lists(loc));
    EXPECT_STATUS(port, "PATCH", loc, FRAG_CT, FRAG, 204);
    snprintf(hdr, sizeof hdr, FRAG_CT "If-Match: %s\r\n", etag);
    EXPECT_STATUS(port, "PATCH", loc, hdr, FRAG, 204);
    EXPECT_STATUS(port, "PATCH", loc, FRAG_CT "If-Match: \"nope\"\r\n", FRAG, 412);
    EXPECT_STATUS(port, "PATCH", loc, FRAG_CT, RESTART_FRAG, 422); /* no If-Match: * */
    /* An ICE restart: the robot's new credentials and candidates, a new ETag. */
    struct http_response r;
    req(port, "PATCH", loc, FRAG_CT "If-Match: *\r\n", RESTART_FRAG, &r);
    assert_int_equal(r.status, 200);
    char *type = http_header(&r, "Content-Type"), *tag = http_header(&r, "ETag");
    assert_non_null(type);
    assert_non_null(strstr(type, "application/trickle-ice-sdpfrag"));
    assert_non_null(tag);
    assert_string_not_equal(tag, etag);
    assert_non_null(strstr(r.body, "a=ice-ufrag:"));
    assert_null(strstr(r.body, "a=ice-ufrag:Kx3u"));
    assert_non_null(strstr(r.body, "a=candidate:"));
    assert_non_null(strstr(r.body, "a=end-of-candidates"));
    free(type);
    http_response_free(&r);
    EXPECT_STATUS(port, "PATCH", loc, FRAG_CT, FRAG, 422); /* the old generation's */
    snprintf(hdr, sizeof hdr, FRAG_CT "If-Match: %s\r\n", tag);
    EXPECT_STATUS(port, "PATCH", loc, hdr, NEW_GEN_FRAG, 204);
    free(tag);
    EXPECT_STATUS(port, "PATCH", loc, FRAG_CT, "hello\r\n", 400);
    EXPECT_STATUS(port, "PATCH", loc, FRAG_CT,
                  "a=candidate:1 1 udp 1 127.0.0.1 nonsense typ host\r\n", 400);
    EXPECT_STATUS(port, "PATCH", loc, SDP_CT, FRAG, 415);
    EXPECT_STATUS(port, "GET", loc, NULL, NULL, 405);
    EXPECT_STATUS(port, "DELETE", loc, NULL, NULL, 200);
    assert_false(robot_lists(loc));
    EXPECT_STATUS(port, "DELETE", loc, NULL, NULL, 404);
    EXPECT_STATUS(port, "PATCH", loc, FRAG_CT, NEW_GEN_FRAG, 404);
    g_free(loc);
}

/* Every refusal at base; the robot must go on streaming to viewer v. */
static void bad_requests(struct robotfix *fx, int port, const char *base, int max_body)
{
    char *sess = g_strdup_printf("%s/AAAAAAAAAAAAAAAAAAAAAA", base);
    EXPECT_STATUS(port, "POST", base, SDP_CT, "hello", 400);
    EXPECT_STATUS(port, "POST", base, SDP_CT, AUDIO_ONLY, 400);
    EXPECT_STATUS(port, "POST", base, SDP_CT, "v=0\r\n", 400);
    EXPECT_STATUS(port, "POST", base, "Content-Type: application/json\r\n", "{}", 415);
    EXPECT_STATUS(port, "POST", base, "Content-Type: text/plain\r\n", OFFER, 415);
    char *bad_streams = g_strdup_printf("%s?streams=color,sonar", base);
    EXPECT_STATUS(port, "POST", bad_streams, SDP_CT, OFFER, 400);
    g_free(bad_streams);
    char *two = g_strdup_printf("%s?streams=color,depth", base);
    EXPECT_STATUS(port, "POST", two, SDP_CT, OFFER, 400); /* one video m-line, two streams */
    g_free(two);
    EXPECT_STATUS(port, "GET", base, NULL, NULL, 405);
    EXPECT_STATUS(port, "PUT", base, SDP_CT, OFFER, 405);
    EXPECT_STATUS(port, "PATCH", sess, FRAG_CT, FRAG, 404);
    EXPECT_STATUS(port, "DELETE", sess, NULL, NULL, 404);
    char *big = g_malloc((size_t)max_body + 2);
    memset(big, 'a', (size_t)max_body + 1);
    big[max_body + 1] = '\0';
    memcpy(big, "v=0\r\n", 5);
    EXPECT_STATUS(port, "POST", base, SDP_CT, big, 413);
    g_free(big);
    g_free(sess);
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 10, robotfix_wait(15000));
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
}

static void test_a_whep_session_through_the_cloud(void **state)
{
    struct robotfix *fx = *state;
    char *base = g_strdup_printf("/api/robots/%s/whep", fx->robot_id);
    session_lifecycle(fx->cloud.port, base);
    g_free(base);
}

static void test_a_whep_session_on_the_robots_own_port(void **state)
{
    (void)state;
    session_lifecycle(API_PORT, "/api/whep");
}

static void test_bad_whep_requests_to_the_cloud_are_refused(void **state)
{
    struct robotfix *fx = *state;
    char *base = g_strdup_printf("/api/robots/%s/whep", fx->robot_id);
    EXPECT_STATUS(fx->cloud.port, "POST", "/api/robots/no-such-robot/whep", SDP_CT, OFFER, 404);
    EXPECT_STATUS(fx->cloud.port, "OPTIONS", "/api/robots/no-such-robot/whep", NULL, NULL, 404);
    /* A third of --max-message (64 KiB), so that its JSON form fits a message. */
    bad_requests(fx, fx->cloud.port, base, 64 * 1024 / 3);
    g_free(base);
}

static void test_bad_whep_requests_to_the_robot_are_refused(void **state)
{
    struct robotfix *fx = *state;
    EXPECT_STATUS(API_PORT, "POST", "/api/whep/AAAAAAAAAAAAAAAAAAAAAA", FRAG_CT, FRAG, 405);
    bad_requests(fx, API_PORT, "/api/whep", 64 * 1024); /* --api-max-body */
}

static void test_options_lists_the_ice_servers_as_link_headers(void **state)
{
    struct robotfix *fx = *state;
    char *base = g_strdup_printf("/api/robots/%s/whep", fx->robot_id);
    struct http_response r;
    req(fx->cloud.port, "OPTIONS", base, NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    char *link = http_header(&r, "Link");
    assert_non_null(link);
    assert_string_equal(link, "<stun:127.0.0.1:3478>; rel=\"ice-server\"");
    char *accept = http_header(&r, "Accept-Post");
    assert_non_null(accept);
    assert_string_equal(accept, "application/sdp");
    free(link);
    free(accept);
    http_response_free(&r);
    req(API_PORT, "OPTIONS", "/api/whep", NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    http_response_free(&r);
    g_free(base);
}

/* ---- a WHEP player made of GStreamer's webrtcbin ---- */

struct player {
    GstElement *pipe, *webrtc;
    gint frames; /* atomic: decoded frames */
    guint ssrc;  /* atomic: the SSRC of the last RTP packet received */
};

/* The SSRC of each RTP packet into the depayloader (read from its header). */
static GstPadProbeReturn note_ssrc(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    guint8 h[12];
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    if (b && gst_buffer_extract(b, 0, h, sizeof h) == sizeof h)
        g_atomic_int_set(&((struct player *)data)->ssrc,
                         (guint)h[8] << 24 | (guint)h[9] << 16 | (guint)h[10] << 8 | h[11]);
    return GST_PAD_PROBE_OK;
}

/* The robot's answer names the SSRC its packets carry (a=ssrc:N ...):
 * Chromium shows a track only through the SSRC its description names, and
 * would decode packets of another SSRC as an unsignalled stream, leaving the
 * <video> blank. */
static void assert_answer_names_ssrc(struct player *pl, const char *sdp)
{
    char want[32];
    snprintf(want, sizeof want, "a=ssrc:%u ", g_atomic_int_get(&pl->ssrc));
    if (!strstr(sdp, want))
        fail_msg("the packets carry SSRC %u, which the answer does not name:\n%s",
                 g_atomic_int_get(&pl->ssrc), sdp);
}

static GstPadProbeReturn count_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    (void)info;
    g_atomic_int_inc(&((struct player *)data)->frames);
    return GST_PAD_PROBE_OK;
}

/* A track (webrtcbin's streaming thread): depayload, decode, count. */
static void on_player_pad(GstElement *webrtc, GstPad *pad, gpointer data)
{
    struct player *pl = data;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    GstElement *bin = gst_parse_bin_from_description("queue ! rtpvp8depay ! vp8dec ! fakesink "
                                                     "name=sink sync=false", TRUE, NULL);
    assert_non_null(bin);
    gst_bin_add(GST_BIN(gst_element_get_parent(webrtc)), bin);
    GstElement *sink = gst_bin_get_by_name(GST_BIN(bin), "sink");
    GstPad *in = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(in, GST_PAD_PROBE_TYPE_BUFFER, count_frame, pl, NULL);
    gst_object_unref(in);
    gst_object_unref(sink);
    gst_element_sync_state_with_parent(bin);
    GstPad *binpad = gst_element_get_static_pad(bin, "sink");
    gst_pad_add_probe(binpad, GST_PAD_PROBE_TYPE_BUFFER, note_ssrc, pl, NULL);
    gst_pad_link(pad, binpad);
    gst_object_unref(binpad);
    gst_object_unref(GST_OBJECT_PARENT(bin)); /* gst_element_get_parent's reference */
}

/* The reply structure of a promise webrtcbin answered (waits for it). */
static const GstStructure *await(GstPromise *promise)
{
    assert_int_equal(gst_promise_wait(promise), GST_PROMISE_RESULT_REPLIED);
    return gst_promise_get_reply(promise);
}

/* A playing webrtcbin with one recvonly VP8 transceiver, gathering on
 * loopback only. */
static void player_start(struct player *pl)
{
    gst_init(NULL, NULL);
    pl->pipe = gst_pipeline_new(NULL);
    pl->webrtc = gst_element_factory_make("webrtcbin", NULL);
    assert_non_null(pl->webrtc);
    gst_bin_add(GST_BIN(pl->pipe), pl->webrtc);
    g_object_set(pl->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    GObject *ice = NULL, *agent = NULL;
    g_object_get(pl->webrtc, "ice-agent", &ice, NULL);
    gboolean ok = FALSE;
    g_signal_emit_by_name(ice, "add-local-ip-address", "127.0.0.1", &ok);
    g_object_get(ice, "agent", &agent, NULL);
    g_object_set(agent, "upnp", FALSE, NULL);
    g_object_unref(agent);
    g_object_unref(ice);
    g_signal_connect(pl->webrtc, "pad-added", G_CALLBACK(on_player_pad), pl);
    GstCaps *caps = gst_caps_from_string("application/x-rtp,media=video,encoding-name=VP8,"
                                         "payload=97,clock-rate=90000,rtcp-fb-nack-pli=true");
    GstWebRTCRTPTransceiver *t = NULL;
    g_signal_emit_by_name(pl->webrtc, "add-transceiver",
                          GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &t);
    gst_caps_unref(caps);
    assert_non_null(t);
    gst_object_unref(t);
    assert_int_not_equal(gst_element_set_state(pl->pipe, GST_STATE_PLAYING),
                         GST_STATE_CHANGE_FAILURE);
}

/* Our offer, set as local description, once gathering is complete (no
 * trickle). A new string (g_free). */
static char *player_offer(struct player *pl)
{
    GstPromise *promise = gst_promise_new();
    g_signal_emit_by_name(pl->webrtc, "create-offer", NULL, promise);
    GstWebRTCSessionDescription *offer = NULL;
    gst_structure_get(await(promise), "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer,
                      NULL);
    gst_promise_unref(promise);
    assert_non_null(offer);
    promise = gst_promise_new();
    g_signal_emit_by_name(pl->webrtc, "set-local-description", offer, promise);
    await(promise);
    gst_promise_unref(promise);
    gst_webrtc_session_description_free(offer);
    GstWebRTCICEGatheringState st = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
    for (int i = 0; i < 100 && st != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE; i++) {
        g_usleep(50 * 1000);
        g_object_get(pl->webrtc, "ice-gathering-state", &st, NULL);
    }
    GstWebRTCSessionDescription *local = NULL;
    g_object_get(pl->webrtc, "current-local-description", &local, NULL);
    if (!local)
        g_object_get(pl->webrtc, "local-description", &local, NULL);
    assert_non_null(local);
    char *text = gst_sdp_message_as_text(local->sdp);
    gst_webrtc_session_description_free(local);
    return text;
}

static void player_answer(struct player *pl, const char *sdp_text)
{
    GstSDPMessage *sdp = NULL;
    assert_int_equal(gst_sdp_message_new_from_text(sdp_text, &sdp), GST_SDP_OK);
    GstWebRTCSessionDescription *answer =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    GstPromise *promise = gst_promise_new();
    g_signal_emit_by_name(pl->webrtc, "set-remote-description", answer, promise);
    const GstStructure *reply = await(promise);
    assert_false(reply && gst_structure_has_field(reply, "error"));
    gst_promise_unref(promise);
    gst_webrtc_session_description_free(answer);
}

static void player_stop(struct player *pl)
{
    gst_element_set_state(pl->pipe, GST_STATE_NULL);
    gst_object_unref(pl->pipe);
}

static void test_a_gstreamer_whep_player_decodes_the_video(void **state)
{
    struct robotfix *fx = *state;
    struct player pl = {0};
    player_start(&pl);
    char *offer = player_offer(&pl);
    assert_non_null(strstr(offer, "a=candidate:"));
    char *url = g_strdup_printf("/api/robots/%s/whep?streams=color", fx->robot_id);
    struct http_response r;
    req(fx->cloud.port, "POST", url, SDP_CT, offer, &r);
    if (r.status != 201)
        fail_msg("POST %s: %d %s", url, r.status, r.body ? r.body : "");
    char *loc = http_header(&r, "Location");
    assert_non_null(loc);
    player_answer(&pl, r.body);
    int64_t until = wsc_now_ms() + robotfix_wait(15000);
    while (g_atomic_int_get(&pl.frames) < 30 && wsc_now_ms() < until)
        g_usleep(50 * 1000);
    if (g_atomic_int_get(&pl.frames) < 30)
        fail_msg("the player decoded %d frames in 15 s", g_atomic_int_get(&pl.frames));
    assert_answer_names_ssrc(&pl, r.body);
    http_response_free(&r);
    assert_true(robot_lists(loc));
    EXPECT_STATUS(fx->cloud.port, "DELETE", loc, NULL, NULL, 200);
    assert_false(robot_lists(loc));
    player_stop(&pl);
    free(loc);
    g_free(url);
    g_free(offer);
}

/* The same player as a cloud viewer that offers (create-session's offer,
 * docs/PROTOCOL.md "The viewer offers"): the robot answers with
 * webrtc-answer and trickles its candidates, and the video plays; a new
 * offer with new ICE credentials (an ICE restart) gets a new answer with
 * the robot's new credentials; an offer the robot cannot answer is refused
 * with invalid-offer. */
static void test_a_cloud_viewer_that_offers_is_answered(void **state)
{
    struct robotfix *fx = *state;
    struct player pl = {0};
    player_start(&pl);
    char *offer = player_offer(&pl);
    struct wsc *c = harness_client(fx->cloud.port, NULL, NULL);
    json_t *ask = json_pack("{s:s, s:s, s:[s], s:{s:s, s:s}}", "type", "create-session",
                            "robotId", fx->robot_id, "streamTypes", "color", "offer", "type",
                            "offer", "sdp", offer);
    assert_int_equal(wsc_send_json(c, ask), 0); /* takes ask */
    json_t *created = harness_expect_next(c, "session-created");
    char *sid = g_strdup(json_string_value(json_object_get(created, "sessionId")));
    json_decref(created);
    char *first_ufrag = NULL, *first_answer = NULL;
    int64_t until = wsc_now_ms() + robotfix_wait(15000);
    while (g_atomic_int_get(&pl.frames) < 30 && wsc_now_ms() < until) {
        json_t *m = wsc_recv_json(c, 100);
        const char *type = m ? json_string_value(json_object_get(m, "type")) : NULL;
        if (type && strcmp(type, "webrtc-answer") == 0) {
            const char *sdp = json_string_value(json_object_get(json_object_get(m, "answer"), "sdp"));
            assert_non_null(sdp);
            player_answer(&pl, sdp);
            const char *u = strstr(sdp, "a=ice-ufrag:");
            assert_non_null(u);
            first_ufrag = g_strndup(u, strcspn(u, "\r\n"));
            g_free(first_answer);
            first_answer = g_strdup(sdp);
        } else if (type && strcmp(type, "ice-candidate") == 0) {
            json_t *cand = json_object_get(m, "candidate");
            const char *line = json_string_value(json_object_get(cand, "candidate"));
            if (line)
                g_signal_emit_by_name(pl.webrtc, "add-ice-candidate",
                                      (guint)json_integer_value(json_object_get(cand, "sdpMLineIndex")),
                                      line);
        } else if (type) {
            fail_msg("unexpected %s: %s", type, wsc_last_text(c));
        }
        json_decref(m);
    }
    if (g_atomic_int_get(&pl.frames) < 30)
        fail_msg("the player decoded %d frames in 15 s", g_atomic_int_get(&pl.frames));
    assert_non_null(first_ufrag);
    assert_answer_names_ssrc(&pl, first_answer);
    g_free(first_answer);

    /* An ICE restart: the same offer with new credentials. */
    GString *again = g_string_new(offer);
    const char *u = strstr(offer, "a=ice-ufrag:"), *pw = strstr(offer, "a=ice-pwd:");
    assert_non_null(u);
    assert_non_null(pw);
    char *old_u = g_strndup(u, strcspn(u, "\r\n")), *old_pw = g_strndup(pw, strcspn(pw, "\r\n"));
    g_string_replace(again, old_u, "a=ice-ufrag:Rst1", 0);
    g_string_replace(again, old_pw, "a=ice-pwd:abcdefghijklmnopqrstuvwx", 0);
    g_free(old_u);
    g_free(old_pw);
    json_t *re = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "webrtc-offer", "sessionId", sid,
                           "offer", "type", "offer", "sdp", again->str);
    assert_int_equal(wsc_send_json(c, re), 0);
    json_t *answer = harness_expect_next(c, "webrtc-answer");
    const char *sdp = json_string_value(json_object_get(json_object_get(answer, "answer"), "sdp"));
    assert_non_null(strstr(sdp, "a=ice-ufrag:"));
    assert_null(strstr(sdp, first_ufrag)); /* new credentials of the robot's own */
    assert_non_null(strstr(sdp, "a=candidate:"));
    json_decref(answer);

    /* A restart offer that is no SDP: invalid-offer from the robot (the
     * cloud checks only the shape), and the session stays. */
    re = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "webrtc-offer", "sessionId", sid, "offer",
                   "type", "offer", "sdp", "not an SDP");
    assert_int_equal(wsc_send_json(c, re), 0);
    json_t *refusal = NULL;
    until = wsc_now_ms() + robotfix_wait(5000);
    while (!refusal && wsc_now_ms() < until) {
        json_t *m = wsc_recv_json(c, 100);
        const char *type = m ? json_string_value(json_object_get(m, "type")) : NULL;
        if (type && strcmp(type, "session-error") == 0)
            refusal = m;
        else if (type && strcmp(type, "ice-candidate") != 0)
            fail_msg("unexpected %s: %s", type, wsc_last_text(c));
        else
            json_decref(m);
    }
    assert_non_null(refusal);
    assert_string_equal(json_string_value(json_object_get(refusal, "code")), "invalid-offer");
    json_decref(refusal);
    wsc_close(c);

    /* An offer without a video m-line the robot can send on. */
    c = harness_client(fx->cloud.port, NULL, NULL);
    ask = json_pack("{s:s, s:s, s:[s], s:{s:s, s:s}}", "type", "create-session", "robotId",
                    fx->robot_id, "streamTypes", "color", "offer", "type", "offer", "sdp",
                    AUDIO_ONLY);
    assert_int_equal(wsc_send_json(c, ask), 0); /* takes ask */
    json_decref(harness_expect_next(c, "session-created"));
    json_t *err = harness_expect_next(c, "session-error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), "invalid-offer");
    json_decref(err);
    wsc_close(c);
    player_stop(&pl);
    g_string_free(again, TRUE);
    g_free(first_ufrag);
    g_free(sid);
    g_free(offer);
}

/* ---- a cloud with auth: sessions belong to their creator's subject ---- */

#define SECRET "whep-test-secret-0123456789abcdef"

/* A token minted by porthole-cloud token (g_free). */
static char *mint(const char *const *args)
{
    const char *argv[24] = {"token", "--auth-secret", SECRET};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = harness_run(argv, 10000, &out, &err);
    if (rc != 0)
        fail_msg("porthole-cloud token: %d %s", rc, err ? err : "");
    char *token = g_strstrip(g_strdup(out));
    free(out);
    free(err);
    return token;
}

static void test_only_the_creator_may_patch_or_delete_a_whep_session(void **state)
{
    (void)state;
    struct cloud cloud = {0};
    struct proc robot = {0};
    const char *cloud_argv[] = {"--auth-secret", SECRET, "--request-timeout", "60", NULL};
    assert_int_equal(harness_start(&cloud, cloud_argv), 0);
    char *robot_token = mint((const char *[]){"--role", "robot", "--robot-id", "whep-r", NULL});
    char *alice = mint((const char *[]){"--role", "viewer", "--robots", "*", "--scope", "watch",
                                        "--sub", "alice", NULL});
    char *bob = mint((const char *[]){"--role", "viewer", "--robots", "*", "--scope", "watch",
                                      "--sub", "bob", NULL});
    setenv("ROBOT_TOKEN", robot_token, 1);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", cloud.port);
    const char *robot_argv[] = {"--cloud-url", url, "--robot-id", "whep-r", "--ice-allow",
                                "127.0.0.1", "--api-port", "0", "--log-level", "info", NULL};
    assert_int_equal(harness_start_robot(&robot, robot_argv), 0);
    char *as_alice = g_strdup_printf("Authorization: Bearer %s\r\n", alice);
    char *as_bob = g_strdup_printf("Authorization: Bearer %s\r\n", bob);
    /* Registered once alice sees it. */
    bool listed = false;
    for (int i = 0; i < 100 && !listed; i++) {
        struct http_response r;
        req(cloud.port, "GET", "/robots", as_alice, NULL, &r);
        listed = r.status == 200 && strstr(r.body, "whep-r");
        http_response_free(&r);
        if (!listed)
            g_usleep(100 * 1000);
    }
    assert_true(listed);
    EXPECT_STATUS(cloud.port, "POST", "/api/robots/whep-r/whep", SDP_CT, OFFER, 401);
    char etag[96];
    char *loc = open_whep(cloud.port, "/api/robots/whep-r/whep", as_alice, etag, sizeof etag);
    char *bob_frag = g_strconcat(FRAG_CT, as_bob, NULL);
    char *alice_frag = g_strconcat(FRAG_CT, as_alice, NULL);
    EXPECT_STATUS(cloud.port, "PATCH", loc, bob_frag, FRAG, 404);
    EXPECT_STATUS(cloud.port, "DELETE", loc, as_bob, NULL, 404);
    EXPECT_STATUS(cloud.port, "PATCH", loc, alice_frag, FRAG, 204);
    EXPECT_STATUS(cloud.port, "DELETE", loc, as_alice, NULL, 200);
    g_free(bob_frag);
    g_free(alice_frag);
    g_free(loc);
    g_free(as_alice);
    g_free(as_bob);
    g_free(alice);
    g_free(bob);
    g_free(robot_token);
    unsetenv("ROBOT_TOKEN");
    assert_int_equal(harness_proc_stop(&robot, 10000), 0);
    assert_int_equal(harness_stop(&cloud), 0);
}

#define WHEP_TEST(t) \
    cmocka_unit_test_prestate_setup_teardown(t, robotfix_setup, robotfix_teardown, (void *)&config)

int main(void)
{
    const struct CMUnitTest tests[] = {
        WHEP_TEST(test_a_whep_session_through_the_cloud),
        WHEP_TEST(test_a_whep_session_on_the_robots_own_port),
        WHEP_TEST(test_bad_whep_requests_to_the_cloud_are_refused),
        WHEP_TEST(test_bad_whep_requests_to_the_robot_are_refused),
        WHEP_TEST(test_options_lists_the_ice_servers_as_link_headers),
        WHEP_TEST(test_a_gstreamer_whep_player_decodes_the_video),
        WHEP_TEST(test_a_cloud_viewer_that_offers_is_answered),
        cmocka_unit_test(test_only_the_creator_may_patch_or_delete_a_whep_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
