/* codec_sio.h - the Socket.IO wire codec: one Socket.IO v5 EVENT packet
 * on the default namespace, in its Engine.IO v4 message packet, per
 * message: 42["<type>",{...fields}].
 *
 * The router sees the same (type, fields) as from a native peer
 * (docs/PROTOCOL.md). Engine.IO and the rest of Socket.IO (handshake,
 * ping/pong, CONNECT, acknowledgement ids, namespaces, transports) are
 * eio.c's: what reaches decode() is a bare "42[...]" without an ack id.
 *
 * Decoding: the text must be "42" and a JSON array of the event name (a
 * non-empty string) and at most one argument, a JSON object (none means
 * {}); duplicate keys are refused as by the native codec. The fields are
 * the argument's, with "type" set to the event name.
 *
 * Encoding: 42[type, fields without "type"], compact, field order kept;
 * except `available-robots`, whose argument is the bare array of robots
 * (the original Socket.IO server's shape), not {"clientId","robots"}.
 *
 * fast_relay: webrtc-offer, webrtc-answer and ice-candidate written
 * tightly (42["type",{...}], no whitespace between the array's tokens) are
 * checked from the text (fastrelay_check_typed) and relayed between
 * Socket.IO peers as they came. Stateless; usable from any thread. */
#ifndef PORTHOLE_CLOUD_CODEC_SIO_H
#define PORTHOLE_CLOUD_CODEC_SIO_H

#include "cloud/codec.h"

extern const struct codec codec_sio;

#endif
