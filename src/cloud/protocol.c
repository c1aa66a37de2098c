/* protocol.c - message vocabulary and field validation (docs/PROTOCOL.md). */
#include "cloud/protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/ids.h"

#define FROM_ANY (1u << ROLE_NONE | 1u << ROLE_ROBOT | 1u << ROLE_CLIENT)
#define FROM_ROBOT (1u << ROLE_ROBOT)
#define FROM_CLIENT (1u << ROLE_CLIENT)
#define FROM_PEER (FROM_ROBOT | FROM_CLIENT)

/* Validators return true, or false with err->message filled. */
typedef bool (*check_fn)(json_t *msg, struct proto_error *err);

struct msg_spec {
    const char *name;
    unsigned senders;  /* bit set of roles that may send it */
    bool session;      /* carries a sessionId of the sender's */
    check_fn check;
};

static bool fail(struct proto_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct proto_error *err, const char *fmt, ...)
{
    /* Appends to the "type: " prefix protocol_validate wrote. */
    size_t off = strnlen(err->message, sizeof(err->message) - 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + off, sizeof(err->message) - off, fmt, ap);
    va_end(ap);
    err->code = "invalid-field";
    return false;
}

static bool check_name(json_t *msg, const char *field, bool required, struct proto_error *err)
{
    json_t *v = json_object_get(msg, field);
    if (!v && !required)
        return true;
    const char *s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v) || !ids_valid_name(s, PROTO_NAME_MAX))
        return fail(err, "'%s' must be a string of 1 to %d characters of A-Z a-z 0-9 . _ : @ -",
                    field, PROTO_NAME_MAX);
    return true;
}

static bool check_opt_string(json_t *msg, const char *field, size_t max, struct proto_error *err)
{
    json_t *v = json_object_get(msg, field);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) > max)
        return fail(err, "'%s' must be a string of at most %zu bytes", field, max);
    return true;
}

static bool check_request_id(json_t *msg, struct proto_error *err)
{
    json_t *v = json_object_get(msg, "requestId");
    if (!json_is_string(v) || json_string_length(v) > PROTO_REQUEST_ID_MAX)
        return fail(err, "'requestId' must be a string of at most %d bytes", PROTO_REQUEST_ID_MAX);
    return true;
}

static bool check_text(json_t *msg, const char *field, struct proto_error *err)
{
    if (!json_is_string(json_object_get(msg, field)))
        return fail(err, "'%s' must be a string", field);
    return true;
}

static bool check_session_id(json_t *msg, struct proto_error *err)
{
    json_t *v = json_object_get(msg, "sessionId");
    const char *s = json_string_value(v);
    if (!s || !ids_valid_token(s, json_string_length(v)))
        return fail(err, "'sessionId' must be the %d-character id from session-created",
                    IDS_TOKEN_LEN);
    return true;
}

static bool check_stream_types(json_t *msg, struct proto_error *err)
{
    json_t *arr = json_object_get(msg, "streamTypes");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n < 1 || n > PROTO_STREAM_TYPES_MAX)
        return fail(err, "'streamTypes' must be an array of 1 to %d stream type names",
                    PROTO_STREAM_TYPES_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v) || !ids_valid_name(s, PROTO_STREAM_TYPE_MAX))
            return fail(err, "'streamTypes[%zu]' must be a name of 1 to %d characters of "
                        "A-Z a-z 0-9 . _ : @ -", i, PROTO_STREAM_TYPE_MAX);
    }
    return true;
}

/* offer/answer: {"type": expected, "sdp": non-empty string}. */
static bool check_description(json_t *msg, const char *field, const char *expected,
                              struct proto_error *err)
{
    json_t *d = json_object_get(msg, field);
    const char *t = json_string_value(json_object_get(d, "type"));
    const char *sdp = json_string_value(json_object_get(d, "sdp"));
    if (!json_is_object(d) || !t || strcmp(t, expected) != 0 || !sdp || !*sdp)
        return fail(err, "'%s' must be an object {\"type\":\"%s\",\"sdp\":\"<non-empty SDP>\"}",
                    field, expected);
    return true;
}

/* The optional (required) credential of register messages (refresh-token). */
static bool check_token(json_t *msg, bool required, struct proto_error *err)
{
    json_t *v = json_object_get(msg, "token");
    if (!v && !required)
        return true;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(err, "'token' must be a non-empty string (a JWT)");
    return true;
}

static bool check_robot_register(json_t *msg, struct proto_error *err)
{
    json_t *info = json_object_get(msg, "deviceInfo");
    if (info && !json_is_object(info))
        return fail(err, "'deviceInfo' must be an object when present");
    if (info && json_dumpb(info, NULL, 0, JSON_COMPACT) > PROTO_DEVICE_INFO_MAX)
        return fail(err, "'deviceInfo' must be at most %d bytes of JSON", PROTO_DEVICE_INFO_MAX);
    return check_name(msg, "robotId", true, err) && check_token(msg, false, err);
}

