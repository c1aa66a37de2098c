/* msg.h - the texts cloud-load sends (SDPs, ICE candidates, device info)
 * and the few fields it reads back from what porthole-cloud sends.
 *
 * Reading is by key, not by a JSON parser: the generator must stay cheaper
 * than the server it loads. That is sound for these messages only: compact
 * JSON whose string values read here (ids, types, codes) hold no escapes,
 * and where a key pattern "key":" cannot occur inside a string value
 * (the quotes would be escaped there). */
#ifndef CLOUD_LOAD_MSG_H
#define CLOUD_LOAD_MSG_H

#include <stddef.h>

#define MSG_SID_LEN 22      /* sessionId: 128 bits of base64url */
#define MSG_NAME_MAX 64     /* ids and types, as in PROTOCOL.md */
#define MSG_CANDIDATES 10   /* distinct candidate lines in msg_candidate() */

/* Builds the SDP texts once; call before the msg_*_sdp() functions. */
void msg_init(void);

/* The "type" of message m (len bytes, not NUL-terminated), copied into
 * out (cap bytes, NUL-terminated). Returns its length, or 0 when m has no
 * readable type that fits. */
size_t msg_type(const char *m, size_t len, char *out, size_t cap);

/* The first string field named key in m, copied like msg_type(). Returns
 * its length, or 0 when absent or too long for out. */
size_t msg_str(const char *m, size_t len, const char *key, char *out, size_t cap);

/* An SDP offer as porthole-robot sends it (one VP8 video m-line, one data
 * channel), about 3 KB, escaped for a JSON string. Owned by msg.c. */
const char *msg_offer_sdp(void);

/* A browser's SDP answer to it, about 2 KB, escaped for a JSON string. */
const char *msg_answer_sdp(void);

/* The deviceInfo object of a simulated RealSense robot, compact JSON. */
const char *msg_device_info(void);

/* ICE candidate line i % MSG_CANDIDATES (host, srflx, relay, tcp, IPv6):
 * with its message wrapper about 240 bytes. */
const char *msg_candidate(unsigned i);

#endif
