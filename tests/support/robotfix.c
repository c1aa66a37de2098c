/* robotfix.c - the cmocka fixture of the robot end-to-end tests. */
#include "robotfix.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wsclient.h"

#define MAX_ROBOT_ARGS 64 /* standard flags, extras and the NULL */
#define REGISTER_WAIT_MS 10000
#define ROBOT_STOP_MS 10000

static const struct robotfix_config no_extras;

/* The default robot id prefix: the program name without "test_", with
 * every character a robot id may not hold (ids_valid_name) as '-'. */
static void default_prefix(char *out, size_t size)
{
    const char *name = program_invocation_short_name;
    if (strncmp(name, "test_", 5) == 0)
        name += 5;
    snprintf(out, size, "%s", *name ? name : "robot");
    for (char *c = out; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:@-", *c))
            *c = '-';
}

/* Fills args with the standard robot flags and the config's extras.
 * Returns 0, or -1 when they do not fit. */
static int robot_args(const struct robotfix *fx, const char *args[MAX_ROBOT_ARGS])
{
    const char *std[] = {"--cloud-url", fx->url, "--robot-id", fx->robot_id, "--ice-allow",
                         "127.0.0.1", "--reconnect-min", "0.1", "--reconnect-max", "1",
                         "--log-level", "info"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof std / sizeof std[0]; i++)
        args[n++] = std[i];
    for (size_t i = 0; fx->config->robot_args && fx->config->robot_args[i]; i++) {
        if (n == MAX_ROBOT_ARGS - 1) {
            fprintf(stderr, "setup: more than %d porthole-robot arguments\n", MAX_ROBOT_ARGS - 1);
            return -1;
        }
        args[n++] = fx->config->robot_args[i];
    }
    args[n] = NULL;
    return 0;
}

int robotfix_setup(void **state)
{
    static struct robotfix fx;
    memset(&fx, 0, sizeof fx);
    fx.config = *state ? *state : &no_extras;
    if (harness_start(&fx.cloud, fx.config->cloud_args) < 0)
        return -1;
    snprintf(fx.url, sizeof fx.url, "ws://127.0.0.1:%d/ws", fx.cloud.port);
    char prefix[32];
    if (fx.config->robot_id_prefix)
        snprintf(prefix, sizeof prefix, "%s", fx.config->robot_id_prefix);
    else
        default_prefix(prefix, sizeof prefix);
    snprintf(fx.robot_id, sizeof fx.robot_id, "%s", harness_name(prefix));
    const char *args[MAX_ROBOT_ARGS];
    if (robot_args(&fx, args) < 0) {
        harness_kill(&fx.cloud);
        return -1;
    }
    if (harness_start_robot(&fx.robot, args) < 0 ||
        !harness_robot_listed(fx.cloud.port, fx.robot_id, robotfix_wait(REGISTER_WAIT_MS))) {
        fprintf(stderr, "setup: porthole-robot did not register at the cloud\n");
        harness_proc_kill(&fx.robot);
        harness_kill(&fx.cloud);
        return -1;
    }
    *state = &fx;
    return 0;
}

int robotfix_teardown(void **state)
{
    struct robotfix *fx = *state;
    for (int i = 0; i < ROBOTFIX_MAX_VIEWERS; i++)
        robotfix_drop_viewer(fx, fx->viewers[i]);
    wsc_abort_all(); /* what a failed test left open */
    int robot = harness_proc_stop(&fx->robot, ROBOT_STOP_MS);
    int cloud = harness_stop(&fx->cloud);
    if (robot != 0)
        fprintf(stderr, "teardown: porthole-robot exited with status %d after SIGTERM\n", robot);
    if (cloud != 0)
        fprintf(stderr, "teardown: porthole-cloud exited with status %d\n", cloud);
    return robot == 0 && cloud == 0 ? 0 : -1;
}

int robotfix_wait(int ms)
{
    const char *s = getenv("PORTHOLE_SLOW");
    return s && *s && strcmp(s, "0") != 0 ? ms * 3 : ms;
}

struct rtcpeer *robotfix_viewer(struct robotfix *fx, const struct rtcpeer_opts *opts)
{
    struct rtcpeer_opts o = {.stream_types_json = "[\"color\"]"};
    if (opts)
        o = *opts;
    if (!o.cloud_url)
        o.cloud_url = fx->url;
    if (!o.robot_id)
        o.robot_id = fx->robot_id;
    for (int i = 0; i < ROBOTFIX_MAX_VIEWERS; i++) {
        if (!fx->viewers[i]) {
            fx->viewers[i] = rtcpeer_new_opts(&o);
            return fx->viewers[i];
        }
    }
    fail_msg("too many viewers in one test (%d)", ROBOTFIX_MAX_VIEWERS);
    return NULL;
}

void robotfix_drop_viewer(struct robotfix *fx, struct rtcpeer *v)
{
    if (!v)
        return;
    for (int i = 0; i < ROBOTFIX_MAX_VIEWERS; i++)
        if (fx->viewers[i] == v)
            fx->viewers[i] = NULL;
    rtcpeer_free(v);
}

void robotfix_expect_frames_(struct robotfix *fx, struct rtcpeer *v, uint64_t n, int timeout_ms,
                             const char *file, int line)
{
    if (rtcpeer_wait_frames(v, n, timeout_ms))
        return;
    print_error("%llu of %llu frames within %d ms (registered %d, session %s, offer %d, "
                "connected %d, session-errors %u, robot alive %d)\n",
                (unsigned long long)rtcpeer_frames(v), (unsigned long long)n, timeout_ms,
                rtcpeer_registered(v), rtcpeer_session_id(v) ? rtcpeer_session_id(v) : "none",
                rtcpeer_has_offer(v), rtcpeer_connected(v), rtcpeer_count(v, "session-error"),
                harness_proc_alive(&fx->robot));
    _fail(file, line);
}

json_int_t robotfix_telemetry_int(json_t *t, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = t;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    if (!json_is_integer(cur))
        fail_msg("telemetry has no integer '%s'", path);
    return json_integer_value(cur);
}
