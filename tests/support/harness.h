/* harness.h - runs porthole-cloud (and porthole-robot) for integration
 * tests, and the protocol steps those tests share (register a robot or a
 * client, open a session, read /health, expect an error).
 *
 * The server is $PORTHOLE_CLOUD, started on a free loopback port (or the
 * one a "--port N" among the test's args names) with
 * --bind 127.0.0.1 and --web-root $PORTHOLE_WEB_ROOT (unless the test
 * passes its own), at --log-level $HARNESS_LOG_LEVEL (default warn). Its
 * stderr is the test's stderr. The child gets SIGKILL if the test process
 * dies, so no server outlives its test.
 *
 * The step helpers are cmocka assertions: on failure they print why and
 * fail the current test (they must run inside a cmocka test). They are
 * macros so that the failure names the test's own file and line. Every
 * wait is bounded (HARNESS_WAIT_MS unless stated). */
#ifndef PORTHOLE_TESTS_HARNESS_H
#define PORTHOLE_TESTS_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "wsclient.h"

#define HARNESS_WAIT_MS 3000    /* for a reply that should come at once */
#define HARNESS_SILENCE_MS 300  /* to conclude that nothing was sent */

struct cloud {
    pid_t pid; /* 0 when not running */
    int port;
};

/* Starts porthole-cloud with the default flags plus args (a NULL-terminated
 * list, or NULL) and waits up to 5 s until it accepts TCP connections.
 * Returns 0 and fills *cloud, or -1 (the reason on stderr; no process is
 * left running). */
int harness_start(struct cloud *cloud, const char *const *args);

/* Sends SIGTERM and waits up to 5 s for the exit; after that sends SIGKILL.
 * Returns the exit status (0..255), 128 + the signal number when it died of
 * a signal, or -1 when it had to be killed. Not running returns 0. */
int harness_stop(struct cloud *cloud);

/* Waits up to timeout_ms for the server to exit by itself (after a signal
 * the test sent). Returns as harness_stop(), or -2 when it still runs (it
 * is left running). */
int harness_wait_exit(struct cloud *cloud, int timeout_ms);

/* Runs $PORTHOLE_CLOUD with exactly args (no default flags) and waits up
 * to timeout_ms for it to exit (then kills it). Stores what it printed on
 * stdout and stderr in *out and *err when not NULL (malloc'd, NUL-ended;
 * the caller frees). Returns as harness_stop(). */
int harness_run(const char *const *args, int timeout_ms, char **out, char **err);

/* SIGKILL and reap at once; for cleanup paths. Not running is a no-op. */
void harness_kill(struct cloud *cloud);

/* ---- other child processes (porthole-robot) ---- */

/* A child process the harness started. */
struct proc {
    pid_t pid;  /* 0 when not running */
    int status; /* once it exited: as harness_stop() returns */
};

/* Starts $PORTHOLE_ROBOT with exactly args (a NULL-terminated list, or
 * NULL; no default flags). Its stderr is the test's stderr; it gets SIGKILL
 * if the test process dies. Waits for nothing (the robot shows up at the
 * cloud when it has registered). Returns 0, or -1 with the reason on
 * stderr. */
int harness_start_robot(struct proc *p, const char *const *args);

/* True while the process runs; once it has exited, stores its status in
 * p->status (as harness_stop() reports it) and sets p->pid to 0. */
bool harness_proc_alive(struct proc *p);

/* Sends SIGTERM and waits up to timeout_ms; then SIGKILL. Returns as
 * harness_stop() (the exit status when it exited in time, -1 when it had
 * to be killed). Not running returns p->status of its earlier exit. */
int harness_proc_stop(struct proc *p, int timeout_ms);

/* Waits up to timeout_ms for the process to exit by itself (after a signal
 * the test sent). Returns as harness_stop(), or -2 when it still runs (it
 * is left running). */
int harness_proc_wait_exit(struct proc *p, int timeout_ms);

/* SIGKILL and reap at once; for cleanup paths. Not running is a no-op. */
void harness_proc_kill(struct proc *p);

/* Polls GET /robots of the server on port until robot_id is listed (up to
 * timeout_ms). Returns true when it is. Not a cmocka assertion. */
bool harness_robot_listed(int port, const char *robot_id, int timeout_ms);

/* A per-test fixture for cmocka's prestate setup/teardown: set args (and
 * leave cloud zeroed) in a static struct, pass it as the initial state. */
