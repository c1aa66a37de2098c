/* registration.c - robot-register with a token, the cloud's verdicts, token refresh. */
#include "robot/registration.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define GRACE_DEFAULT_S 30 /* when token-expired names no graceSeconds */

struct registration {
    struct signaling *sig;
    char *robot_id;
    json_t *device_info;
    struct credential *token;
    char *sent;           /* the token sent last (register or refresh), or NULL */
    char *last_refusal;   /* the reason logged at warn last, or NULL */
    char *last_read_err;  /* the token file error logged at warn last, or NULL */
    bool registered;
    guint watch;          /* reads the token again while it is expired */
    gint64 watch_end_us;
};

struct registration *registration_new(struct signaling *sig, const char *robot_id,
                                      json_t *device_info, struct credential *token)
{
    struct registration *g = g_new0(struct registration, 1);
    g->sig = sig;
    g->robot_id = g_strdup(robot_id);
    g->device_info = json_incref(device_info);
    g->token = token;
    return g;
}

static void stop_watch(struct registration *g)
{
    if (g->watch)
        g_source_remove(g->watch);
    g->watch = 0;
}

void registration_free(struct registration *g)
{
    if (!g)
        return;
    stop_watch(g);
    json_decref(g->device_info);
    g_free(g->robot_id);
    free(g->sent);
    g_free(g->last_refusal);
    g_free(g->last_read_err);
    g_free(g);
}

/* Logs text at warn the first time in a row, at debug after that: *last
 * remembers it. */
static void log_once(char **last, const char *text)
{
    if (*last && strcmp(*last, text) == 0) {
        log_debug("%s", text);
        return;
    }
    log_warn("%s", text);
    g_free(*last);
    *last = g_strdup(text);
}

/* The token now, or NULL (none configured, or the file cannot be used:
 * logged). */
static const char *read_token(struct registration *g)
{
    char err[256];
    const char *t = credential_get(g->token, err, sizeof err);
    if (!t && err[0])
        log_once(&g->last_read_err, err);
    else if (t)
        g_clear_pointer(&g->last_read_err, g_free);
    return t;
}

static void remember_sent(struct registration *g, const char *token)
{
    free(g->sent);
    g->sent = token ? strdup(token) : NULL;
}

void registration_on_open(struct registration *g)
{
    g->registered = false;
    const char *token = read_token(g);
    json_t *msg = json_pack("{s:s, s:s, s:O}", "type", "robot-register", "robotId", g->robot_id,
                            "deviceInfo", g->device_info);
    if (token)
        json_object_set_new(msg, "token", json_string(token));
    remember_sent(g, token);
    signaling_send(g->sig, msg);
    json_decref(msg);
}

void registration_on_close(struct registration *g)
{
    stop_watch(g);
}

/* Sends refresh-token when the token now differs from the one sent.
 * Returns true when it did. */
static bool try_refresh(struct registration *g)
{
    const char *token = read_token(g);
    if (!token || (g->sent && strcmp(token, g->sent) == 0))
        return false;
    remember_sent(g, token);
    json_t *msg = json_pack("{s:s, s:s}", "type", "refresh-token", "token", token);
    signaling_send(g->sig, msg);
    json_decref(msg);
    log_info("sent a fresh token to the cloud (refresh-token)");
    return true;
}

static gboolean on_watch(gpointer data)
{
    struct registration *g = data;
    if (try_refresh(g) || g_get_monotonic_time() >= g->watch_end_us) {
        g->watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* Reads the token every second until one differs from the one sent or
 * the grace period is over. */
static void start_watch(struct registration *g, double grace_s)
{
    stop_watch(g);
    g->watch_end_us = g_get_monotonic_time() + (gint64)(grace_s * G_USEC_PER_SEC);
    g->watch = g_timeout_add(1000, on_watch, g);
}

static void on_expired(struct registration *g, json_t *msg)
{
    json_t *grace = json_object_get(msg, "graceSeconds");
    double grace_s = json_is_number(grace) && json_number_value(grace) >= 0
                         ? json_number_value(grace) : GRACE_DEFAULT_S;
    if (grace_s > 3600)
        grace_s = 3600;
    if (try_refresh(g))
        return;
    if (!credential_in_file(g->token)) {
        log_warn("the cloud says the robot's token expired; %s, so the link closes in %.0f s",
                 credential_configured(g->token) ? "ROBOT_TOKEN cannot change without a restart"
                                                 : "none is configured",
                 grace_s);
        return;
    }
    log_warn("the robot's token expired and %s; the cloud closes the link in %.0f s unless a "
             "new one comes", g->sent ? "no newer one is available yet" : "none can be read",
             grace_s);
    start_watch(g, grace_s);
}

static void on_unauthorized(struct registration *g, json_t *msg)
{
    const char *reason = json_string_value(json_object_get(msg, "reason"));
    const char *text = json_string_value(json_object_get(msg, "message"));
    if (!text)
        text = json_string_value(json_object_get(msg, "error"));
    /* Which message was refused: requestType says; without it, the
     * registration until it was accepted, the refresh after. */
    const char *req = json_string_value(json_object_get(msg, "requestType"));
    if (!req)
        req = g->registered ? "refresh-token" : "robot-register";
    bool registering = strcmp(req, "robot-register") == 0;
    char *line = g_strdup_printf("the cloud refused the %s: %.64s (%.160s)",
                                 registering ? "registration"
                                 : strcmp(req, "refresh-token") == 0 ? "fresh token"
                                                                     : "request",
                                 reason ? reason : "no reason given", text ? text : "");
    log_once(&g->last_refusal, line);
    g_free(line);
    if (registering)
        signaling_reconnect(g->sig, "registration refused");
}

bool registration_handle(struct registration *g, json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (strcmp(type, "registered") == 0) {
        log_info("registered as %s", g->robot_id);
        g->registered = true;
        g_clear_pointer(&g->last_refusal, g_free);
        signaling_registered(g->sig);
        return true;
    }
    if (strcmp(type, "token-refreshed") == 0) {
        json_t *at = json_object_get(msg, "expiresAt");
        stop_watch(g);
        g_clear_pointer(&g->last_refusal, g_free);
        if (json_is_number(at))
            log_info("the cloud took the fresh token; it expires at %.0f (Unix time)",
                     json_number_value(at));
        else
            log_info("the cloud took the fresh token");
        return true;
    }
    if (strcmp(type, "error") != 0)
        return false;
    const char *code = json_string_value(json_object_get(msg, "code"));
    if (!code)
        return false;
    if (strcmp(code, "unauthorized") == 0) {
        on_unauthorized(g, msg);
    } else if (strcmp(code, "token-expired") == 0) {
        on_expired(g, msg);
    } else if (strcmp(code, "robot-id-in-use") == 0) {
        /* After a network blip the cloud may still hold our previous
         * connection (until its ping timeout): retry with backoff. */
        const char *text = json_string_value(json_object_get(msg, "message"));
        log_warn("cloud error robot-id-in-use: %s", text ? text : "");
        signaling_reconnect(g->sig, "robot id held by another connection");
    } else {
        return false;
    }
    return true;
}
