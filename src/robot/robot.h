/* robot.h - porthole-robot's core: the signaling link, the camera, the
 * encoders, the REST API and the session table, glued together.
 *
 * It registers with porthole-cloud (again after every reconnect, with its
 * token: registration.h) and reads the cloud's messages: create-session
 * opens a session (session.h) whose signaling goes back over the link
 * (sink_cloud.h); answers, candidates, stream switches and closes go to the
 * session they name, and only to one the cloud opened. robot-request is
 * served by the REST API (api.h) over the same session table, with the
 * caller's ownership rule (robot_api.h); the robot's own port is guarded by
 * httpguard.h. Once a second it sends telemetry on each session's data
 * channel. Sessions keep streaming while the signaling link is down (they
 * become orphans).
 *
 * Threads: main thread only (the GMainContext given to robot_new); the
 * camera, encoders and peers keep their own threads behind their modules. */
#ifndef PORTHOLE_ROBOT_ROBOT_H
#define PORTHOLE_ROBOT_ROBOT_H

#include <glib.h>
#include <stddef.h>

#include "robot/camera.h"
#include "robot/config.h"

struct robot;

/* cam and cfg are borrowed and must outlive the robot. Starts the media
 * (the camera thread) and the REST API's listener (reading its token), but
 * does not connect yet. Returns NULL with a reason in err (a port in use,
 * an unusable --api-token-file). */
struct robot *robot_new(const struct robot_config *cfg, struct camera *cam, GMainContext *ctx,
                        char *err, size_t errlen);

/* Connects to the cloud; from then on it reconnects forever. */
void robot_start(struct robot *r);

/* Closes every session (telling the cloud when the link is up, answering
 * a REST offer still waiting with 503) and frees everything; no callback of
 * the robot's fires afterwards. NULL is a no-op. */
void robot_free(struct robot *r);

#endif
