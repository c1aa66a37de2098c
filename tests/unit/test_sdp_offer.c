/* test_sdp_offer.c - unit tests of the check of a viewer's SDP offer
 * (sdp_offer.h): each refusal with its text, the payload type chosen per
 * codec, the usable video m-lines in order, and the offer's candidates
 * through the session's gate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "common/log.h"
#include "common/netlist.h"
#include "robot/sdp_offer.h"

#define MAX_SDP (64 * 1024)

#define SESSION "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
#define CREDS                                                                           \
    "a=ice-ufrag:Kx3u\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"                          \
    "a=fingerprint:sha-256 79:FC:1D:D4:51:3E:43:DA:8A:22:8E:64:6D:E7:B9:D1:91:EF:8E:30:" \
    "C6:95:FD:03:C3:AF:BC:CD:82:85:BA:39\r\na=setup:actpass\r\n"
/* A browser's recvonly video m-line: VP8 at 96, H264 (baseline) at 102. */
#define VIDEO(mid, dir)                                                                  \
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103\r\nc=IN IP4 0.0.0.0\r\n" CREDS           \
    "a=mid:" mid "\r\na=" dir "\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"              \
    "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:102 H264/90000\r\n"            \
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n" \
    "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
#define AUDIO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" CREDS \
              "a=mid:a\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n"
#define APP "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" CREDS \
            "a=mid:d\r\na=sctp-port:5000\r\n"

static GstSDPMessage *check(const char *text, const char *enc, size_t n,
                            struct sdp_offer_info *info, char *err)
{
    return sdp_offer_check(text, MAX_SDP, enc, n, NULL, info, err, 256);
}

