/* robotfix.h - the cmocka fixture of the robot end-to-end tests: a fresh
 * porthole-cloud and porthole-robot per test, the viewers (rtcpeer.h) the
 * test opens on them, and the waits and expectations those tests share.
 *
 * The robot runs with --cloud-url (the fixture's cloud) --robot-id (a
 * fresh name) --ice-allow 127.0.0.1 --reconnect-min 0.1 --reconnect-max 1
 * --log-level info, then the config's robot_args. Under PORTHOLE_SLOW (the
 * sanitizer variant) waits are three times longer; the assertions are the
 * same. Teardown frees every viewer still in the fixture, even after a
 * failed test, and wants both processes to exit 0 after SIGTERM.
 *
 * Use: cmocka_unit_test_setup_teardown(test, robotfix_setup,
 * robotfix_teardown), or cmocka_unit_test_prestate_setup_teardown(...,
 * (void *)&config) with a static struct robotfix_config. The fixture is
 * one static struct: one test at a time, on the thread that runs cmocka. */
#ifndef PORTHOLE_TESTS_ROBOTFIX_H
#define PORTHOLE_TESTS_ROBOTFIX_H

#include <jansson.h>
#include <stdint.h>

#include "harness.h"
#include "rtcpeer.h"

#define ROBOTFIX_MAX_VIEWERS 8

/* What a test needs started beyond the standard flags. All fields may be
 * NULL. The config is borrowed: it must outlive the test (make it static). */
struct robotfix_config {
    const char *const *cloud_args; /* extra porthole-cloud flags, NULL-terminated */
    const char *const *robot_args; /* extra porthole-robot flags, NULL-terminated */
    /* The robot id is harness_name(prefix); NULL: the program name without
     * "test_", '_' as '-' ("robot-media" for test_robot_media). */
    const char *robot_id_prefix;
};

struct robotfix {
    const struct robotfix_config *config; /* never NULL once set up */
    struct cloud cloud;
    struct proc robot;
    char url[64];      /* ws://127.0.0.1:PORT/ws of the cloud */
    char robot_id[48]; /* registered at the cloud when the test starts */
    /* Owned by the fixture: freed by robotfix_drop_viewer() or teardown. */
    struct rtcpeer *viewers[ROBOTFIX_MAX_VIEWERS];
};

/* cmocka setup: *state on entry is a struct robotfix_config * or NULL (no
 * extras). Starts the cloud and the robot and waits until the robot is
 * listed at the cloud (up to robotfix_wait(10000) ms). Returns 0 and sets
 * *state to the struct robotfix, or -1 with the reason on stderr and no
 * process left running (cmocka then reports the test as failed). */
int robotfix_setup(void **state);

/* cmocka teardown: frees the viewers, aborts the WebSocket connections of
 * wsclient.h the test left open (wsc_abort_all; none is a no-op), stops the
 * robot (10 s after SIGTERM) and then the cloud. Returns 0 only when both
 * exited with status 0; else -1 with their statuses on stderr. A cloud the
 * test killed counts as a clean exit. */
int robotfix_teardown(void **state);

/* ms, times three under PORTHOLE_SLOW (set and not "0"). Can't fail. */
int robotfix_wait(int ms);

/* Starts a viewer (rtcpeer_new_opts) and keeps it in a free slot of fx.
 * opts NULL: a session on "color", answered automatically; else opts as
 * given, with cloud_url and robot_id, when NULL, those of the fixture. The
 * fixture owns the viewer. Fails the test (fail_msg) when all
 * ROBOTFIX_MAX_VIEWERS slots are taken. */
struct rtcpeer *robotfix_viewer(struct robotfix *fx, const struct rtcpeer_opts *opts);

/* Frees v and empties its slot, so that the test can open more viewers.
 * NULL is a no-op. */
void robotfix_drop_viewer(struct robotfix *fx, struct rtcpeer *v);

/* Waits until v decoded n frames in total (within timeout_ms). Otherwise
 * fails the test at the caller's line, saying how far the session got
 * (registered, session, offer, connected, session-errors, robot alive). */
#define robotfix_expect_frames(fx, v, n, timeout_ms) \
    robotfix_expect_frames_((fx), (v), (n), (timeout_ms), __FILE__, __LINE__)
void robotfix_expect_frames_(struct robotfix *fx, struct rtcpeer *v, uint64_t n, int timeout_ms,
                             const char *file, int line);

/* The integer at path ("encoders", "streams.color.viewers": keys joined
 * by dots) of a telemetry message. Fails the test when there is none. */
json_int_t robotfix_telemetry_int(json_t *t, const char *path);

#endif
