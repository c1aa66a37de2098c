/* msg.c - message texts and field reading for cloud-load (msg.h). */
#include "msg.h"

#include <stdio.h>
#include <string.h>

/* Lines of the offer: what webrtcbin writes for one VP8 stream with RTX,
 * RED and ULPFEC, plus a data channel, with its first candidates inline. */
/* The RTP header extensions both sides list, as Chromium does. */
#define SDP_EXTMAPS                                                                        \
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",                                      \
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",           \
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", \
        "a=extmap:4 urn:ietf:params:rtp-hdrext:toffset",                                   \
        "a=extmap:5 urn:3gpp:video-orientation",                                           \
        "a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",           \
        "a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type",      \
        "a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/video-timing"

static const char *const offer_lines[] = {
    "v=0",
    "o=- 4215775240449105457 0 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=ice-options:trickle",
    "a=group:BUNDLE video0 application1",
    "a=msid-semantic: WMS porthole",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100",
    "c=IN IP4 0.0.0.0",
    "a=setup:actpass",
    "a=ice-ufrag:G7mNm0f4ZQyJ3bqVdkWvGqH2x1YtR8sA",
    "a=ice-pwd:q0Xl2cB5fK8nJ3tW7yZ1aE4rU6iO9pLs",
    "a=rtcp-mux",
    "a=rtcp-rsize",
    "a=sendonly",
    "a=rtpmap:96 VP8/90000",
    "a=fmtp:96 max-fr=30;max-fs=1200",
    "a=rtcp-fb:96 nack",
    "a=rtcp-fb:96 nack pli",
    "a=rtcp-fb:96 ccm fir",
    "a=rtcp-fb:96 goog-remb",
    "a=rtcp-fb:96 transport-cc",
    "a=framerate:30",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=96",
    "a=rtpmap:98 red/90000",
    "a=rtpmap:99 rtx/90000",
    "a=fmtp:99 apt=98",
    "a=rtpmap:100 ulpfec/90000",
    SDP_EXTMAPS,
    "a=ssrc-group:FID 2381929471 1623857716",
    "a=ssrc:2381929471 msid:porthole color",
    "a=ssrc:2381929471 cname:porthole-robot-123",
    "a=ssrc:2381929471 mslabel:porthole",
    "a=ssrc:2381929471 label:color",
    "a=ssrc:1623857716 msid:porthole color",
    "a=ssrc:1623857716 cname:porthole-robot-123",
    "a=ssrc:1623857716 mslabel:porthole",
    "a=ssrc:1623857716 label:color",
    "a=mid:video0",
    "a=fingerprint:sha-256 8A:5F:1C:0E:77:2B:C4:39:D0:6E:91:A3:5B:F2:48:07:CC:1D:E9:66:30:"
    "8F:B5:12:7A:D4:E0:59:23:9B:6C:41",
    "a=candidate:1 1 UDP 2015363327 192.168.1.23 56143 typ host",
    "a=candidate:2 1 UDP 1677721855 203.0.113.7 46154 typ srflx raddr 192.168.1.23 rport 56143",
    "a=candidate:3 1 TCP 1010827775 192.168.1.23 9 typ host tcptype active",
    "a=candidate:4 1 UDP 2015363583 2001:db8:4860::c3a1 45091 typ host",
    "a=candidate:5 1 UDP 16777215 198.51.100.20 3478 typ relay raddr 203.0.113.7 rport 46154",
    "a=candidate:6 1 UDP 2015363071 172.17.0.1 40112 typ host",
    "a=candidate:7 1 TCP 1015021823 172.17.0.1 9 typ host tcptype active",
    "a=candidate:8 1 UDP 2015362815 10.8.0.6 35011 typ host",
    "a=candidate:9 1 TCP 1010827263 10.8.0.6 9 typ host tcptype active",
    "a=candidate:10 1 UDP 1677721343 203.0.113.7 46155 typ srflx raddr 172.17.0.1 rport 40112",
    "a=end-of-candidates",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    "a=setup:actpass",
    "a=ice-ufrag:G7mNm0f4ZQyJ3bqVdkWvGqH2x1YtR8sA",
    "a=ice-pwd:q0Xl2cB5fK8nJ3tW7yZ1aE4rU6iO9pLs",
    "a=bundle-only",
    "a=mid:application1",
    "a=sctp-port:5000",
    "a=max-message-size:262144",
    "a=fingerprint:sha-256 8A:5F:1C:0E:77:2B:C4:39:D0:6E:91:A3:5B:F2:48:07:CC:1D:E9:66:30:"
    "8F:B5:12:7A:D4:E0:59:23:9B:6C:41",
    NULL,
};

/* The answer's ICE and DTLS lines, repeated in each of its m-sections. */
#define ANSWER_TRANSPORT                                                                  \
    "a=ice-ufrag:Xq3v", "a=ice-pwd:7bY2kPz9LmQ4rT1sW8nV5cJ0", "a=ice-options:trickle",    \
        "a=fingerprint:sha-256 3C:E1:90:4B:7F:22:D8:5A:61:0C:AF:93:E7:1D:46:B8:2F:C5:08:7E:" \
        "99:54:A2:3B:D6:E0:11:8C:47:F3:6A:25",                                             \
        "a=setup:active"