static void expect_refused(const char *text, size_t n, const char *want)
{
    struct sdp_offer_info info;
    char err[256] = "";
    GstSDPMessage *sdp = check(text, "VP8", n, &info, err);
    assert_null(sdp);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_a_browser_offer_is_accepted_with_its_vp8_payload_type(void **state)
{
    (void)state;
    struct sdp_offer_info info;
    char err[256];
    GstSDPMessage *sdp = check(SESSION VIDEO("0", "recvonly") AUDIO, "VP8", 1, &info, err);
    assert_non_null(sdp);
    assert_int_equal(info.nmedia, 2);
    assert_int_equal(info.nusable, 1);
    assert_int_equal(info.mline[0], 0);
    assert_int_equal(info.pt[0], 96);
    assert_false(info.application);
    gst_sdp_message_free(sdp);
}

/* The answer keeps the offer's id for the TWCC header extension (Chromium
 * refuses an answer that moves an id); none, or a malformed one, is 0. */
static void test_the_offers_twcc_extension_id_is_kept(void **state)
{
    (void)state;
    static const struct { const char *extmap; int want; } cases[] = {
        {"a=extmap:3 urn:3gpp:video-orientation\r\na=extmap:5 " SDP_TWCC_URI "\r\n", 5},
        {"a=extmap:7/sendrecv " SDP_TWCC_URI "\r\n", 7},
        {"a=extmap:3 urn:3gpp:video-orientation\r\n", 0},
        {"a=extmap:15 " SDP_TWCC_URI "\r\n", 0},       /* not a one-byte id */
        {"a=extmap:x " SDP_TWCC_URI "\r\n", 0},
        {"a=extmap:4 " SDP_TWCC_URI "-02\r\n", 0},     /* another URI */
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[4096];
        snprintf(text, sizeof text, "%s%s%s", SESSION VIDEO("0", "recvonly"), cases[i].extmap,
                 AUDIO);
        struct sdp_offer_info info;
        char err[256] = "";
        GstSDPMessage *sdp = check(text, "VP8", 1, &info, err);
        if (!sdp)
            fail_msg("case %zu refused: %s", i, err);
        if (info.twcc[0] != cases[i].want)
            fail_msg("case %zu: twcc id %d, want %d", i, info.twcc[0], cases[i].want);
        gst_sdp_message_free(sdp);
    }
}

static void test_h264_takes_the_packetization_mode_1_payload_type(void **state)
{
    (void)state;
    struct sdp_offer_info info;
    char err[256];
    GstSDPMessage *sdp = check(SESSION VIDEO("0", "sendrecv"), "H264", 1, &info, err);
    assert_non_null(sdp);
    assert_int_equal(info.pt[0], 102);
    gst_sdp_message_free(sdp);
}

static void test_usable_video_m_lines_are_listed_in_order(void **state)
{
    (void)state;
    struct sdp_offer_info info;
    char err[256];
    GstSDPMessage *sdp = check(SESSION AUDIO VIDEO("0", "sendonly") VIDEO("1", "recvonly") APP
                                   VIDEO("2", "recvonly"),
                               "VP8", 2, &info, err);
    assert_non_null(sdp);
    assert_int_equal(info.nusable, 2);
    assert_int_equal(info.mline[0], 2);
    assert_int_equal(info.mline[1], 4);
    assert_true(info.application);
    gst_sdp_message_free(sdp);
}

static void test_bad_offers_are_refused_with_their_reason(void **state)
{
    (void)state;
    expect_refused("hello", 1, "the offer is not SDP: it must start with 'v=0'");
    expect_refused(SESSION, 1, "the offer has no m-line");
    expect_refused(SESSION AUDIO, 1, "no video m-line the robot can send VP8 on");
    expect_refused(SESSION VIDEO("0", "sendonly"), 1, "no video m-line");
    expect_refused(SESSION VIDEO("0", "recvonly"), 2,
                   "the offer has 1 video m-line the robot can send on; 2 streams were asked for");
    expect_refused(SESSION "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
                           "a=rtpmap:96 VP8/90000\r\n",
                   1, "m-line 0 of the offer has no ICE credentials");
    expect_refused(SESSION "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=ice-ufrag:a\r\n"
                           "a=ice-pwd:b\r\na=rtpmap:96 VP8/90000\r\n",
                   1, "m-line 0 of the offer has no DTLS fingerprint");
    expect_refused(SESSION "m=video 9 UDP/TLS/RTP/SAVPF 98\r\n" CREDS
                           "a=mid:0\r\na=rtpmap:98 VP9/90000\r\n",
                   1, "no video m-line the robot can send VP8 on");
    GString *many = g_string_new(SESSION);
    for (int i = 0; i < 9; i++)
        g_string_append(many, AUDIO);
    expect_refused(many->str, 1, "the offer has 9 m-lines; at most 8 are accepted");
    g_string_free(many, TRUE);
    char *huge = g_strnfill(MAX_SDP + 1, 'a');
    memcpy(huge, "v=0\r\n", 5);
    expect_refused(huge, 1, "the offer SDP is 65537 bytes; at most 65536 are accepted");
    g_free(huge);
}

/* A bundle-only m-line (RFC 8843: port 0, a=bundle-only, no transport of
 * its own; GStreamer's max-bundle offers mark every m-line after the first
 * so) is a live m-line of the BUNDLE group, not a rejected one; outside a
 * group, or as its first m-line, it is refused. */
#define BUNDLE_ONLY(kind_line, mid, rest) \
    kind_line "c=IN IP4 0.0.0.0\r\na=bundle-only\r\na=mid:" mid "\r\n" rest
static void test_bundle_only_m_lines_belong_to_the_group(void **state)
{
    (void)state;
    struct sdp_offer_info info;
    char err[256] = "";
    const char *offer =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 d\r\n"
        VIDEO("0", "recvonly")
        BUNDLE_ONLY("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n", "1",
                    "a=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n")
        BUNDLE_ONLY("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n", "d",
                    "a=sctp-port:5000\r\n");
    GstSDPMessage *sdp = check(offer, "VP8", 2, &info, err);
    if (!sdp)
        fail_msg("refused: %s", err);
    assert_int_equal(info.nusable, 2);
    assert_int_equal(info.mline[1], 1);
    assert_true(info.application);
    gst_sdp_message_free(sdp);

    /* The same m-line without a BUNDLE group naming it after the first. */
    expect_refused("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 1 0\r\n"
                   VIDEO("0", "recvonly")
                   BUNDLE_ONLY("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n", "1",
                               "a=recvonly\r\na=rtpmap:96 VP8/90000\r\n"),
                   2, "m-line 1 of the offer is bundle-only but not in a BUNDLE group");
    expect_refused("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                   VIDEO("0", "recvonly")
                   BUNDLE_ONLY("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n", "1",
                               "a=recvonly\r\na=rtpmap:96 VP8/90000\r\n"),
                   2, "bundle-only but not in a BUNDLE group");
    /* A port-0 m-line without bundle-only stays a rejected one. */
    expect_refused(SESSION VIDEO("0", "recvonly")
                   "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
                   "a=recvonly\r\na=rtpmap:96 VP8/90000\r\n",
                   2, "1 video m-line the robot can send on; 2 streams were asked for");
}

static void test_the_offers_candidates_pass_the_gate(void **state)
{
    (void)state;
    struct netlist allow;
    char why[128];
    assert_int_equal(netlist_parse("127.0.0.1", &allow, why, sizeof why), 0);
    struct icegate gate;
    icegate_init(&gate, &allow, 0, "test");
    struct sdp_offer_info info;
    char err[256];
    GstSDPMessage *sdp = sdp_offer_check(
        SESSION VIDEO("0", "recvonly")
        "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
        "a=candidate:2 1 udp 2122260223 10.1.2.3 40001 typ host\r\n"
        "a=candidate:3 1 udp 2122260223 127.0.0.1 40002 typ bogus\r\n",
        MAX_SDP, "VP8", 1, &gate, &info, err, sizeof err);
    assert_non_null(sdp);
    const GstSDPMedia *m = gst_sdp_message_get_media(sdp, 0);
    assert_non_null(gst_sdp_media_get_attribute_val_n(m, "candidate", 0));
    assert_null(gst_sdp_media_get_attribute_val_n(m, "candidate", 1));
    assert_int_equal(gate.admitted, 1);
    assert_int_equal(gate.refused, 2);
    gst_sdp_message_free(sdp);
}

int main(void)
{
    log_setup(LOGL_WARN, LOG_FORMAT_TEXT, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_browser_offer_is_accepted_with_its_vp8_payload_type),
        cmocka_unit_test(test_the_offers_twcc_extension_id_is_kept),
        cmocka_unit_test(test_h264_takes_the_packetization_mode_1_payload_type),
        cmocka_unit_test(test_usable_video_m_lines_are_listed_in_order),
        cmocka_unit_test(test_bad_offers_are_refused_with_their_reason),
        cmocka_unit_test(test_bundle_only_m_lines_belong_to_the_group),
        cmocka_unit_test(test_the_offers_candidates_pass_the_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
