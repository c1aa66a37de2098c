/* codec_json.h - the native wire codec: one JSON object per WebSocket text message.
 *
 * The framing of docs/PROTOCOL.md: {"type": "...", ...fields}. Decoding
 * refuses duplicate keys and invalid UTF-8; encoding keeps field order
 * with "type" first. Offers the relay fast path (fastrelay.h) as its
 * fast_relay operation. Stateless; usable from any thread. */
#ifndef PORTHOLE_CLOUD_CODEC_JSON_H
#define PORTHOLE_CLOUD_CODEC_JSON_H

#include "cloud/codec.h"

extern const struct codec codec_json;

#endif
