/* robot.h - porthole-robot's core: the signaling link, the camera, the
 * encoders and one WebRTC peer per session, glued together.
 *
 * It registers with porthole-cloud (again after every reconnect), turns
 * create-session into a peer and its offer, relays answers and candidates,
 * switches streams, sends telemetry on each session's data channel once a
 * second, and tears a session down when either side closes it, its peer
 * fails, or it does not connect within the session timeout. Sessions keep
 * streaming while the signaling link is down. Main thread only. */
#ifndef PORTHOLE_ROBOT_ROBOT_H
#define PORTHOLE_ROBOT_ROBOT_H

#include <glib.h>
#include <stddef.h>

#include "camera.h"
#include "config.h"

struct robot;

/* cam and cfg are borrowed and must outlive the robot. Starts the media
 * (the camera thread) but does not connect yet. Returns NULL with a reason
 * in err. */
struct robot *robot_new(const struct robot_config *cfg, struct camera *cam, GMainContext *ctx,
                        char *err, size_t errlen);

/* Connects to the cloud; from then on it reconnects forever. */
void robot_start(struct robot *r);

/* Closes every session (telling the cloud when the link is up) and frees
 * everything. NULL is a no-op. */
void robot_free(struct robot *r);

#endif
