/* fuzz_router.c - libFuzzer entry: each input is split on NUL bytes into
 * messages, sent in turn by a robot, a client or an unregistered peer,
 * each either native (codec_json) or Socket.IO (codec_sio) (the first byte
 * of each piece picks which of the six), through the real codec, protocol
 * and router: sessions may cross codecs, as they do in the cloud. Every
 * message must be answered (but for a robot-response whose requestId is
 * not pending, which the protocol drops and counts); and each codec's fast
 * path (fast_relay, fastrelay.c) must agree with the full one: it never
 * accepts, for any sender role, what the codec's decode + protocol_validate
 * refuse, nor reads another type or sessionId. Sanitizers catch the rest.
 * Build and run: make fuzz (tests/fuzz/run.sh: clang,
 * -fsanitize=fuzzer,address,undefined). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/codec_json.h"
#include "cloud/codec_sio.h"
#include "cloud/router.h"
#include "common/log.h"

struct sink {
    struct peer *peer;
    unsigned long long received;
};

static int sink_send(void *conn, struct outbuf *b)
{
    (void)b;
    ((struct sink *)conn)->received++;
    return 0;
}

static void sink_close(void *conn, int code, const char *reason)
{
    (void)conn;
    (void)code;
    (void)reason;
    abort(); /* the rate limit is off: nothing may close */
}

/* Aborts when the fast check accepts a message the full path does not
 * accept as the same type with the same sessionId. */
static void check_fast_path(const struct codec *codec, const char *data, size_t len)
{
    for (int role = ROLE_NONE; role <= ROLE_CLIENT; role++) {
        struct codec_fast_msg fast;
        if (!codec->fast_relay(data, len, (enum role)role, &fast))
            continue;
        struct codec_error cerr;
        struct proto_error perr;
        const char *type = NULL;
        json_t *msg = codec->decode(data, len, &type, &cerr);
        if (!msg || protocol_validate(msg, type, (enum role)role, &perr) != fast.type ||
            strcmp(json_string_value(json_object_get(msg, "sessionId")), fast.session_id) != 0)
            abort();
        json_decref(msg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once++)
        log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "fuzz");
    struct registry reg;
    if (registry_mem_new(&reg) != 0)
        return 0;
    struct transport tx = {.send = sink_send, .close = sink_close};
    struct router_config cfg = {.max_client_sessions = 4, .max_robot_sessions = 4, .rate_limit = 0,
                                .request_timeout_s = 10, .max_pending_requests = 16};
    struct router *r = router_new(&cfg, &tx, &auth_open, &reg);
    /* 0 to 2 native, 3 to 5 Socket.IO: a robot, a client, one unregistered. */
    enum { NPEERS = 6 };
    struct sink peers[NPEERS] = {{0}};
    const struct codec *codecs[NPEERS];
    for (int i = 0; i < NPEERS; i++) {
        codecs[i] = i < 3 ? &codec_json : &codec_sio;
        peers[i].peer = router_peer_open(r, &peers[i], codecs[i], "fuzz", 0);
    }
    const char *hello[NPEERS] = {
        "{\"type\":\"robot-register\",\"robotId\":\"r1\"}",
        "{\"type\":\"client-register\",\"clientId\":\"c1\"}",
        NULL,
        "42[\"robot-register\",{\"robotId\":\"r2\"}]",
        "42[\"client-register\",{\"clientId\":\"c2\"}]",
        NULL,
    };
    for (int i = 0; i < NPEERS; i++)
        if (hello[i])
            router_peer_message(r, peers[i].peer, hello[i], strlen(hello[i]), 0);

    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
        const uint8_t *stop = nul ? nul : end;
        if (stop > p) {
            int k = p[0] % NPEERS;
            unsigned long long before = 0, after = 0;
            for (int i = 0; i < NPEERS; i++)
                before += peers[i].received;
            struct router_stats st0, st1;
            router_stats(r, &st0);
            check_fast_path(codecs[k], (const char *)p + 1, (size_t)(stop - p - 1));
            router_peer_message(r, peers[k].peer, (const char *)p + 1, (size_t)(stop - p - 1), 0);
            router_stats(r, &st1);
            for (int i = 0; i < NPEERS; i++)
                after += peers[i].received;
            if (after == before && st1.robot_responses_dropped == st0.robot_responses_dropped)
                abort(); /* a message went unanswered */
        }
        p = stop + 1;
    }
    for (int i = 0; i < NPEERS; i++)
        router_peer_closed(r, peers[i].peer);
    router_free(r);
    registry_free(&reg);
    return 0;
}
