/* test_sdp_answer.c - unit tests of the check of a viewer's SDP answer
 * (sdp_answer.h): every refusal with its exact text, the shapes accepted,
 * and the answer's own candidates passed through the session's gate
 * (icegate.h: the ICE allow-list, the address classes, the cap), kept in
 * their canonical text. */
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
#include "robot/sdp_answer.h"

#define MAX_SDP (64 * 1024) /* the robot's default --max-message */

#define UFRAG "a=ice-ufrag:InBcBgK07SSRs94yzQ9QHmeRK8F4KP+d\r\n"
#define PWD "a=ice-pwd:8+u5wlwFiN48yxGvB9KT3IuDYbqzdATU\r\n"
#define FINGERPRINT                                                                        \
    "a=fingerprint:sha-256 79:FC:1D:D4:51:3E:43:DA:8A:22:8E:64:6D:E7:B9:D1:91:EF:8E:30:C6:" \
    "95:FD:03:C3:AF:BC:CD:82:85:BA:39\r\n"
#define SESSION "v=0\r\no=- 4687812933162702922 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
#define VIDEO_M "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
#define APP_M "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
#define VIDEO_REST                                                                      \
    "a=rtcp-mux\r\na=mid:video0\r\na=setup:active\r\na=rtpmap:96 VP8/90000\r\n"        \
    "a=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 transport-cc\r\n" \
    "a=recvonly\r\n"
#define APP_REST "a=mid:application1\r\na=setup:active\r\na=sctp-port:5000\r\n"

/* The answer webrtcbin (the test viewer, tests/support/rtcpeer.c) gives to
 * the robot's offer of one stream, as captured: credentials and fingerprint
 * on each m-line. */
static const char WEBRTCBIN[] =
    SESSION "a=ice-options:trickle\r\na=group:BUNDLE video0 application1\r\n"
    VIDEO_M UFRAG PWD VIDEO_REST FINGERPRINT
    APP_M UFRAG PWD APP_REST FINGERPRINT;

/* Credentials and fingerprint at session level only (browsers may put the
 * fingerprint there), with LF line ends. */
static const char SESSION_LEVEL[] =
    "v=0\no=- 1 0 IN IP4 127.0.0.1\ns=-\nt=0 0\n"
    "a=ice-ufrag:abcd\na=ice-pwd:0123456789abcdef0123456789\n"
    "a=fingerprint:sha-256 00:11:22:33\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\nc=IN IP4 0.0.0.0\na=mid:0\na=rtpmap:96 VP8/90000\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\na=mid:1\n";

/* The robot's offer of one stream: a video m-line and the data channel. */
static const struct sdp_answer_offer ONE_STREAM = {
    .nmedia = 2, .kinds = {"video", "application"}};
static const struct sdp_answer_offer TWO_STREAMS = {
    .nmedia = 3, .kinds = {"video", "video", "application"}};
static const struct sdp_answer_offer SWAPPED = {
    .nmedia = 2, .kinds = {"application", "video"}};
static const struct sdp_answer_offer KIND_UNKNOWN = {
    .nmedia = 2, .kinds = {"video", NULL}};
static const struct sdp_answer_offer NO_OFFER = {.nmedia = 0};

static struct netlist loopback; /* "127.0.0.1,::1" */
static struct netlist anything; /* empty: no list, as none at all */

/* A fresh gate over allow (NULL: no list) admitting at most max (0: the
 * default), as a new session has; one at a time. */
static struct icegate *gate_max(const struct netlist *allow, size_t max)
{
    static struct icegate g;
    icegate_init(&g, allow, max, "test");
    return &g;
}

static struct icegate *gate(const struct netlist *allow)
{
    return gate_max(allow, 0);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    log_setup(LOGL_WARN, LOG_FORMAT_TEXT, "test");
    assert_int_equal(netlist_parse("127.0.0.1,::1", &loopback, err, sizeof err), 0);
    assert_int_equal(netlist_parse(NULL, &anything, err, sizeof err), 0);
    return 0;
}

/* ---- editing answers ---- */

/* base without the lines that start with drop (NULL: none), then with the
 * first from replaced by to (NULL: none). The caller frees it. */
