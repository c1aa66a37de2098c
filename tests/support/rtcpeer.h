/* rtcpeer.h - a receiving WebRTC viewer for integration tests: a WebSocket
 * to porthole-cloud (libsoup) and a GStreamer webrtcbin that answers the
 * robot's offer (or makes the offer itself: opts.viewer_offers) and decodes
 * what it sends.
 *
 * A peer registers as a client, opens one session for its robot, answers
 * the offer (automatically, or when the test says so), trickles candidates
 * both ways (ICE on 127.0.0.1 only unless opts say otherwise, UPnP and
 * ICE-TCP off) and decodes every video track to I420, keeping statistics
 * of the last frame: size, mean luma, chroma energy, detail
 * (high-frequency energy of luma) and the capture-time marker the robot draws into color frames. Telemetry from
 * the robot's "telemetry" data channel is kept as the last parsed object.
 * Every message received from the cloud is kept in an inbox the test can
 * take messages from. A peer may instead skip signaling altogether and
 * answer an offer the test hands it (the robot's REST API: POST
 * /api/webrtc/offer, then /api/webrtc/answer; see opts.offer_sdp).
 *
 * Threads: everything here runs on the thread that iterates GLib's default
 * main context, which the test does through the wait functions. webrtcbin
 * and the decoders report on their own threads; the peer hands their events
 * to the default context (frame statistics are read under a lock). Nothing
 * here calls cmocka: waits return false on timeout, and the reason of any
 * failure goes to stderr. Every wait is bounded by its timeout. */
#ifndef PORTHOLE_TESTS_RTCPEER_H
#define PORTHOLE_TESTS_RTCPEER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct rtcpeer;

struct rtcpeer_opts {
    const char *cloud_url;   /* ws://127.0.0.1:PORT/ws */
    const char *robot_id;    /* the robot to open a session with */
    /* streamTypes of create-session as JSON text ("[\"color\"]"); NULL opens
     * no session (the peer only registers). */
    const char *stream_types_json;
    /* deviceId of create-session (a string), or NULL to leave it out. */
    const char *device_id;
    /* true: the offer is kept until the test calls rtcpeer_answer(), and
     * the answer (with our candidates) is kept until rtcpeer_send_answer(),
     * so that a test can send answers of its own first. */
    bool manual_answer;
    /* Non-NULL: a peer without signaling, for the robot's REST API. It
     * opens no WebSocket (cloud_url, robot_id, stream_types_json,
     * device_id and manual_answer are ignored; the signaling functions
     * below report nothing and send nothing), applies this offer at once
     * (with the a=candidate lines it carries) and creates its answer, which
     * rtcpeer_wait_local_answer() returns once it carries the peer's own
     * candidates. Copied; the caller keeps its string. */
    const char *offer_sdp;
    /* ICE, for the network lab (tests/netlab); zero keeps the loopback
     * setup of the integration tests. All copied or used before return. */
    const char *ice_address; /* the one local address to gather on; NULL: 127.0.0.1 */
    const char *stun_server; /* stun://HOST:PORT, or NULL */
    /* Comma-separated turn://USER:PASS@HOST:PORT[?transport=tcp] or
     * turns://... URLs (user and password percent-encoded), or NULL. */
    const char *turn_servers;
    bool relay_only;         /* ice-transport-policy "relay": relayed candidates only */
    /* true: use the STUN and TURN servers of session-created's iceServers
     * (RTCIceServer JSON, converted by src/robot/iceconf.h), as porthole.js
     * does; stun_server and turn_servers, when given, win over them (as a
     * page's own iceServers do). Applied before the offer is, so before any
     * gathering. */
    bool cloud_ice;
    /* webrtcbin's jitter-buffer latency in ms; 0 keeps its default (200).
     * Every decoded frame waits this long, the first one included. */
    unsigned latency_ms;
    /* ICE restarts (see "renegotiation" below). A second local address to
     * gather on besides ice_address (a second path for a test to keep when
     * it cuts the first), or NULL. */
    const char *extra_ice_address;
    /* Non-zero: once video has started, no frame decoded for this many ms
     * sends ice-restart-request (again after each further such stretch). */
    unsigned restart_after_ms;
    /* true: the answer carries the offer's transport-wide congestion
     * control header extension (a=extmap ... transport-wide-cc), so that
     * the peer sends TWCC feedback as a browser does and the robot can
     * estimate its bandwidth. webrtcbin 1.22 leaves the extension out of
     * its own answers and then sends no feedback at all. */
    bool twcc;
    /* true: VP8 tracks (and tracks whose caps do not name their codec
     * yet, taken for VP8, the robot's default) are depayloaded and counted,
     * not decoded (a crowd of peers on two cores); the frame statistics
     * below then stay at zero but frames, rtp_bytes and the frame times.
     * Other codecs decode. */
    bool no_decode;
    /* true: the peer makes the offer (docs/PROTOCOL.md "The viewer
     * offers"), as porthole.js does with viewerOffers: one recvonly VP8
     * video m-line per entry of stream_types_json (which must then be a
     * JSON array of 1 to 8 entries; otherwise the peer reports why on
     * stderr and stays unconnected), plus an application m-line (a data
     * channel the robot never hears of) for telemetry, bundled (as
     * webrtcbin makes it: every m-line after the first bundle-only with
     * port 0, RFC 8843, which the robot must take as live). Once
     * available-robots arrives (with cloud_ice, its iceServers are taken:
     * the offer gathers before any session exists), the offer goes out in
     * create-session at once; our candidates trickle once session-created
     * names the session; the robot's webrtc-answer and candidates are
     * applied. With twcc, each video m-line of the offer carries the TWCC
     * header extension. rtcpeer_requested_us is then when the offer was
     * asked of webrtcbin (the "click"), rtcpeer_has_offer and
     * rtcpeer_wait_offer report the robot's answer, rtcpeer_answer and
     * rtcpeer_send_answer do nothing (manual_answer is ignored), and an
     * ICE restart (rtcpeer_request_restart, restart_after_ms) is a new
     * offer of ours with new ICE credentials (see "renegotiation"). A robot
     * that answers the offer with an offer of its own (one older than the
     * offer field) is not supported: the peer says so on stderr and gets
     * no video. Ignored with offer_sdp. */
    bool viewer_offers;
    /* viewer_offers only; 0: none. The robot's relayed candidates wait
     * this long after its first srflx one (4 times as long after its answer
     * when none comes): libnice, controlling here, nominates the best valid
     * pair as soon as two pairs are valid (its regular nomination's
     * stopping criterion) and never renominates, so through two cone NATs
     * it took the robot's relayed candidate in 3 of 9 lab sessions before
     * the direct pair was checked; Chromium nominates at once and moves to
     * the better pair later. The robot holds a viewer's relayed candidates
     * the same way when it offers. Delays relayed paths by as much. */
    unsigned relay_hold_ms;
};

