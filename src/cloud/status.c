/* status.c - /health, /robots and /metrics bodies. */
#include "cloud/status.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/clock.h"

struct outbuf *status_health(const struct router *r, int64_t started_mono_ms, int64_t now_mono_ms,
                             bool details)
{
    /* Degraded: the store is unreachable and only this instance's peers
     * are served; still 200, because that service is real (a load
     * balancer should keep sending clients here). */
    const char *status = router_degraded(r) ? "degraded" : "ok";
    if (!details)
        return outbuf_new(*status == 'o' ? "{\"status\":\"ok\"}" : "{\"status\":\"degraded\"}",
                          *status == 'o' ? 15 : 21);
    struct router_stats st;
    router_stats(r, &st);
    char ts[32];
    clock_iso8601(clock_wall_ms(), ts, sizeof(ts));
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s}", "status", status, "timestamp", ts,
                          "robots", (json_int_t)st.robots, "clients", (json_int_t)st.clients,
                          "sessions", (json_int_t)st.sessions, "uptimeSeconds",
                          (json_int_t)((now_mono_ms - started_mono_ms) / 1000), "version",
                          PORTHOLE_VERSION);
    struct outbuf *b = j ? outbuf_take_string(json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))
                         : NULL;
    json_decref(j);
    return b;
}

struct outbuf *status_robots(const struct router *r, const struct token_claims *viewer)
{
    json_t *j = router_robots_json(r, viewer);
    struct outbuf *b = j ? outbuf_take_string(json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))
                         : NULL;
    json_decref(j);
    return b;
}

struct outbuf *status_metrics(const struct router *r, const struct server_stats *s,
                              int64_t started_mono_ms, int64_t now_mono_ms)
{
    struct router_stats st;
    router_stats(r, &st);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
#define GAUGE(name, help, v) \
    fprintf(f, "# HELP " name " " help "\n# TYPE " name " gauge\n" name " %llu\n", \
            (unsigned long long)(v))
#define COUNTER(name, help, v) \
    fprintf(f, "# HELP " name " " help "\n# TYPE " name " counter\n" name " %llu\n", \
            (unsigned long long)(v))
    GAUGE("porthole_connections", "Open WebSocket connections.", st.peers);
    GAUGE("porthole_robots", "Registered robots.", st.robots);
    GAUGE("porthole_clients", "Registered clients.", st.clients);
    GAUGE("porthole_sessions", "Open sessions.", st.sessions);
    GAUGE("porthole_uptime_seconds", "Seconds since start.", (now_mono_ms - started_mono_ms) / 1000);
    COUNTER("porthole_connections_total", "WebSocket connections accepted.", s->connections_total);
    COUNTER("porthole_connections_refused_total", "WebSocket upgrades refused.",
            s->connections_refused);
    COUNTER("porthole_http_requests_total", "HTTP requests served.", s->http_requests);
    COUNTER("porthole_messages_received_total", "Messages received.", st.messages_in);
    COUNTER("porthole_messages_sent_total", "Messages queued for sending.", st.messages_out);
    COUNTER("porthole_messages_relayed_total", "Session messages relayed unchanged.",
            st.messages_relayed);
    COUNTER("porthole_sessions_created_total", "Sessions created.", st.sessions_created);
    COUNTER("porthole_sessions_closed_total", "Sessions ended.", st.sessions_closed);
    GAUGE("porthole_robot_requests_pending", "Robot API requests waiting for their robot.",
          st.robot_requests_pending);
    COUNTER("porthole_robot_requests_forwarded_total", "Robot API requests sent on to a robot.",
            st.robot_requests_forwarded);
    COUNTER("porthole_robot_requests_answered_total",
            "Robot API requests whose robot's answer reached the asker.",
            st.robot_requests_answered);
    COUNTER("porthole_robot_requests_timed_out_total",
            "Robot API requests answered 504: no answer within --request-timeout.",
            st.robot_requests_timed_out);
    COUNTER("porthole_robot_requests_failed_total",
            "Robot API requests answered 503 after forwarding: robot offline, or shutdown.",
            st.robot_requests_failed);
    COUNTER("porthole_robot_requests_abandoned_total",
            "Robot API requests forgotten because their asker went away.",
            st.robot_requests_abandoned);
    COUNTER("porthole_robot_requests_refused_total",
            "Robot API requests not forwarded: robot not connected (503), limit (429), invalid.",
            st.robot_requests_refused);
    COUNTER("porthole_robot_responses_dropped_total",
            "Robot answers dropped: unknown, expired or already answered requestId.",
            st.robot_responses_dropped);
#undef GAUGE
#undef COUNTER
    fprintf(f, "# HELP porthole_closes_total Connections closed by the server, by "
               "WebSocket close code.\n# TYPE porthole_closes_total counter\n");
    fprintf(f, "porthole_closes_total{code=\"1003\"} %llu\n", (unsigned long long)s->closed_binary);
    fprintf(f, "porthole_closes_total{code=\"1007\"} %llu\n",
            (unsigned long long)s->closed_invalid_utf8);
    fprintf(f, "porthole_closes_total{code=\"1008\"} %llu\n", (unsigned long long)s->closed_policy);
    fprintf(f, "porthole_closes_total{code=\"1009\"} %llu\n", (unsigned long long)s->closed_too_big);
    fprintf(f, "# HELP porthole_refused_total Requests and upgrades refused before routing, by "
               "reason.\n# TYPE porthole_refused_total counter\n");
    fprintf(f, "porthole_refused_total{reason=\"too-many-connections\"} %llu\n",
            (unsigned long long)s->refused_too_many);
    fprintf(f, "porthole_refused_total{reason=\"too-many-new-connections\"} %llu\n",
            (unsigned long long)s->refused_too_fast);
    fprintf(f, "porthole_refused_total{reason=\"banned\"} %llu\n",
            (unsigned long long)s->refused_banned);
    fprintf(f, "porthole_refused_total{reason=\"origin-not-allowed\"} %llu\n",
            (unsigned long long)s->refused_origin);
    fprintf(f, "porthole_refused_total{reason=\"bad-framing\"} %llu\n",
            (unsigned long long)s->refused_framing);
    fprintf(f, "# HELP porthole_auth_bans_total Addresses banned for failed authentications.\n"
               "# TYPE porthole_auth_bans_total counter\nporthole_auth_bans_total %llu\n",
            (unsigned long long)s->auth_bans);
    fprintf(f, "# HELP porthole_timeouts_total Connections closed for a missed deadline.\n"
               "# TYPE porthole_timeouts_total counter\n"
               "porthole_timeouts_total{deadline=\"register\"} %llu\n"
               "porthole_timeouts_total{deadline=\"http-request\"} %llu\n",
            (unsigned long long)s->closed_register_timeout,
            (unsigned long long)s->closed_http_timeout);
    fprintf(f, "# HELP porthole_errors_total Error replies, by code.\n"
               "# TYPE porthole_errors_total counter\n");
    for (const struct router_error_count *e = router_error_counts(r); e->code; e++)
        fprintf(f, "porthole_errors_total{code=\"%s\"} %llu\n", e->code,
                (unsigned long long)e->count);
    fprintf(f, "# HELP porthole_auth_refusals_total Authentications refused, by reason.\n"
               "# TYPE porthole_auth_refusals_total counter\n");
    for (const struct router_error_count *e = router_refusal_counts(r); e->code; e++)
        fprintf(f, "porthole_auth_refusals_total{reason=\"%s\"} %llu\n", e->code,
                (unsigned long long)e->count);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return outbuf_take_string(text);
}