static char *edit(const char *base, const char *drop, const char *from, const char *to)
{
    GString *out = g_string_new(NULL);
    for (const char *line = base; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (!drop || strncmp(line, drop, strlen(drop)) != 0)
            g_string_append_len(out, line, (gssize)len);
        line += len;
    }
    if (from) {
        const char *at = strstr(out->str, from);
        if (!at)
            fail_msg("'%s' is not in the answer", from);
        gssize pos = at - out->str;
        g_string_erase(out, pos, (gssize)strlen(from));
        g_string_insert(out, pos, to);
    }
    return g_string_free(out, FALSE);
}

/* The m-line a=candidate values of sdp, one "mline:value" per line. */
static char *candidates_of(const GstSDPMessage *sdp)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
        for (guint k = 0; k < gst_sdp_media_attributes_len(m); k++) {
            const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, k);
            if (strcmp(a->key, "candidate") == 0)
                g_string_append_printf(out, "%u:%s\n", i, a->value ? a->value : "(null)");
        }
    }
    return g_string_free(out, FALSE);
}

/* Every attribute but the candidates, in order, of every m-line and of the
 * session: what filtering must leave untouched. */
static char *non_candidates_of(const GstSDPMessage *sdp)
{
    GString *out = g_string_new(NULL);
    for (guint k = 0; k < gst_sdp_message_attributes_len(sdp); k++) {
        const GstSDPAttribute *a = gst_sdp_message_get_attribute(sdp, k);
        g_string_append_printf(out, "s %s=%s\n", a->key, a->value ? a->value : "");
    }
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
        g_string_append_printf(out, "m=%s %u fmts %u\n", gst_sdp_media_get_media(m),
                               gst_sdp_media_get_port(m), gst_sdp_media_formats_len(m));
        for (guint k = 0; k < gst_sdp_media_attributes_len(m); k++) {
            const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, k);
            if (strcmp(a->key, "candidate") != 0)
                g_string_append_printf(out, "%u %s=%s\n", i, a->key, a->value ? a->value : "");
        }
    }
    return g_string_free(out, FALSE);
}

/* Asserts that text is refused against offer with exactly want. */
static void expect_refused(const char *what, const struct sdp_answer_offer *offer,
                           const char *text, size_t max, const char *want)
{
    char err[256] = "";
    GstSDPMessage *sdp = sdp_answer_check(offer, text, max, gate(&loopback), err, sizeof err);
    if (sdp) {
        gst_sdp_message_free(sdp);
        fail_msg("%s: accepted; want \"%s\"", what, want);
    }
    if (strcmp(err, want) != 0)
        fail_msg("%s:\n  got  \"%s\"\n  want \"%s\"", what, err, want);
}

/* ---- refusals ---- */

struct refusal {
    const char *what;
    const char *base;                     /* the answer before the edits */
    const char *drop;                     /* lines starting with this are removed */
    const char *from, *to;                /* then the first from becomes to */
    const struct sdp_answer_offer *offer; /* NULL: ONE_STREAM */
    const char *want;                     /* the exact reason */
};