/* Starts a peer: connects, sends client-register and, once registered,
 * create-session. Returns at once (the work happens while the default main
 * context runs); never NULL. Release with rtcpeer_free(). */
struct rtcpeer *rtcpeer_new_opts(const struct rtcpeer_opts *opts);

/* Shorthand: a session on one stream type, answered automatically. */
struct rtcpeer *rtcpeer_new(const char *cloud_url, const char *robot_id, const char *stream_type);

/* Closes the WebSocket, stops the pipeline and frees the peer. Events still
 * queued for it are dropped. NULL is a no-op. */
void rtcpeer_free(struct rtcpeer *p);

/* Iterates the default main context until pred(user) is true or timeout_ms
 * passed. Returns the last value of pred. */
bool rtcpeer_run_until(bool (*pred)(void *user), void *user, int timeout_ms);

/* Iterates the default main context for ms milliseconds. */
void rtcpeer_run_for(int ms);

/* ---- signaling ---- */

/* True once the WebSocket is open and available-robots arrived. */
bool rtcpeer_registered(const struct rtcpeer *p);
/* The session id from session-created, or NULL before it. */
const char *rtcpeer_session_id(const struct rtcpeer *p);
/* True once the robot's offer arrived (and, unless manual, was answered);
 * viewer_offers: once the robot's answer to our offer arrived. */
bool rtcpeer_has_offer(const struct rtcpeer *p);
/* True when the WebSocket is closed (by either side) or failed. */
bool rtcpeer_ws_closed(const struct rtcpeer *p);

/* Waits for the offer (viewer_offers: the robot's answer). Returns false
 * on timeout. */
bool rtcpeer_wait_offer(struct rtcpeer *p, int timeout_ms);

