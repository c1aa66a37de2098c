/* fastrelay.c - hot session messages checked from JSON text (fastrelay.h).
 *
 * Each rule below restates one of protocol.c's checks for the text form;
 * tests/unit/test_router_fuzz.c holds them to agreement with protocol.c. */
#include "cloud/fastrelay.h"

#include <string.h>

#include "cloud/jscan.h"
#include "common/ids.h"

/* The members every hot type may need; one scan fills them all. */
enum {
    F_TYPE,
    F_SESSION_ID,
    F_OFFER,
    F_OFFER_TYPE,
    F_OFFER_SDP,
    F_ANSWER,
    F_ANSWER_TYPE,
    F_ANSWER_SDP,
    F_CANDIDATE,
    F_CANDIDATE_LINE,
    F_CANDIDATE_MID,
    F_CANDIDATE_INDEX,
    F__COUNT
};

static const struct jscan_field wanted[F__COUNT] = {
    [F_TYPE] = {.name = "type", .parent = JSCAN_ROOT},
    [F_SESSION_ID] = {.name = "sessionId", .parent = JSCAN_ROOT},
    [F_OFFER] = {.name = "offer", .parent = JSCAN_ROOT},
    [F_OFFER_TYPE] = {.name = "type", .parent = F_OFFER},
    [F_OFFER_SDP] = {.name = "sdp", .parent = F_OFFER},
    [F_ANSWER] = {.name = "answer", .parent = JSCAN_ROOT},
    [F_ANSWER_TYPE] = {.name = "type", .parent = F_ANSWER},
    [F_ANSWER_SDP] = {.name = "sdp", .parent = F_ANSWER},
    [F_CANDIDATE] = {.name = "candidate", .parent = JSCAN_ROOT},
    [F_CANDIDATE_LINE] = {.name = "candidate", .parent = F_CANDIDATE},
    [F_CANDIDATE_MID] = {.name = "sdpMid", .parent = F_CANDIDATE},
    [F_CANDIDATE_INDEX] = {.name = "sdpMLineIndex", .parent = F_CANDIDATE},
};

/* protocol.c's check_description: an object {"type": expected, "sdp":
 * non-empty string}. A non-empty raw string decodes to a non-empty one:
 * the scan refused \u0000. */
static bool description_ok(const struct jscan_field *f, int at, const char *expected)
{
    return f[at].kind == JSCAN_OBJECT && jscan_string_is(&f[at + 1], expected) &&
           f[at + 2].kind == JSCAN_STRING && f[at + 2].len > 0;
}

/* protocol.c's check_ice_candidate, after the sessionId. A negative
 * sdpMLineIndex is left to the full path ("-0" is 0 to it). */
static bool candidate_ok(const struct jscan_field *f)
{
    if (f[F_CANDIDATE].kind == JSCAN_NULL)
        return true;
    enum jscan_kind mid = f[F_CANDIDATE_MID].kind;
    const struct jscan_field *idx = &f[F_CANDIDATE_INDEX];
    return f[F_CANDIDATE].kind == JSCAN_OBJECT && f[F_CANDIDATE_LINE].kind == JSCAN_STRING &&
           (mid == JSCAN_ABSENT || mid == JSCAN_STRING || mid == JSCAN_NULL) &&
           (idx->kind == JSCAN_ABSENT || idx->kind == JSCAN_NULL ||
            (idx->kind == JSCAN_INTEGER && idx->value[0] != '-'));
}

/* The check of both forms: type (len bytes) names the message, or when
 * NULL the object's own "type" member does. */
static bool check(const char *data, size_t len, const char *type, size_t type_len,
                  enum role sender, struct codec_fast_msg *out)
{
    struct jscan_field f[F__COUNT];
    memcpy(f, wanted, sizeof(f));
    if (jscan_object(data, len, f, F__COUNT) != JSCAN_OK)
        return false;
    if (!type) {
        /* codec_json: a non-empty string "type"; protocol.c: a known name. */
        if (f[F_TYPE].kind != JSCAN_STRING || f[F_TYPE].escaped)
            return false;
        type = f[F_TYPE].value;
        type_len = f[F_TYPE].len;
    }
    enum msg_type t = protocol_type_of(type, type_len);
    if ((t != MSG_WEBRTC_OFFER && t != MSG_WEBRTC_ANSWER && t != MSG_ICE_CANDIDATE) ||
        !protocol_may_send(t, sender))
        return false;
    /* check_session_id */
    const struct jscan_field *sid = &f[F_SESSION_ID];
    if (sid->kind != JSCAN_STRING || sid->escaped || !ids_valid_token(sid->value, sid->len))
        return false;
    bool ok = t == MSG_WEBRTC_OFFER    ? description_ok(f, F_OFFER, "offer")
              : t == MSG_WEBRTC_ANSWER ? description_ok(f, F_ANSWER, "answer")
                                       : candidate_ok(f);
    if (!ok)
        return false;
    out->type = t;
    memcpy(out->session_id, sid->value, IDS_TOKEN_LEN);
    out->session_id[IDS_TOKEN_LEN] = '\0';
    return true;
}

bool fastrelay_check(const char *data, size_t len, enum role sender, struct codec_fast_msg *out)
{
    return check(data, len, NULL, 0, sender, out);
}

bool fastrelay_check_typed(const char *data, size_t len, const char *type, size_t type_len,
                           enum role sender, struct codec_fast_msg *out)
{
    return check(data, len, type, type_len, sender, out);
}