static const struct refusal refusals[] = {
    {.what = "no offer yet", .base = WEBRTCBIN, .offer = &NO_OFFER,
     .want = "no offer has been sent yet"},
    {.what = "no offer yet, and not SDP either", .base = "hello", .offer = &NO_OFFER,
     .want = "no offer has been sent yet"},
    {.what = "empty", .base = "", .want = "the answer is not SDP: it must start with 'v=0'"},
    {.what = "not SDP at all", .base = "hello, this is not an SDP answer",
     .want = "the answer is not SDP: it must start with 'v=0'"},
    {.what = "v=1", .base = "v=1\r\n", .want = "the answer is not SDP: it must start with 'v=0'"},
    {.what = "V=0", .base = "V=0\r\n", .want = "the answer is not SDP: it must start with 'v=0'"},
    {.what = "leading blank line", .base = "\r\nv=0\r\n",
     .want = "the answer is not SDP: it must start with 'v=0'"},
    {.what = "v=0 and nothing else", .base = "v=0\r\n",
     .want = "the answer has 0 m-lines; the offer had 2"},
    {.what = "v=0 without a line end", .base = "v=0",
     .want = "the answer has 0 m-lines; the offer had 2"},
    {.what = "a session without m-lines", .base = SESSION,
     .want = "the answer has 0 m-lines; the offer had 2"},
    {.what = "one m-line fewer than offered", .base = WEBRTCBIN,
     .from = APP_M UFRAG PWD APP_REST FINGERPRINT, .to = "",
     .want = "the answer has 1 m-lines; the offer had 2"},
    {.what = "one m-line more than offered", .base = WEBRTCBIN, .from = APP_M,
     .to = VIDEO_M UFRAG PWD FINGERPRINT APP_M,
     .want = "the answer has 3 m-lines; the offer had 2"},
    {.what = "one stream answered, two offered", .base = WEBRTCBIN, .offer = &TWO_STREAMS,
     .want = "the answer has 2 m-lines; the offer had 3"},
    {.what = "m=audio instead of m=video", .base = WEBRTCBIN, .from = "m=video",
     .to = "m=audio", .want = "m-line 0 of the answer is 'audio'; the offer had 'video'"},
    {.what = "m-lines in the wrong order", .base = WEBRTCBIN, .offer = &SWAPPED,
     .want = "m-line 0 of the answer is 'video'; the offer had 'application'"},
    {.what = "a second video m-line where the data channel was", .base = WEBRTCBIN,
     .from = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
     .to = "m=video 9 UDP/TLS/RTP/SAVPF 96",
     .want = "m-line 1 of the answer is 'video'; the offer had 'application'"},
    {.what = "an m-line the offer did not remember", .base = WEBRTCBIN, .offer = &KIND_UNKNOWN,
     .want = "m-line 1 of the answer is 'application'; the offer had ''"},
    {.what = "an m-line with no media kind", .base = WEBRTCBIN,
     .from = "m=video 9 UDP/TLS/RTP/SAVPF 96", .to = "m=", .want = "m-line 0 of the answer is ''; the offer had 'video'"},
    {.what = "video rejected with port 0", .base = WEBRTCBIN, .from = "m=video 9",
     .to = "m=video 0", .want = "the answer rejects video m-line 0 (port 0)"},
    {.what = "no ice-ufrag", .base = WEBRTCBIN, .drop = "a=ice-ufrag",
     .want = "m-line 0 of the answer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"},
    {.what = "no ice-pwd", .base = WEBRTCBIN, .drop = "a=ice-pwd",
     .want = "m-line 0 of the answer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"},
    {.what = "no ice-ufrag on the data channel's m-line",
     .base = WEBRTCBIN, .from = APP_M UFRAG, .to = APP_M,
     .want = "m-line 1 of the answer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"},
    {.what = "no ice-pwd on the data channel's m-line", .base = WEBRTCBIN,
     .from = APP_M UFRAG PWD, .to = APP_M UFRAG,
     .want = "m-line 1 of the answer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"},
    {.what = "no fingerprint", .base = WEBRTCBIN, .drop = "a=fingerprint",
     .want = "m-line 0 of the answer has no DTLS fingerprint"},
    {.what = "no fingerprint on the data channel's m-line", .base = WEBRTCBIN,
     .from = APP_REST FINGERPRINT, .to = APP_REST,
     .want = "m-line 1 of the answer has no DTLS fingerprint"},
    {.what = "no session-level ice-ufrag", .base = SESSION_LEVEL, .drop = "a=ice-ufrag",
     .want = "m-line 0 of the answer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"},
    {.what = "no session-level ice-pwd", .base = SESSION_LEVEL, .drop = "a=ice-pwd",
     .want = "m-line 0 of the answer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"},
    {.what = "no session-level fingerprint", .base = SESSION_LEVEL, .drop = "a=fingerprint",
     .want = "m-line 0 of the answer has no DTLS fingerprint"},
    {.what = "credentials checked before the fingerprint", .base = WEBRTCBIN,
     .drop = "a=ice-pwd", .from = FINGERPRINT, .to = "",
     .want = "m-line 0 of the answer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"},
    {.what = "a video m-line without port nor proto", .base = WEBRTCBIN,
     .from = "m=video 9 UDP/TLS/RTP/SAVPF 96", .to = "m=video",
     .want = "the answer rejects video m-line 0 (port 0)"},
};

static void test_each_refusal_has_its_exact_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const struct refusal *r = &refusals[i];
        char *text = edit(r->base, r->drop, r->from, r->to);
        expect_refused(r->what, r->offer ? r->offer : &ONE_STREAM, text, MAX_SDP, r->want);
        g_free(text);
    }
}