/* Applies the stored offer and has webrtcbin create the answer, which is
 * sent at once (automatic peers) or kept for rtcpeer_send_answer() (manual
 * ones; automatic peers call this themselves). Returns false when there is
 * no offer yet or it was applied already. */
bool rtcpeer_answer(struct rtcpeer *p);

/* Waits until the answer exists; returns its SDP (owned by the peer) or
 * NULL on timeout (always, with viewer_offers: we make no answer). */
const char *rtcpeer_wait_answer_sdp(struct rtcpeer *p, int timeout_ms);

/* Manual peers: sends the answer and then the candidates held back.
 * Returns false when there is no answer yet or it was sent already. */
bool rtcpeer_send_answer(struct rtcpeer *p);

/* Peers made with offer_sdp: waits until the answer exists and ICE
 * gathering has completed, and returns the answer SDP with an a=candidate
 * line for each candidate gathered (in the m-section it belongs to) and
 * a=end-of-candidates in every m-section: an answer complete without
 * trickle. Owned by the peer (valid until rtcpeer_free). NULL on timeout,
 * or for a peer with signaling. */
const char *rtcpeer_wait_local_answer(struct rtcpeer *p, int timeout_ms);

/* Sends text as one WebSocket text frame. Returns false when not open. */
bool rtcpeer_send_raw(struct rtcpeer *p, const char *text);

/* Serializes j compactly and sends it; steals the reference. */
bool rtcpeer_send_json(struct rtcpeer *p, json_t *j);

/* Sends switch-stream-type for the session with one stream type. */
bool rtcpeer_switch(struct rtcpeer *p, const char *stream_type);

/* Sends close-session for the session. */
bool rtcpeer_close(struct rtcpeer *p);

/* Takes the oldest message of this type out of the inbox, waiting up to
 * timeout_ms for one. Returns it (the caller owns the reference) or NULL. */
json_t *rtcpeer_take(struct rtcpeer *p, const char *type, int timeout_ms);

/* How many messages of this type arrived so far (taken or not). */
unsigned rtcpeer_count(const struct rtcpeer *p, const char *type);

/* Waits until at least n messages of this type arrived (taken or not). */
bool rtcpeer_wait_count(struct rtcpeer *p, const char *type, unsigned n, int timeout_ms);

/* ---- renegotiation: ICE restarts ----
 * A webrtc-offer after the first, once answered, is a renegotiation on the
 * same webrtcbin: when its ICE credentials changed (the robot restarted
 * ICE) the peer restarts its own libnice stream too (new credentials in its
 * answer, as webrtcbin 1.22 would not change them), answers, and sends its
 * local candidates again; the decoding branches and counters carry on.
 * viewer_offers: the robot neither restarts such a session nor hears
 * ice-restart-request for it; the peer restarts its libnice stream itself,
 * sends a new webrtc-offer with the new credentials (once the first answer
 * is in, one at a time) and its local candidates again, and applies the
 * robot's webrtc-answer. */

/* Sends ice-restart-request for the session (reason "requested": the
 * robot restarts even while it hears from the viewer; restart_after_ms
 * sends "video-stalled"). viewer_offers: makes a restart offer instead;
 * false when none could be made (no answer yet, one under way). */
bool rtcpeer_request_restart(struct rtcpeer *p);

/* Offers after the first that were answered so far (viewer_offers: our
 * restart offers the robot answered). */
unsigned rtcpeer_reanswers(const struct rtcpeer *p);

/* Offers after the first whose ICE credentials changed (ICE restarts),
 * counted as they arrive; the rest would be renegotiations.
 * viewer_offers: our restart offers, counted as they are sent. */
unsigned rtcpeer_ice_restarts(const struct rtcpeer *p);

/* ice-restart-request messages sent so far (by the test or
 * restart_after_ms); viewer_offers: restart offers made. */
unsigned rtcpeer_restart_requests(const struct rtcpeer *p);

/* Monotonic time (microseconds) of the last decoded frame, 0 before. */
int64_t rtcpeer_last_frame_us(struct rtcpeer *p);

/* ---- media ---- */