static bool check_client_register(json_t *msg, struct proto_error *err)
{
    return check_name(msg, "clientId", false, err) && check_token(msg, false, err);
}

static bool check_refresh_token(json_t *msg, struct proto_error *err)
{
    return check_token(msg, true, err);
}

/* create-session's optional "depth": the robot reads it (rate, decimation,
 * color, clamped there); the cloud only bounds its shape and size. */
static bool check_depth(json_t *msg, struct proto_error *err)
{
    json_t *d = json_object_get(msg, "depth");
    if (!d || json_is_null(d) || json_is_boolean(d))
        return true;
    if (!json_is_object(d) || json_dumpb(d, NULL, 0, JSON_COMPACT) > 256)
        return fail(err, "'depth' must be true, false, null or an object {rate?, decimation?, "
                    "color?} of at most 256 bytes");
    return true;
}

/* create-session's optional "offer": the viewer offers and the robot
 * answers (webrtc-answer); absent or null, the robot offers as ever. The
 * robot checks the SDP itself (sdp_offer.c); the cloud bounds its shape and
 * size. */
static bool check_session_offer(json_t *msg, struct proto_error *err)
{
    json_t *o = json_object_get(msg, "offer");
    if (!o || json_is_null(o))
        return true;
    if (!check_description(msg, "offer", "offer", err))
        return false;
    if (json_string_length(json_object_get(o, "sdp")) > PROTO_OFFER_SDP_MAX)
        return fail(err, "'offer.sdp' must be at most %d bytes", PROTO_OFFER_SDP_MAX);
    return true;
}

static bool check_create_session(json_t *msg, struct proto_error *err)
{
    return check_name(msg, "robotId", true, err) && check_stream_types(msg, err) &&
           check_depth(msg, err) && check_session_offer(msg, err) &&
           check_opt_string(msg, "deviceId", PROTO_NAME_MAX * 2, err) &&
           check_opt_string(msg, "requestId", PROTO_REQUEST_ID_MAX, err);
}

static bool check_offer(json_t *msg, struct proto_error *err)
{
    return check_session_id(msg, err) && check_description(msg, "offer", "offer", err);
}

static bool check_answer(json_t *msg, struct proto_error *err)
{
    return check_session_id(msg, err) && check_description(msg, "answer", "answer", err);
}

static bool check_ice_candidate(json_t *msg, struct proto_error *err)
{
    if (!check_session_id(msg, err))
        return false;
    json_t *c = json_object_get(msg, "candidate");
    if (json_is_null(c))
        return true; /* end of candidates */
    json_t *mid = json_object_get(c, "sdpMid");
    json_t *idx = json_object_get(c, "sdpMLineIndex");
    if (!json_is_object(c) || !json_is_string(json_object_get(c, "candidate")) ||
        (mid && !json_is_string(mid) && !json_is_null(mid)) ||
        (idx && !json_is_null(idx) && (!json_is_integer(idx) || json_integer_value(idx) < 0)))
        return fail(err, "'candidate' must be null or an object {\"candidate\": string, "
                    "\"sdpMid\"?: string, \"sdpMLineIndex\"?: integer >= 0}");
    return true;
}

static bool check_stream_switch(json_t *msg, struct proto_error *err)
{
    return check_session_id(msg, err) && check_stream_types(msg, err);
}

static bool check_session_failure(json_t *msg, struct proto_error *err)
{
    return check_session_id(msg, err) && check_text(msg, "error", err);
}

static bool check_restart_request(json_t *msg, struct proto_error *err)
{
    return check_session_id(msg, err) && check_opt_string(msg, "reason", PROTO_NAME_MAX, err);
}

static bool check_robot_request(json_t *msg, struct proto_error *err)
{
    if (!check_request_id(msg, err) || !check_name(msg, "robotId", true, err))
        return false;
    if (!protocol_valid_method(json_string_value(json_object_get(msg, "method"))))
        return fail(err, "'method' must be one of \"GET\", \"POST\", \"PUT\", \"DELETE\"");
    json_t *path = json_object_get(msg, "path");
    if (!json_is_string(path) ||
        !protocol_valid_api_path(json_string_value(path), json_string_length(path)))
        return fail(err, "'path' must be a string of 1 to %d bytes that begins with /api/ "
                    "and holds only printable ASCII, without spaces", PROTO_API_PATH_MAX);
    return true; /* "body" may be any JSON value; absent means null */
}

static bool check_robot_response(json_t *msg, struct proto_error *err)
{
    if (!check_request_id(msg, err))
        return false;
    json_t *status = json_object_get(msg, "status");
    if (!json_is_integer(status) || json_integer_value(status) < PROTO_STATUS_MIN ||
        json_integer_value(status) > PROTO_STATUS_MAX)
        return fail(err, "'status' must be an integer from %d to %d", PROTO_STATUS_MIN,
                    PROTO_STATUS_MAX);
    return true;
}