/* ---- sizes ---- */

static void test_an_answer_at_the_limit_is_accepted_and_one_byte_over_refused(void **state)
{
    (void)state;
    char err[256];
    size_t len = strlen(WEBRTCBIN);
    GstSDPMessage *sdp =
        sdp_answer_check(&ONE_STREAM, WEBRTCBIN, len, gate(&loopback), err, sizeof err);
    if (!sdp)
        fail_msg("refused at the limit: %s", err);
    gst_sdp_message_free(sdp);
    char *want = g_strdup_printf("the answer SDP is %zu bytes; at most %zu are accepted", len,
                                 len - 1);
    expect_refused("one byte over", &ONE_STREAM, WEBRTCBIN, len - 1, want);
    g_free(want);
    /* The size is checked before anything else but the offer. */
    expect_refused("not SDP and too long", &ONE_STREAM, "hello", 4,
                   "the answer SDP is 5 bytes; at most 4 are accepted");
    expect_refused("empty, limit 0", &ONE_STREAM, "", 0,
                   "the answer is not SDP: it must start with 'v=0'");
}

static void test_a_60_kb_answer_of_junk_attributes_is_refused(void **state)
{
    (void)state;
    GString *big = g_string_new("v=0\r\no=- 1 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    while (big->len < 60 * 1024)
        g_string_append(big, "a=x-junk:0123456789abcdef0123456789abcdef0123456789abcdef\r\n");
    /* Under the default limit: refused for its m-lines; over a smaller one, for its size. */
    expect_refused("60 KB", &ONE_STREAM, big->str, MAX_SDP,
                   "the answer has 0 m-lines; the offer had 2");
    char *want = g_strdup_printf("the answer SDP is %zu bytes; at most %d are accepted",
                                 big->len, 16 * 1024);
    expect_refused("60 KB over 16 KB", &ONE_STREAM, big->str, 16 * 1024, want);
    g_free(want);
    g_string_free(big, TRUE);
}

/* ---- garbage, NUL bytes, huge line counts ---- */

static void test_binary_garbage_after_v0_is_refused(void **state)
{
    (void)state;
    /* "v=0", then 2000 pseudo-random characters: controls and non-ASCII
     * code points (valid UTF-8, as a WebSocket text frame must be). */
    GString *g = g_string_new("v=0\r\n");
    uint32_t x = 12345;
    for (int i = 0; i < 2000; i++) {
        x = x * 1103515245u + 12345u;
        gunichar c = 1 + (x >> 8) % 0x7fe;
        g_string_append_unichar(g, c);
    }
    expect_refused("UTF-8 garbage", &ONE_STREAM, g->str, MAX_SDP,
                   "the answer has 0 m-lines; the offer had 2");
    /* Any byte but NUL, not UTF-8, lines and all. */
    g_string_assign(g, "v=0\r\n");
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245u + 12345u;
        g_string_append_c(g, (char)(1 + (x >> 16) % 255));
    }
    char err[256] = "";
    GstSDPMessage *sdp =
        sdp_answer_check(&ONE_STREAM, g->str, MAX_SDP, gate(&loopback), err, sizeof err);
    assert_null(sdp);
    assert_true(strlen(err) > 0);
    g_string_free(g, TRUE);
}

static void test_text_after_a_nul_byte_is_not_seen(void **state)
{
    (void)state;
    size_t len = strlen(WEBRTCBIN);
    char *cut = g_malloc(len + 1);
    /* The whole answer with a NUL after its first line: only "v=0\r\n". */
    memcpy(cut, WEBRTCBIN, len + 1);
    cut[5] = '\0';
    expect_refused("NUL after v=0", &ONE_STREAM, cut, MAX_SDP,
                   "the answer has 0 m-lines; the offer had 2");
    /* A NUL first: the empty string. */
    memcpy(cut, WEBRTCBIN, len + 1);
    cut[0] = '\0';
    expect_refused("NUL first", &ONE_STREAM, cut, MAX_SDP,
                   "the answer is not SDP: it must start with 'v=0'");
    /* A NUL right after the data channel's m-line: no credentials there. */
    memcpy(cut, WEBRTCBIN, len + 1);
    cut[strstr(WEBRTCBIN, APP_M) - WEBRTCBIN + strlen(APP_M)] = '\0';
    expect_refused("NUL in the last m-line", &ONE_STREAM, cut, MAX_SDP,
                   "m-line 1 of the answer has no ICE credentials (a=ice-ufrag, a=ice-pwd)");
    /* The size counts the bytes before the NUL only. */
    memcpy(cut, WEBRTCBIN, len + 1);
    cut[3] = '\0';
    expect_refused("NUL after v=0, tight limit", &ONE_STREAM, cut, 3,
                   "the answer has 0 m-lines; the offer had 2");
    g_free(cut);
}

