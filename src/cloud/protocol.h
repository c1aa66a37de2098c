/* protocol.h - the message vocabulary of docs/PROTOCOL.md and the
 * validation of every inbound message: which role may send it and which
 * fields it must carry, with which types and syntax.
 *
 * Pure functions over jansson objects: no I/O, no state. */
#ifndef PORTHOLE_CLOUD_PROTOCOL_H
#define PORTHOLE_CLOUD_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PROTO_NAME_MAX 64          /* robotId, clientId */
#define PROTO_REQUEST_ID_MAX 64
#define PROTO_STREAM_TYPES_MAX 8
#define PROTO_STREAM_TYPE_MAX 32
/* deviceInfo is kept for as long as the robot is online and sent to every
 * client that registers: bounded, so that robots cannot fill memory. */
#define PROTO_DEVICE_INFO_MAX 8192  /* bytes of compact JSON */
/* robot-request's path: "/api/...", printable ASCII, may carry "?query". */
#define PROTO_API_PATH_MAX 1024
#define PROTO_STATUS_MIN 100        /* robot-response's status: an HTTP status */
#define PROTO_STATUS_MAX 599
/* The sdp of a viewer's offer in create-session: a Chromium offer of
 * PROTO_STREAM_TYPES_MAX video m-lines and a data channel is about 12 KB. */
#define PROTO_OFFER_SDP_MAX 32768

enum role {
    ROLE_NONE = 0,   /* connected, not registered yet */
    ROLE_ROBOT = 1,
    ROLE_CLIENT = 2,
};

/* Messages a peer may send to the cloud. */
enum msg_type {
    MSG_INVALID = -1,
    MSG_ROBOT_REGISTER = 0,
    MSG_CLIENT_REGISTER,
    MSG_CREATE_SESSION,
    MSG_WEBRTC_OFFER,
    MSG_WEBRTC_ANSWER,
    MSG_ICE_CANDIDATE,
    MSG_SWITCH_STREAM_TYPE,
    MSG_STREAM_TYPE_SWITCHED,
    MSG_STREAM_TYPE_SWITCH_ERROR,
    MSG_SESSION_ERROR,
    MSG_CLOSE_SESSION,
    MSG_ROBOT_REQUEST,      /* client: a call of the robot's REST API */
    MSG_ROBOT_RESPONSE,     /* robot: its answer, under the cloud's token */
    MSG_REFRESH_TOKEN,      /* either: a fresh token before the current one expires */
    MSG_ICE_RESTART_REQUEST, /* client: asks the robot for an ICE restart */
    MSG__COUNT
};

struct proto_error {
    const char *code;       /* a code of PROTOCOL.md's error table */
    char message[200];      /* names the message type and the field */
};

/* Validates msg (an object whose "type" is type) sent by a peer of role
 * sender. Returns its msg_type, or MSG_INVALID with err filled:
 * unknown-type, not-registered, wrong-role or invalid-field. On success
 * every field the type requires is present with the right JSON type and
 * syntax, so handlers may read them without checks. */
enum msg_type protocol_validate(json_t *msg, const char *type, enum role sender,
                                struct proto_error *err);

/* The msg_type whose wire name is the len bytes at name (not
 * NUL-terminated), or MSG_INVALID. */
enum msg_type protocol_type_of(const char *name, size_t len);

/* True when a peer of role sender may send messages of type (the check
 * protocol_validate makes before the fields). */
bool protocol_may_send(enum msg_type type, enum role sender);

/* The wire name of a type ("create-session"); "" for MSG_INVALID. */
const char *protocol_type_name(enum msg_type type);

/* True when the message is relayed between the two peers of a session
 * (it carries a sessionId that must belong to the sender). */
bool protocol_is_session_message(enum msg_type type);

const char *protocol_role_name(enum role role);

/* The syntax of robot-request's fields, shared with the HTTP proxy so that
 * both doors to a robot accept exactly the same requests. */

/* True when method is "GET", "POST", "PUT" or "DELETE" (case matters). */
bool protocol_valid_method(const char *method);

/* True when the len bytes at path are 1 to PROTO_API_PATH_MAX bytes,
 * begin with "/api/" and are all printable ASCII without space
 * (0x21..0x7e). */
bool protocol_valid_api_path(const char *path, size_t len);

#endif
