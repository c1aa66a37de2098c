/* gather_wait.h - a local description that waits for ICE gathering (or a deadline) before it goes out whole. */
#ifndef PORTHOLE_ROBOT_GATHER_WAIT_H
#define PORTHOLE_ROBOT_GATHER_WAIT_H

#include <glib.h>
#include <stdbool.h>

/* A side without trickle towards the viewer (a REST reply, a WHEP answer)
 * sends the robot's description once, with every candidate gathered; a
 * gathering that does not complete by the deadline (an unreachable STUN or
 * TURN server) must not hold the reply forever, so it goes with what it
 * has. The two events come in either order; `ready` runs once, on the
 * main context, when both the description and the end of gathering are
 * in, or at the deadline counted from the description.
 *
 * Embedded by value in its owner, which must call gather_wait_clear before
 * it frees itself. Main context only. */
typedef void (*gather_wait_fn)(void *ctx, bool gathered);

struct gather_wait {
    gather_wait_fn ready;
    void *ctx;
    unsigned max_ms;
    bool described; /* webrtcbin has made the offer or answer */
    bool gathered;  /* the end of candidates came */
    bool fired;
    guint timer;
};

void gather_wait_init(struct gather_wait *w, unsigned max_ms, gather_wait_fn ready, void *ctx);

/* The description is made: ready now if gathering is done, else at the
 * latest max_ms from now. */
void gather_wait_described(struct gather_wait *w);

/* Gathering is complete: ready now if the description is made. */
void gather_wait_gathered(struct gather_wait *w);

/* Cancels the deadline; ready is not called afterwards. */
void gather_wait_clear(struct gather_wait *w);

#endif
