/* router_bench.c - the signaling logic's own cost, without sockets: how
 * many sessions per second the router sets up and how many ICE-sized
 * messages per second it validates and relays, on one core.
 *
 * This is the ceiling the network server can approach; the socket-level
 * load generator (bench/cloud-load, issue #6) measures the whole server.
 * Prints one JSON line. Usage: router_bench [SESSIONS [MESSAGES]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloud/codec_json.h"
#include "cloud/router.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

/* A connection that counts what it is sent and keeps the last session id. */
struct sink {
    struct peer *peer;
    unsigned long long received;
    char last_sid[IDS_TOKEN_LEN + 1];
};

static int sink_send(void *conn, struct outbuf *b)
{
    struct sink *s = conn;
    s->received++;
    const char *p = (const char *)outbuf_payload(b);
    const char *at = memmem(p, b->len, "\"sessionId\":\"", 13);
    if (at && (size_t)(at - p) + 13 + IDS_TOKEN_LEN <= b->len)
        memcpy(s->last_sid, at + 13, IDS_TOKEN_LEN);
    return 0;
}

static void sink_close(void *conn, int code, const char *reason)
{
    (void)conn;
    fprintf(stderr, "router_bench: unexpected close %d (%s)\n", code, reason);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void deliver(struct router *r, struct sink *from, const char *text)
{
    router_peer_message(r, from->peer, text, strlen(text), clock_mono_ms());
}

int main(int argc, char **argv)
{
    long sessions = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    long messages = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
    if (sessions < 1 || messages < 1) {
        fprintf(stderr, "usage: router_bench [SESSIONS [MESSAGES]] (both > 0)\n");
        return 2;
    }
    log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "bench");

    struct registry reg;
    struct transport tx = {.send = sink_send, .close = sink_close};
    struct router_config cfg = {.max_client_sessions = 1u << 30,
                                .max_robot_sessions = 1u << 30, .rate_limit = 0};
    if (registry_mem_new(&reg) != 0)
        return 1;
    struct router *r = router_new(&cfg, &tx, &auth_open, &reg);
    struct sink robot = {0}, client = {0};
    robot.peer = router_peer_open(r, &robot, &codec_json, "127.0.0.1", clock_mono_ms());
    client.peer = router_peer_open(r, &client, &codec_json, "127.0.0.1", clock_mono_ms());
    if (!r || !robot.peer || !client.peer)
        return 1;
    deliver(r, &robot, "{\"type\":\"robot-register\",\"robotId\":\"bench-robot\"}");
    deliver(r, &client, "{\"type\":\"client-register\",\"clientId\":\"bench-client\"}");

    /* Session setup: create, offer (~3 KB SDP), answer (~2 KB), close. */
    static char offer[4096], answer[3072], sdp_o[3000], sdp_a[2000];
    memset(sdp_o, 'o', sizeof(sdp_o) - 1);
    memset(sdp_a, 'a', sizeof(sdp_a) - 1);
    double t0 = now_s();
    for (long i = 0; i < sessions; i++) {
        deliver(r, &client, "{\"type\":\"create-session\",\"robotId\":\"bench-robot\","
                            "\"streamTypes\":[\"color\"]}");
        const char *sid = robot.last_sid;
        snprintf(offer, sizeof(offer), "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\","
                 "\"offer\":{\"type\":\"offer\",\"sdp\":\"%s\"}}", sid, sdp_o);
        deliver(r, &robot, offer);
        snprintf(answer, sizeof(answer), "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\","
                 "\"answer\":{\"type\":\"answer\",\"sdp\":\"%s\"}}", sid, sdp_a);
        deliver(r, &client, answer);
        char close_msg[96];
        snprintf(close_msg, sizeof(close_msg), "{\"type\":\"close-session\",\"sessionId\":\"%s\"}",
                 sid);
        deliver(r, &client, close_msg);
    }
    double setup_s = now_s() - t0;

    /* Relay: one open session, ICE candidates (~240 bytes) both ways. */
    deliver(r, &client, "{\"type\":\"create-session\",\"robotId\":\"bench-robot\","
                        "\"streamTypes\":[\"color\"]}");
    char ice[320];
    snprintf(ice, sizeof(ice), "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":"
             "{\"candidate\":\"candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx "
             "raddr 0.0.0.0 rport 0 generation 0 ufrag sXbG network-cost 999\",\"sdpMid\":\"0\","
             "\"sdpMLineIndex\":0}}", robot.last_sid);
    unsigned long long before = robot.received + client.received;
    t0 = now_s();
    for (long i = 0; i < messages; i++)
        deliver(r, (i & 1) ? &client : &robot, ice);
    double relay_s = now_s() - t0;
    unsigned long long relayed = robot.received + client.received - before;

    printf("{\"bench\":\"router\",\"sessions\":%ld,\"sessions_per_s\":%.0f,"
           "\"ice_messages\":%ld,\"ice_relayed\":%llu,\"ice_per_s\":%.0f,\"ns_per_ice\":%.0f,"
           "\"ice_bytes\":%zu}\n",
           sessions, sessions / setup_s, messages, relayed, messages / relay_s,
           relay_s * 1e9 / messages, strlen(ice));

    router_peer_closed(r, robot.peer);
    router_peer_closed(r, client.peer);
    router_free(r);
    registry_free(&reg);
    return relayed == (unsigned long long)messages ? 0 : 1;
}