static void test_huge_line_counts_are_refused_or_filtered(void **state)
{
    (void)state;
    /* 200,000 attribute lines, under a limit raised to let them in. */
    GString *g = g_string_new("v=0\r\n");
    for (int i = 0; i < 200000; i++)
        g_string_append(g, "a=x\r\n");
    expect_refused("200,000 lines", &ONE_STREAM, g->str, 2u << 20,
                   "the answer has 0 m-lines; the offer had 2");
    /* 5,000 m-lines. */
    g_string_assign(g, "v=0\r\n");
    for (int i = 0; i < 5000; i++)
        g_string_append(g, "m=video 9 RTP/AVP 96\r\n");
    expect_refused("5,000 m-lines", &ONE_STREAM, g->str, 2u << 20,
                   "the answer has 5000 m-lines; the offer had 2");
    /* 20,000 candidates outside the list on the video m-line, one inside. */
    g_string_assign(g, WEBRTCBIN);
    GString *cands = g_string_new(VIDEO_M);
    for (int i = 0; i < 20000; i++)
        g_string_append_printf(cands, "a=candidate:%d 1 UDP 2122260223 10.0.%d.%d %d typ host\r\n",
                               i, i / 250, i % 250, 1024 + i);
    g_string_append(cands, "a=candidate:x 1 UDP 2122260223 127.0.0.1 40000 typ host\r\n");
    char *text = edit(WEBRTCBIN, NULL, VIDEO_M, cands->str);
    char err[256];
    GstSDPMessage *sdp =
        sdp_answer_check(&ONE_STREAM, text, 4u << 20, gate(&loopback), err, sizeof err);
    if (!sdp)
        fail_msg("20,000 candidates: %s", err);
    char *kept = candidates_of(sdp);
    assert_string_equal(kept, "0:x 1 UDP 2122260223 127.0.0.1 40000 typ host\n");
    g_free(kept);
    gst_sdp_message_free(sdp);
    g_free(text);
    g_string_free(cands, TRUE);
    g_string_free(g, TRUE);
}

/* ---- accepted shapes and candidate filtering ---- */

#define C_LOOP "1 1 UDP 2122260223 127.0.0.1 40000 typ host"
#define C_LOOP6 "2 1 UDP 2122260223 ::1 40001 typ host"
#define C_TCP "3 1 TCP 1518280447 127.0.0.1 9 typ host tcptype active"
#define C_LAN "4 1 UDP 2122260223 10.1.2.3 40002 typ host"
#define C_SRFLX "5 1 UDP 1686052607 203.0.113.9 40003 typ srflx raddr 127.0.0.1 rport 40000"
#define C_MDNS "6 1 UDP 2122260223 3f1a2b3c-0d4e-4f50-8a6b-7c8d9e0f1a2b.local 40004 typ host"
#define C_BADPORT "7 1 UDP 2122260223 127.0.0.1 99999999 typ host"
#define C_SHORT "8 1 UDP 2122260223 127.0.0.1"
#define C_UDPX "9 1 SCTP 2122260223 127.0.0.1 40005 typ host"

/* The video m-line with one candidate of each kind above. */
#define VIDEO_CANDIDATES                                                                \
    VIDEO_M "a=candidate:" C_LOOP "\r\na=candidate:" C_LOOP6 "\r\na=candidate:" C_TCP \
    "\r\na=candidate:" C_LAN "\r\na=candidate:" C_SRFLX "\r\na=candidate:" C_MDNS     \
    "\r\na=candidate:" C_BADPORT "\r\na=candidate:" C_SHORT "\r\na=candidate:" C_UDPX \
    "\r\na=candidate:\r\na=candidate\r\na=candidate:garbage\r\n"