struct rtcpeer_video {
    uint64_t frames;        /* decoded frames, all tracks */
    int width, height;      /* of the last frame (0 before) */
    double luma;            /* mean Y of the last frame */
    double chroma;          /* mean |U-128| + |V-128| of the last frame */
    double u, v;            /* mean U and mean V of the last frame (a colour's hue) */
    /* Mean |Y(x+1, y) - Y(x, y)| over every other row of the last frame:
     * fine texture (the infrared projector's dots) scores high, smooth
     * shading low. */
    double detail;
    bool marker_ok;         /* the last frame carried a readable marker */
    uint32_t marker_ms;     /* its capture time (wall ms mod 2^32) */
    int64_t latency_ms;     /* receive wall time minus marker_ms (last marked frame) */
    uint64_t marked_frames; /* frames that carried a readable marker */
    uint64_t rtp_bytes;     /* RTP bytes of the media packets received, all tracks */
};

/* A snapshot of the decoded-video statistics. */
void rtcpeer_video(struct rtcpeer *p, struct rtcpeer_video *out);

/* Decoded frames so far (all tracks). */
uint64_t rtcpeer_frames(struct rtcpeer *p);

/* Waits until at least n frames were decoded in total. */
bool rtcpeer_wait_frames(struct rtcpeer *p, uint64_t n, int timeout_ms);

/* The webrtcbin connection state reached "connected". */
bool rtcpeer_connected(struct rtcpeer *p);

/* Monotonic time (g_get_monotonic_time, microseconds) of the first decoded
 * frame and of the first "connected" state; 0 before they happen. */
int64_t rtcpeer_first_frame_us(struct rtcpeer *p);
int64_t rtcpeer_connected_us(struct rtcpeer *p);

/* Monotonic time create-session was sent (the viewer's "click"; with
 * viewer_offers, when the offer was asked of webrtcbin); 0 before. */
int64_t rtcpeer_requested_us(struct rtcpeer *p);

/* ---- ICE ---- */

/* What the peer's ICE agent was given and what it did with it. */
struct rtcpeer_ice {
    bool from_cloud;       /* the servers came from session-created's iceServers */
    bool stun;             /* a STUN server is configured */
    unsigned turn;         /* TURN servers configured */
    /* The first TURN server without its credentials, e.g.
     * "turns://203.0.113.20:443", or "". */
    char turn_server[128];
    /* Local candidates gathered so far, by type. */
    unsigned host, srflx, prflx, relay;
    bool gathered;         /* gathering completed */
    bool failed;           /* webrtcbin's ICE connection state reached "failed" */
};

/* A snapshot of the above. */
void rtcpeer_ice_info(struct rtcpeer *p, struct rtcpeer_ice *out);

/* Describes the ICE path in use, from webrtcbin's statistics, as
 * "LOCALTYPE/PROTO ADDR:PORT -> REMOTETYPE/PROTO ADDR:PORT" (types host,
 * srflx, prflx, relay), e.g. "relay/udp 203.0.113.20:50123 -> srflx/udp
 * 198.51.100.2:41000". A relayed candidate also says how its TURN server
 * is reached, "via turn-udp" or "via turn-tcp" (TCP or TLS; libnice's
 * priorities do not tell them apart): "relay/udp 203.0.113.20:50123 via
 * turn-tcp -> ...". Blocks up to timeout_ms for
 * webrtcbin's answer. Returns false (buf empty) when no pair is known. */
bool rtcpeer_ice_path(struct rtcpeer *p, char *buf, size_t len, int timeout_ms);

/* The last telemetry object received (borrowed; valid until the next main
 * context iteration), or NULL. */
json_t *rtcpeer_telemetry(const struct rtcpeer *p);

/* Telemetry messages received so far. */
unsigned rtcpeer_telemetry_count(const struct rtcpeer *p);

/* Waits for a telemetry message newer than the ones received so far and
 * returns it (borrowed, as rtcpeer_telemetry), or NULL. */
json_t *rtcpeer_wait_telemetry(struct rtcpeer *p, int timeout_ms);

/* Decodes the capture-time marker from an 8-bit luma plane: MARKER_BLOCKS
 * square blocks of max(4, width / 40) pixels at the top left, start pattern
 * white, black, then 32 bits MSB first (white = 1). Returns false when the
 * start pattern is not there. Independent of the robot's own decoder. */
bool rtcpeer_read_marker(const uint8_t *y, int width, int height, int stride, uint32_t *ms);

/* Wall-clock milliseconds (CLOCK_REALTIME). */
int64_t rtcpeer_wall_ms(void);

#endif