struct harness_fixture {
    const char *const *args;
    struct cloud cloud;
};

/* cmocka setup: starts the server of the struct harness_fixture in *state.
 * Returns 0, or -1 (the test is then reported as failed). */
int harness_setup(void **state);

/* cmocka teardown: aborts the WebSocket connections the test left open
 * (wsc_abort_all), stops the server and returns 0 only when it exited with
 * status 0 within 5 s of SIGTERM. */
int harness_teardown(void **state);

/* The port of the fixture's server. */
int harness_port(void **state);

/* A name unique within this process: prefix plus a counter ("robot-3"). The
 * returned string lives until the process exits (a few dozen per test). */
const char *harness_name(const char *prefix);

/* ---- protocol steps (fail the test on error) ---- */

/* Connects to /ws, sends robot-register (with deviceInfo parsed from
 * device_info_json when not NULL) and checks the `registered` reply. */
#define harness_robot(port, robot_id, device_info_json) \
    harness_robot_((port), (robot_id), (device_info_json), __FILE__, __LINE__)
struct wsc *harness_robot_(int port, const char *robot_id, const char *device_info_json,
                           const char *file, int line);

/* Connects to /ws, sends client-register (without clientId when client_id
 * is NULL) and checks the `available-robots` reply; stores it in
 * *available when not NULL (the caller owns it), else drops it. */
#define harness_client(port, client_id, available) \
    harness_client_((port), (client_id), (available), __FILE__, __LINE__)
struct wsc *harness_client_(int port, const char *client_id, json_t **available,
                            const char *file, int line);

/* Sends create-session (streamTypes ["color"]) from client for robot_id,
 * checks session-created at the client and create-session at the robot
 * (same sessionId, both on the next message). Returns the session id
 * (malloc'd; the caller frees it). */
#define harness_open_session(client, robot, robot_id) \
    harness_open_session_((client), (robot), (robot_id), __FILE__, __LINE__)
char *harness_open_session_(struct wsc *client, struct wsc *robot, const char *robot_id,
                            const char *file, int line);

/* Returns the next message, which must be a JSON object of this type
 * (other messages fail the test). The caller owns it. */
#define harness_expect_next(c, type) harness_expect_next_((c), (type), __FILE__, __LINE__)
json_t *harness_expect_next_(struct wsc *c, const char *type, const char *file, int line);

/* The next message must be {"type":"error","code":code,...} with a
 * non-empty string "message", and "requestType" equal to request_type
 * (absent when request_type is NULL). Returns it; the caller owns it. */
#define harness_expect_error(c, code, request_type) \
    harness_expect_error_((c), (code), (request_type), __FILE__, __LINE__)
json_t *harness_expect_error_(struct wsc *c, const char *code, const char *request_type,
                              const char *file, int line);

/* Nothing but pings may arrive on c for HARNESS_SILENCE_MS. */
#define harness_expect_silence(c) harness_expect_silence_((c), __FILE__, __LINE__)
void harness_expect_silence_(struct wsc *c, const char *file, int line);

/* String field key of j must equal want. */
#define harness_assert_str(j, key, want) \
    harness_assert_str_((j), (key), (want), __FILE__, __LINE__)
void harness_assert_str_(const json_t *j, const char *key, const char *want,
                         const char *file, int line);

/* GET /health: must be 200 with a JSON object. The caller owns it. */
#define harness_health(port) harness_health_((port), __FILE__, __LINE__)
json_t *harness_health_(int port, const char *file, int line);

/* Polls /health until the integer field equals want (up to timeout_ms). */
#define harness_wait_count(port, field, want, timeout_ms) \
    harness_wait_count_((port), (field), (want), (timeout_ms), __FILE__, __LINE__)
void harness_wait_count_(int port, const char *field, long want, int timeout_ms,
                         const char *file, int line);

/* Proves the server still serves: /health answers "ok", and a fresh robot
 * and client complete a session (offer, answer, close). */
#define harness_check_alive(port) harness_check_alive_((port), __FILE__, __LINE__)
void harness_check_alive_(int port, const char *file, int line);

/* True when s is ISO-8601 UTC like "2026-11-26T11:38:03.123Z" (the
 * fraction is optional) and within max_skew_s seconds of now. */
bool harness_is_recent_iso8601(const char *s, int max_skew_s);

#endif