struct accepted {
    const char *what;
    const char *base;
    const char *from, *to;                /* the first from becomes to */
    const struct sdp_answer_offer *offer; /* NULL: ONE_STREAM */
    const struct netlist *allow;          /* NULL: none at all (allows every address) */
    const char *kept;                     /* candidates_of() the result */
};

static const struct accepted accepted[] = {
    {.what = "webrtcbin's answer", .base = WEBRTCBIN, .allow = &loopback, .kept = ""},
    {.what = "credentials and fingerprint at session level, LF line ends",
     .base = SESSION_LEVEL, .allow = &loopback, .kept = ""},
    {.what = "the data channel refused (port 0)", .base = WEBRTCBIN,
     .from = "m=application 9", .to = "m=application 0", .allow = &loopback, .kept = ""},
    {.what = "an application m-line without formats", .base = WEBRTCBIN,
     .from = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", .to = "m=application 9 X",
     .allow = &loopback, .kept = ""},
    {.what = "two streams", .base = WEBRTCBIN, .from = APP_M,
     .to = VIDEO_M UFRAG PWD FINGERPRINT APP_M, .offer = &TWO_STREAMS, .allow = &loopback,
     .kept = ""},
    /* GStreamer 1.22's parser gives every m-line at least one format (here
     * an empty one), so "lists no payload type" cannot happen with it: such
     * an answer goes on to webrtcbin, which decides (answer-rejected). */
    {.what = "a video m-line without payload types", .base = WEBRTCBIN,
     .from = "m=video 9 UDP/TLS/RTP/SAVPF 96", .to = "m=video 9 UDP/TLS/RTP/SAVPF",
     .allow = &loopback, .kept = ""},
    {.what = "lines the check does not read", .base = WEBRTCBIN, .from = "t=0 0\r\n",
     .to = "t=0 0\r\nb=AS:30\r\nz=junk\r\nx=unknown type\r\nnot a line at all\r\n",
     .allow = &loopback, .kept = ""},
    {.what = "candidates filtered by 127.0.0.1,::1", .base = WEBRTCBIN, .from = VIDEO_M,
     .to = VIDEO_CANDIDATES, .allow = &loopback,
     .kept = "0:" C_LOOP "\n0:" C_LOOP6 "\n0:" C_TCP "\n"},
    /* Without a list, loopback is refused by its class (icegate.h). */
    {.what = "candidates with an empty list: malformed and loopback ones dropped",
     .base = WEBRTCBIN, .from = VIDEO_M, .to = VIDEO_CANDIDATES, .allow = &anything,
     .kept = "0:" C_LAN "\n0:" C_SRFLX "\n0:" C_MDNS "\n"},
    {.what = "candidates with no list at all", .base = WEBRTCBIN, .from = VIDEO_M,
     .to = VIDEO_CANDIDATES, .allow = NULL,
     .kept = "0:" C_LAN "\n0:" C_SRFLX "\n0:" C_MDNS "\n"},
    {.what = "candidates on the data channel's m-line", .base = WEBRTCBIN, .from = APP_REST,
     .to = APP_REST "a=candidate:" C_LAN "\r\na=candidate:" C_LOOP "\r\n", .allow = &loopback,
     .kept = "1:" C_LOOP "\n"},
    {.what = "session-level candidates are left alone", .base = WEBRTCBIN,
     .from = "t=0 0\r\n", .to = "t=0 0\r\na=candidate:" C_LAN "\r\n", .allow = &loopback,
     .kept = ""},
};

static void test_each_accepted_shape_keeps_all_but_refused_candidates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        const struct accepted *a = &accepted[i];
        char *text = edit(a->base, NULL, a->from, a->to);
        char err[256];
        GstSDPMessage *sdp = sdp_answer_check(a->offer ? a->offer : &ONE_STREAM, text, MAX_SDP,
                                              gate(a->allow), err, sizeof err);
        if (!sdp)
            fail_msg("%s: refused: %s", a->what, err);
        char *kept = candidates_of(sdp);
        if (strcmp(kept, a->kept) != 0)
            fail_msg("%s: candidates kept:\n%s\nwant:\n%s", a->what, kept, a->kept);
        /* Nothing else changed. */
        GstSDPMessage *plain = NULL;
        assert_int_equal(gst_sdp_message_new_from_text(text, &plain), GST_SDP_OK);
        char *want = non_candidates_of(plain), *got = non_candidates_of(sdp);
        if (strcmp(got, want) != 0)
            fail_msg("%s: attributes changed:\n%s\nwant:\n%s", a->what, got, want);
        g_free(want);
        g_free(got);
        gst_sdp_message_free(plain);
        g_free(kept);
        gst_sdp_message_free(sdp);
        g_free(text);
    }
}

