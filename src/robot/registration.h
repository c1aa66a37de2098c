/* registration.h - the robot's side of registering with porthole-cloud:
 * robot-register with its credential, the cloud's verdicts on it, and
 * keeping the credential fresh (docs/PROTOCOL.md, docs/SECURITY-robot.md).
 *
 * After every connect it sends robot-register {robotId, deviceInfo, token},
 * the token read anew from its credential (credential.h), so a rotated
 * --token-file is picked up at the next reconnect; without a configured
 * token the field is left out (a cloud without auth), and a token file that
 * cannot be read is reported and left out too (the cloud then refuses).
 * Then, from the cloud:
 *   registered              the reconnect backoff starts over;
 *   error robot-id-in-use   reconnect after the backoff (a stale link of
 *                           ours may still hold the id);
 *   error unauthorized      for robot-register: logged with its reason
 *                           (at warn once per reason, then at debug), and
 *                           reconnect after the backoff, which grows up to
 *                           --reconnect-max: retried, never in a tight loop;
 *                           for refresh-token: logged likewise, the old
 *                           deadline stands;
 *   error token-expired     the token is read again; one other than the
 *                           one sent goes out at once as refresh-token
 *                           {token}, else the file is read again every
 *                           second until one does or graceSeconds pass (the
 *                           cloud then closes the link, and the reconnect
 *                           reads the file once more);
 *   token-refreshed         logged.
 * No token is ever logged. Main thread only (the default main context). */
#ifndef PORTHOLE_ROBOT_REGISTRATION_H
#define PORTHOLE_ROBOT_REGISTRATION_H

#include <jansson.h>
#include <stdbool.h>

#include "robot/credential.h"
#include "robot/signaling.h"

struct registration;

/* sig and token are borrowed and must outlive the registration; robot_id
 * is copied; device_info is referenced. */
struct registration *registration_new(struct signaling *sig, const char *robot_id,
                                      json_t *device_info, struct credential *token);

/* The link is open: sends robot-register. */
void registration_on_open(struct registration *g);

/* The link went down: stops waiting for a fresh token. */
void registration_on_close(struct registration *g);

/* Handles msg when it is the cloud's word on registration or the token
 * (registered, token-refreshed, and error robot-id-in-use, unauthorized,
 * token-expired): returns true; false for any other message. */
bool registration_handle(struct registration *g, json_t *msg);

/* NULL is a no-op. */
void registration_free(struct registration *g);

#endif