static const struct msg_spec specs[MSG__COUNT] = {
    [MSG_ROBOT_REGISTER] = {"robot-register", FROM_ANY, false, check_robot_register},
    [MSG_CLIENT_REGISTER] = {"client-register", FROM_ANY, false, check_client_register},
    [MSG_CREATE_SESSION] = {"create-session", FROM_CLIENT, false, check_create_session},
    /* Either side, but one way per session (router__session_direction):
     * the robot offers, or the client when its create-session did. */
    [MSG_WEBRTC_OFFER] = {"webrtc-offer", FROM_PEER, true, check_offer},
    [MSG_WEBRTC_ANSWER] = {"webrtc-answer", FROM_PEER, true, check_answer},
    [MSG_ICE_CANDIDATE] = {"ice-candidate", FROM_PEER, true, check_ice_candidate},
    [MSG_SWITCH_STREAM_TYPE] = {"switch-stream-type", FROM_CLIENT, true, check_stream_switch},
    [MSG_STREAM_TYPE_SWITCHED] = {"stream-type-switched", FROM_ROBOT, true, check_stream_switch},
    [MSG_STREAM_TYPE_SWITCH_ERROR] = {"stream-type-switch-error", FROM_ROBOT, true,
                                      check_session_failure},
    [MSG_SESSION_ERROR] = {"session-error", FROM_ROBOT, true, check_session_failure},
    [MSG_CLOSE_SESSION] = {"close-session", FROM_PEER, true, check_session_id},
    [MSG_ROBOT_REQUEST] = {"robot-request", FROM_CLIENT, false, check_robot_request},
    [MSG_ROBOT_RESPONSE] = {"robot-response", FROM_ROBOT, false, check_robot_response},
    [MSG_REFRESH_TOKEN] = {"refresh-token", FROM_PEER, false, check_refresh_token},
    [MSG_ICE_RESTART_REQUEST] = {"ice-restart-request", FROM_CLIENT, true, check_restart_request},
};

static enum msg_type lookup(const char *type)
{
    /* A few dozen short names at most: a linear scan beats hashing here. */
    for (int t = 0; t < MSG__COUNT; t++)
        if (strcmp(specs[t].name, type) == 0)
            return (enum msg_type)t;
    return MSG_INVALID;
}

enum msg_type protocol_validate(json_t *msg, const char *type, enum role sender,
                                struct proto_error *err)
{
    enum msg_type t = lookup(type);
    if (t == MSG_INVALID) {
        err->code = "unknown-type";
        snprintf(err->message, sizeof(err->message), "unknown message type '%.64s'", type);
        return MSG_INVALID;
    }
    const struct msg_spec *spec = &specs[t];
    if (!(spec->senders & (1u << sender))) {
        err->code = sender == ROLE_NONE ? "not-registered" : "wrong-role";
        if (sender == ROLE_NONE)
            snprintf(err->message, sizeof(err->message),
                     "%s: send robot-register or client-register first", spec->name);
        else
            snprintf(err->message, sizeof(err->message), "%s: a %s may not send this message",
                     spec->name, protocol_role_name(sender));
        return MSG_INVALID;
    }
    /* Errors read "create-session: 'robotId' must ...". */
    snprintf(err->message, sizeof(err->message), "%s: ", spec->name);
    if (!spec->check(msg, err))
        return MSG_INVALID;
    return t;
}

enum msg_type protocol_type_of(const char *name, size_t len)
{
    for (int t = 0; t < MSG__COUNT; t++)
        if (strlen(specs[t].name) == len && memcmp(specs[t].name, name, len) == 0)
            return (enum msg_type)t;
    return MSG_INVALID;
}

bool protocol_may_send(enum msg_type type, enum role sender)
{
    return type >= 0 && type < MSG__COUNT && (specs[type].senders & (1u << sender));
}

const char *protocol_type_name(enum msg_type type)
{
    return type >= 0 && type < MSG__COUNT ? specs[type].name : "";
}

bool protocol_is_session_message(enum msg_type type)
{
    return type >= 0 && type < MSG__COUNT && specs[type].session;
}

const char *protocol_role_name(enum role role)
{
    switch (role) {
    case ROLE_ROBOT: return "robot";
    case ROLE_CLIENT: return "client";
    default: return "unregistered peer";
    }
}

bool protocol_valid_method(const char *method)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    for (size_t i = 0; method && i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(method, methods[i]) == 0)
            return true;
    return false;
}

bool protocol_valid_api_path(const char *path, size_t len)
{
    /* The robot's router sees this string: no controls, no spaces, nothing
     * outside ASCII, so that it cannot smuggle a second request line or
     * header into an HTTP server behind the robot. */
    if (!path || len < 5 || len > PROTO_API_PATH_MAX || memcmp(path, "/api/", 5) != 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)path[i] < 0x21 || (unsigned char)path[i] > 0x7e)
            return false;
    return true;
}