/* What webrtcbin gets is each candidate's canonical text, and at most the
 * session's cap of them, in the answer's order. */
static void test_kept_candidates_are_canonical_and_capped(void **state)
{
    (void)state;
    char *text = edit(WEBRTCBIN, NULL, VIDEO_M,
                      VIDEO_M "a=candidate:1 1 udp 2122260223 10.1.2.3 40002 typ host "
                              "network-cost 10 generation 0\r\n"
                              "a=candidate:2 1 UDP 2122260223 127.0.0.1 40003 typ host\r\n"
                              "a=candidate:3 1 UDP 2122260223 2001:DB8::1 40004 typ host\r\n"
                              "a=candidate:4 1 UDP 2122260223 10.1.2.4 40005 typ host\r\n");
    char err[256];
    struct icegate *g = gate_max(&anything, 2);
    GstSDPMessage *sdp = sdp_answer_check(&ONE_STREAM, text, MAX_SDP, g, err, sizeof err);
    if (!sdp)
        fail_msg("refused: %s", err);
    assert_int_equal(g->admitted, 2);
    assert_int_equal(g->refused, 2); /* loopback, then one over the cap */
    char *kept = candidates_of(sdp);
    assert_string_equal(kept, "0:1 1 UDP 2122260223 10.1.2.3 40002 typ host generation 0 "
                              "network-cost 10\n"
                              "0:3 1 UDP 2122260223 2001:db8::1 40004 typ host\n");
    g_free(kept);
    gst_sdp_message_free(sdp);
    g_free(text);
}

static void test_session_level_candidates_stay_in_the_message(void **state)
{
    (void)state;
    char *text = edit(WEBRTCBIN, NULL, "t=0 0\r\n", "t=0 0\r\na=candidate:" C_LAN "\r\n");
    char err[256];
    GstSDPMessage *sdp =
        sdp_answer_check(&ONE_STREAM, text, MAX_SDP, gate(&loopback), err, sizeof err);
    assert_non_null(sdp);
    assert_string_equal(gst_sdp_message_get_attribute_val(sdp, "candidate"), C_LAN);
    gst_sdp_message_free(sdp);
    g_free(text);
}

static void test_a_small_error_buffer_gets_a_cut_reason(void **state)
{
    (void)state;
    char err[8];
    memset(err, 'x', sizeof err);
    assert_null(
        sdp_answer_check(&ONE_STREAM, "hello", MAX_SDP, gate(&loopback), err, sizeof err));
    assert_string_equal(err, "the ans");
    /* A long media kind is cut with the rest. */
    char *kind = g_strnfill(1000, 'k');
    char *m = g_strconcat("m=", kind, NULL);
    char *long_kind = edit(WEBRTCBIN, NULL, "m=video", m);
    char big[256];
    assert_null(
        sdp_answer_check(&ONE_STREAM, long_kind, MAX_SDP, gate(&loopback), big, sizeof big));
    assert_int_equal(strlen(big), sizeof big - 1);
    assert_true(strncmp(big, "m-line 0 of the answer is 'kkkk", 31) == 0);
    g_free(long_kind);
    g_free(m);
    g_free(kind);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_refusal_has_its_exact_reason),
        cmocka_unit_test(test_an_answer_at_the_limit_is_accepted_and_one_byte_over_refused),
        cmocka_unit_test(test_a_60_kb_answer_of_junk_attributes_is_refused),
        cmocka_unit_test(test_binary_garbage_after_v0_is_refused),
        cmocka_unit_test(test_text_after_a_nul_byte_is_not_seen),
        cmocka_unit_test(test_huge_line_counts_are_refused_or_filtered),
        cmocka_unit_test(test_each_accepted_shape_keeps_all_but_refused_candidates),
        cmocka_unit_test(test_kept_candidates_are_canonical_and_capped),
        cmocka_unit_test(test_session_level_candidates_stay_in_the_message),
        cmocka_unit_test(test_a_small_error_buffer_gets_a_cut_reason),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