/* Lines of a Chromium answer: receive-only video, the data channel. */
static const char *const answer_lines[] = {
    "v=0",
    "o=- 7032811524871739041 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE video0 application1",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100",
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    ANSWER_TRANSPORT,
    "a=mid:video0",
    SDP_EXTMAPS,
    "a=extmap:9 http://www.webrtc.org/experiments/rtp-hdrext/color-space",
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    "a=recvonly",
    "a=rtcp-mux",
    "a=rtcp-rsize",
    "a=rtpmap:96 VP8/90000",
    "a=rtcp-fb:96 goog-remb",
    "a=rtcp-fb:96 transport-cc",
    "a=rtcp-fb:96 ccm fir",
    "a=rtcp-fb:96 nack",
    "a=rtcp-fb:96 nack pli",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=96",
    "a=rtpmap:98 red/90000",
    "a=rtcp-fb:98 nack",
    "a=rtpmap:99 rtx/90000",
    "a=fmtp:99 apt=98",
    "a=rtpmap:100 ulpfec/90000",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    ANSWER_TRANSPORT,
    "a=mid:application1",
    "a=sctp-port:5000",
    "a=max-message-size:262144",
    NULL,
};

/* Trickled candidates as Chromium and libnice write them. */
static const char *const candidates[MSG_CANDIDATES] = {
    "candidate:1467250027 1 udp 2122260223 192.168.1.23 56143 typ host generation 0 ufrag Xq3v "
    "network-id 1 network-cost 10",
    "candidate:3411270161 1 udp 2122197247 2001:db8:4860::c3a1 45091 typ host generation 0 "
    "ufrag Xq3v network-id 2 network-cost 10",
    "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 192.168.1.23 rport "
    "56143 generation 0 ufrag Xq3v network-id 1",
    "candidate:2998312515 1 tcp 1518280447 192.168.1.23 9 typ host tcptype active generation 0 "
    "ufrag Xq3v network-id 1 network-cost 10",
    "candidate:3598112251 1 udp 41885439 198.51.100.20 3478 typ relay raddr 203.0.113.7 rport "
    "46154 generation 0 ufrag Xq3v network-id 1",
    "candidate:1 1 UDP 2015363327 10.42.0.17 51720 typ host",
    "candidate:2 1 UDP 1677721855 198.51.100.77 61205 typ srflx raddr 10.42.0.17 rport 51720",
    "candidate:3 1 TCP 1010827775 10.42.0.17 9 typ host tcptype active",
    "candidate:4 1 UDP 2015363583 2001:db8:1f70::999:de8 60318 typ host",
    "candidate:5 1 UDP 16777215 198.51.100.20 3479 typ relay raddr 198.51.100.77 rport 61205",
};

static const char device_info[] =
    "{\"name\":\"Intel RealSense D435 (simulated)\",\"serial\":\"747028587529\","
    "\"firmwareVersion\":\"5.16.0.1\",\"productId\":\"0B07\",\"usbType\":\"3.2\","
    "\"physicalPort\":\"sim\",\"depthScale\":0.001,\"width\":640,\"height\":480,\"fps\":30,"
    "\"streams\":[\"color\",\"depth\",\"infrared-1\",\"infrared-2\"],"
    "\"intrinsics\":{\"color\":{\"width\":640,\"height\":480,\"ppx\":320.5,\"ppy\":240.25,"
    "\"fx\":615.9,\"fy\":616.1,\"model\":\"brown-conrady\",\"coeffs\":[0,0,0,0,0]},"
    "\"depth\":{\"width\":640,\"height\":480,\"ppx\":319.8,\"ppy\":238.6,\"fx\":383.2,"
    "\"fy\":383.2,\"model\":\"brown-conrady\",\"coeffs\":[0,0,0,0,0]}},"
    "\"codec\":\"vp8\",\"robotVersion\":\"0.1.0\"}";

static char offer_sdp[4096], answer_sdp[3072];

/* Joins lines with an escaped CRLF ("\\r\\n" in the JSON text). */
static void join_sdp(const char *const *lines, char *out, size_t cap)
{
    size_t n = 0;
    for (; *lines; lines++) {
        int k = snprintf(out + n, cap - n, "%s\\r\\n", *lines);
        if (k < 0 || (size_t)k >= cap - n)
            break; /* cannot happen with the lines above; keep what fits */
        n += (size_t)k;
    }
}

void msg_init(void)
{
    join_sdp(offer_lines, offer_sdp, sizeof(offer_sdp));
    join_sdp(answer_lines, answer_sdp, sizeof(answer_sdp));
}

const char *msg_offer_sdp(void) { return offer_sdp; }
const char *msg_answer_sdp(void) { return answer_sdp; }
const char *msg_device_info(void) { return device_info; }
const char *msg_candidate(unsigned i) { return candidates[i % MSG_CANDIDATES]; }

/* Copies the string value starting at v (up to its closing quote) into
 * out. Returns its length, or 0 when unterminated or too long. */
static size_t copy_value(const char *v, const char *end, char *out, size_t cap)
{
    const char *q = memchr(v, '"', (size_t)(end - v));
    if (!q || (size_t)(q - v) >= cap)
        return 0;
    size_t n = (size_t)(q - v);
    memcpy(out, v, n);
    out[n] = '\0';
    return n;
}

size_t msg_str(const char *m, size_t len, const char *key, char *out, size_t cap)
{
    char pat[MSG_NAME_MAX + 8];
    int k = snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    if (k < 0 || (size_t)k >= sizeof(pat))
        return 0;
    const char *at = memmem(m, len, pat, (size_t)k);
    if (!at)
        return 0;
    return copy_value(at + k, m + len, out, cap);
}

size_t msg_type(const char *m, size_t len, char *out, size_t cap)
{
    /* Both the cloud and cloud-load write "type" first. */
    static const char head[] = "{\"type\":\"";
    if (len > sizeof(head) - 1 && memcmp(m, head, sizeof(head) - 1) == 0)
        return copy_value(m + sizeof(head) - 1, m + len, out, cap);
    return msg_str(m, len, "type", out, cap);
}
