/* signaling.h - the robot's outbound WebSocket link to porthole-cloud.
 *
 * Keeps one connection to the cloud up forever: connect, and on any
 * failure or close wait a backoff delay (backoff.h) and connect again.
 * Runs on the GLib main context that is current when signaling_new is
 * called; every callback fires on that context's thread. Built on
 * libsoup 3 (see docs/ARCHITECTURE.md for why not libwebsockets here).
 * Logs one line per state change. */
#ifndef PORTHOLE_ROBOT_SIGNALING_H
#define PORTHOLE_ROBOT_SIGNALING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum signaling_state { SIGNALING_IDLE, SIGNALING_CONNECTING, SIGNALING_OPEN, SIGNALING_WAITING };

struct signaling_params {
    const char *url;          /* ws:// or wss:// */
    double backoff_initial_s; /* first retry ceiling */
    double backoff_max_s;     /* cap */
    unsigned ping_interval_s; /* WebSocket ping period; a link silent for 2x is dropped */
    size_t max_message;       /* larger incoming messages close the link (1009) */
    bool tls_insecure;        /* accept any server certificate */
};

struct signaling_callbacks {
    /* The link is open: the place to send robot-register. */
    void (*on_open)(void *user);
    /* One incoming message: a JSON object with a string "type" (others are
     * logged and dropped here). msg is borrowed for the call. */
    void (*on_message)(void *user, json_t *msg);
    /* The link closed or failed; a reconnect is scheduled. */
    void (*on_close)(void *user);
};

struct signaling;

/* Copies params (and the URL). Does not connect until signaling_start. */
struct signaling *signaling_new(const struct signaling_params *params,
                                const struct signaling_callbacks *cb, void *user);

/* Starts connecting; from then on it reconnects forever. */
void signaling_start(struct signaling *s);

/* Sends msg (compact JSON, one text frame) if the link is open. Returns
 * true when queued, false (and logs at debug) when the link is down. msg is
 * borrowed. */
bool signaling_send(struct signaling *s, json_t *msg);

/* Marks the link healthy after the cloud accepted the registration: the
 * backoff schedule starts over. */
void signaling_registered(struct signaling *s);

/* Closes an open link (a 1000 close frame) and reconnects after the next
 * backoff delay, as if the link had failed: for a registration the cloud
 * refused for now (a stale connection still holds the robot id). on_close
 * fires. No-op when the link is not open. */
void signaling_reconnect(struct signaling *s, const char *why);

enum signaling_state signaling_state(const struct signaling *s);

/* How many connection attempts have started since signaling_start (for
 * status reports and tests). */
unsigned signaling_attempts(const struct signaling *s);

/* Closes the link (a 1001 close frame when open), cancels timers, frees.
 * No callback fires during or after. NULL is a no-op. */
void signaling_free(struct signaling *s);

#endif
