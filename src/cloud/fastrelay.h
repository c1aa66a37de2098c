/* fastrelay.h - the hot session messages (webrtc-offer, webrtc-answer,
 * ice-candidate) checked straight from native-JSON text, without a jansson
 * tree, so that the router can relay them at the cost of one scan.
 *
 * A fast check either agrees with the full path (codec_json's decode, then
 * protocol_validate) or declines: it never accepts what the full path
 * refuses. Declining says nothing about the message; the caller then takes
 * the full path, which gives the verdict and any error. Pure functions: no
 * I/O, no state.
 *
 * codec_json offers fastrelay_check() as its codec->fast_relay (codec.h),
 * codec_sio builds its own on fastrelay_check_typed(); nothing else should
 * call them but tests of these checks. */
#ifndef PORTHOLE_CLOUD_FASTRELAY_H
#define PORTHOLE_CLOUD_FASTRELAY_H

#include <stdbool.h>
#include <stddef.h>

#include "cloud/codec.h"
#include "cloud/protocol.h"

/* True when the len bytes at data are one of the hot message types that
 * codec_json's decode and protocol_validate(msg, type, sender) would both
 * accept, with out filled (the same type and sessionId). False when the
 * message is anything else, invalid, or beyond what this check decides
 * (escapes in names or in "type", "sessionId" or the description's
 * "type", nesting deeper than JSCAN_MAX_DEPTH, a negative sdpMLineIndex,
 * long numbers...). Never reads past data + len; can't fail otherwise. */
bool fastrelay_check(const char *data, size_t len, enum role sender, struct codec_fast_msg *out);

/* The same check for an object whose message type is given apart (type,
 * type_len bytes: Socket.IO's event name), whatever its own "type" member
 * holds: true when protocol_validate(object with "type" set to type,
 * type, sender) would accept it. */
bool fastrelay_check_typed(const char *data, size_t len, const char *type, size_t type_len,
                           enum role sender, struct codec_fast_msg *out);

#endif
