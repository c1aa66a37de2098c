/* config.c - porthole-cloud's option table. */
#include "cloud/config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifndef PORTHOLE_DEFAULT_WEB_ROOT
#define PORTHOLE_DEFAULT_WEB_ROOT "web"
#endif

void cloud_config_defaults(struct cloud_config *cfg)
{
    *cfg = (struct cloud_config){
        .port = 3001,
        .bind = "",
        .web_root = PORTHOLE_DEFAULT_WEB_ROOT,
        .tls_cert = "",
        .tls_key = "",
        .max_message = 64 * 1024,
        .max_queue = 1024 * 1024,
        .max_connections = 10000,
        .max_client_sessions = 16,
        .max_robot_sessions = 64,
        .rate_limit = 200,
        .ping_interval = 20,
        .http_timeout = 10,
        .request_timeout = 10,
        .max_pending_requests = 16,
        .log_level = "info",
        .log_format = "text",
    };
}

enum { OPTION_COUNT = 17 };

/* The table points into cfg, so it is built per call. */
static void option_table(struct cloud_config *cfg, struct opt out[OPTION_COUNT])
{
    const struct opt table[OPTION_COUNT] = {
        {"port", 'p', {"PORT", "SIGNALING_PORT"}, OPT_INT, &cfg->port, 1, 65535, 0, 0, NULL,
         "PORT", "TCP port for HTTP and WebSocket"},
        {"bind", 'b', {"BIND_ADDRESS"}, OPT_STRING, &cfg->bind, 0, 0, 0, 0, NULL, "ADDR",
         "IPv4 or IPv6 address to listen on (empty: all interfaces)"},
        {"web-root", 'w', {"WEB_ROOT"}, OPT_STRING, &cfg->web_root, 0, 0, 0, 0, NULL, "DIR",
         "directory of the web viewer served at /"},
        {"tls-cert", 0, {"TLS_CERT"}, OPT_STRING, &cfg->tls_cert, 0, 0, 0, 0, NULL, "FILE",
         "PEM certificate (chain): serve https:// and wss:// (needs --tls-key)"},
        {"tls-key", 0, {"TLS_KEY"}, OPT_STRING, &cfg->tls_key, 0, 0, 0, 0, NULL, "FILE",
         "PEM private key of --tls-cert"},
        {"max-message", 0, {"MAX_MESSAGE_BYTES"}, OPT_SIZE, &cfg->max_message, 1024,
         16L << 20, 0, 0, NULL, "BYTES", "largest WebSocket message accepted (close 1009 past)"},
        {"max-queue", 0, {"MAX_QUEUE_BYTES"}, OPT_SIZE, &cfg->max_queue, 4096, 1L << 30, 0,
         0, NULL, "BYTES", "outgoing bytes queued per connection before it is dropped"},
        {"max-connections", 0, {"MAX_CONNECTIONS"}, OPT_INT, &cfg->max_connections, 1,
         1000000, 0, 0, NULL, "N", "WebSocket connections at once (more get HTTP 503)"},
        {"max-client-sessions", 0, {"MAX_CLIENT_SESSIONS"}, OPT_INT,
         &cfg->max_client_sessions, 1, 100000, 0, 0, NULL, "N",
         "open sessions per client connection"},
        {"max-robot-sessions", 0, {"MAX_ROBOT_SESSIONS"}, OPT_INT,
         &cfg->max_robot_sessions, 1, 100000, 0, 0, NULL, "N",
         "open sessions per robot connection"},
        {"rate-limit", 0, {"RATE_LIMIT"}, OPT_INT, &cfg->rate_limit, 0, 10000000, 0, 0, NULL,
         "N", "messages per second per connection, bursts of 2N (0: no limit)"},
        {"ping-interval", 0, {"PING_INTERVAL"}, OPT_INT, &cfg->ping_interval, 1, 3600, 0, 0,
         NULL, "SECONDS", "WebSocket ping period; a silent peer is dropped after twice this"},
        {"http-timeout", 0, {"HTTP_TIMEOUT"}, OPT_INT, &cfg->http_timeout, 1, 3600, 0, 0,
         NULL, "SECONDS", "time allowed for an HTTP request to arrive"},
        {"request-timeout", 0, {"REQUEST_TIMEOUT"}, OPT_INT, &cfg->request_timeout, 1, 300, 0,
         0, NULL, "SECONDS", "time a robot has to answer a request of its API (then 504)"},
        {"max-pending-requests", 0, {"MAX_PENDING_REQUESTS"}, OPT_INT,
         &cfg->max_pending_requests, 1, 10000, 0, 0, NULL, "N",
         "robot API requests waiting per connection (more get 429)"},
        {"log-level", 'l', {"LOG_LEVEL"}, OPT_STRING, &cfg->log_level, 0, 0, 0, 0,
         log_level_names, "LEVEL", "least severe level logged"},
        {"log-format", 0, {"LOG_FORMAT"}, OPT_STRING, &cfg->log_format, 0, 0, 0, 0,
         log_format_names, "FORMAT", "log lines as text or as JSON objects"},

    };
    memcpy(out, table, sizeof(table));
}

enum opts_result cloud_config_parse(struct cloud_config *cfg, int argc, char **argv, char *err,
                                    size_t errlen)
{
    struct opt table[OPTION_COUNT];
    option_table(cfg, table);
    enum opts_result rc = opts_parse(table, OPTION_COUNT, argc, argv, err, errlen);
    if (rc != OPTS_OK)
        return rc;
    if (!*cfg->tls_cert != !*cfg->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together: give both or neither");
        return OPTS_ERROR;
    }
    unsigned char addr[sizeof(struct in6_addr)];
    if (*cfg->bind && inet_pton(AF_INET, cfg->bind, addr) != 1 &&
        inet_pton(AF_INET6, cfg->bind, addr) != 1) {
        snprintf(err, errlen, "--bind: '%.64s' is not an IPv4 or IPv6 address (empty: all)",
                 cfg->bind);
        return OPTS_ERROR;
    }
    return OPTS_OK;
}

void cloud_config_help(struct cloud_config *cfg, FILE *out)
{
    struct opt table[OPTION_COUNT];
    option_table(cfg, table);
    opts_print_help(out,
                    "porthole-cloud [OPTIONS]\n"
                    "Signaling server: robots dial out to it, browsers meet them here.\n"
                    "Every option can also be set by the environment variable shown.",
                    table, OPTION_COUNT);
}
