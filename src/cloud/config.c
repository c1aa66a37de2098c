/* config.c - porthole-cloud's option table. */
#include "cloud/config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cloud/auth.h"
#include "cloud/auth_jwt.h"
#include "cloud/ice_servers.h"
#include "cloud/origin.h"
#include "cloud/tls_policy.h"
#include "common/ids.h"
#include "common/netlist.h"

#ifndef PORTHOLE_DEFAULT_WEB_ROOT
#define PORTHOLE_DEFAULT_WEB_ROOT "web"
#endif

/* --event-loop: lws's poll() loop, or libuv's epoll (event_loop.h). */
static const char *const event_loop_choices[] = {"poll", "epoll", NULL};

void cloud_config_defaults(struct cloud_config *cfg)
{
    *cfg = (struct cloud_config){
        .port = 3001,
        .bind = "",
        .web_root = PORTHOLE_DEFAULT_WEB_ROOT,
        .three_dir = PORTHOLE_DEFAULT_THREE_DIR,
        .tls_cert = "",
        .tls_key = "",
        .max_message = 64 * 1024,
        .max_queue = 1024 * 1024,
        .ws_rx_chunk = 1024,
        .max_connections = 10000,
        .max_client_sessions = 16,
        .max_robot_sessions = 64,
        .rate_limit = 200,
        .ping_interval = 20,
        .http_timeout = 10,
        .register_timeout = 10,
        .max_connections_per_ip = 64,
        .max_new_connections_per_ip = 20,
        .max_auth_failures_per_ip = 10,
        .auth_ban_seconds = 60,
        .limit_exempt = "127.0.0.0/8,::1",
        .trusted_proxies = "",
        .allowed_origins = "self,loopback",
        .tls_ciphers = TLS_POLICY_DEFAULT_CIPHERS,
        .tls_min_version = "1.2",
        .hsts_max_age = 365 * 86400,
        .request_timeout = 10,
        .max_pending_requests = 16,
        .max_robot_pending = 64,
        .max_sessions_per_identity = 32,
        .auth_secret = "",
        .auth_secret_file = "",
        .auth_jwks = "",
        .auth_issuer = "",
        .auth_audience = "",
        .auth_clock_skew = 30,
        .token_grace = 30,
        .metrics_token = "",
        .insecure_open = false,
        .stun_urls = "",
        .turn_urls = "",
        .turn_secret = "",
        .turn_ttl = 3600,
        .sio_ping_interval = 25000,
        .sio_ping_timeout = 20000,
        .sio_max_sessions = 10000,
        .store = "memory",
        .event_loop = "epoll",
        .instance_id = "",
        .presence_ttl = 15,
        .workers = 0,
        .log_level = "info",
        .log_format = "text",
    };
}

enum { OPTION_COUNT = 53 };

/* The table points into cfg, so it is built per call. */
static void option_table(struct cloud_config *cfg, struct opt out[OPTION_COUNT])
{
    const struct opt table[OPTION_COUNT] = {
        {.name = "port", .short_name = 'p', .env = {"PORT", "SIGNALING_PORT"}, .type = OPT_INT,
         .target = &cfg->port, .min = 1, .max = 65535, .metavar = "PORT",
         .help = "TCP port for HTTP and WebSocket"},
        {.name = "bind", .short_name = 'b', .env = {"BIND_ADDRESS"}, .type = OPT_STRING,
         .target = &cfg->bind, .metavar = "ADDR",
         .help = "IPv4 or IPv6 address to listen on (empty: all interfaces)"},
        {.name = "web-root", .short_name = 'w', .env = {"WEB_ROOT"}, .type = OPT_STRING,
         .target = &cfg->web_root, .metavar = "DIR",
         .help = "directory of the web viewer served at /"},
        {.name = "three-dir", .env = {"THREE_DIR"}, .type = OPT_STRING,
         .target = &cfg->three_dir, .metavar = "DIR",
         .help = "the npm package three (npm ci), whose build/ and examples/jsm/ the viewer's "
                 "3D tab loads from /vendor/three/; missing: the tab says so"},
        {.name = "tls-cert", .env = {"TLS_CERT"}, .type = OPT_STRING, .target = &cfg->tls_cert,
         .metavar = "FILE",
         .help = "PEM certificate (chain): serve https:// and wss:// (needs --tls-key)"},
        {.name = "tls-key", .env = {"TLS_KEY"}, .type = OPT_STRING, .target = &cfg->tls_key,
         .metavar = "FILE",
         .help = "PEM private key of --tls-cert"},
        {.name = "max-message", .env = {"MAX_MESSAGE_BYTES"}, .type = OPT_SIZE,
         .target = &cfg->max_message, .min = 1024, .max = 16L << 20, .metavar = "BYTES",
         .help = "largest WebSocket message accepted (close 1009 past)"},
        {.name = "max-queue", .env = {"MAX_QUEUE_BYTES"}, .type = OPT_SIZE,
         .target = &cfg->max_queue, .min = 4096, .max = 1L << 30, .metavar = "BYTES",
         .help = "outgoing bytes queued per connection before it is dropped"},
        {.name = "ws-rx-chunk", .env = {"WS_RX_CHUNK_BYTES"}, .type = OPT_SIZE,
         .target = &cfg->ws_rx_chunk, .min = 256, .max = 65536, .metavar = "BYTES",
         .help = "receive buffer kept per WebSocket, also the most read per wakeup "
                 "(smaller: less memory, more CPU per message)"},
        {.name = "max-connections", .env = {"MAX_CONNECTIONS"}, .type = OPT_INT,
         .target = &cfg->max_connections, .min = 1, .max = 1000000, .metavar = "N",
         .help = "WebSocket connections at once (more get HTTP 503)"},
        {.name = "max-client-sessions", .env = {"MAX_CLIENT_SESSIONS"}, .type = OPT_INT,
         .target = &cfg->max_client_sessions, .min = 1, .max = 100000, .metavar = "N",
         .help = "open sessions per client connection"},
        {.name = "max-robot-sessions", .env = {"MAX_ROBOT_SESSIONS"}, .type = OPT_INT,
         .target = &cfg->max_robot_sessions, .min = 1, .max = 100000, .metavar = "N",
         .help = "open sessions per robot connection"},
        {.name = "rate-limit", .env = {"RATE_LIMIT"}, .type = OPT_INT, .target = &cfg->rate_limit,
         .min = 0, .max = 10000000, .metavar = "N",
         .help = "messages per second per connection, bursts of 2N (0: no limit)"},
        {.name = "ping-interval", .env = {"PING_INTERVAL"}, .type = OPT_INT,
         .target = &cfg->ping_interval, .min = 1, .max = 3600, .metavar = "SECONDS",
         .help = "WebSocket ping period; a silent peer is dropped after twice this"},
        {.name = "http-timeout", .env = {"HTTP_TIMEOUT"}, .type = OPT_INT,
         .target = &cfg->http_timeout, .min = 1, .max = 3600, .metavar = "SECONDS",
         .help = "time allowed for a whole HTTP request (headers and body) to arrive"},
        {.name = "register-timeout", .env = {"REGISTER_TIMEOUT"}, .type = OPT_INT,
         .target = &cfg->register_timeout, .min = 1, .max = 3600, .metavar = "SECONDS",
         .help = "time a WebSocket connection has to register (then closed with 1008)"},
        {.name = "max-connections-per-ip", .env = {"MAX_CONNECTIONS_PER_IP"}, .type = OPT_INT,
         .target = &cfg->max_connections_per_ip, .min = 0, .max = 1000000, .metavar = "N",
         .help = "open connections per client address (more get HTTP 429; 0: no limit)"},
        {.name = "max-new-connections-per-ip", .env = {"MAX_NEW_CONNECTIONS_PER_IP"},
         .type = OPT_INT, .target = &cfg->max_new_connections_per_ip, .min = 0, .max = 1000000,
         .metavar = "N", .help = "new connections per second per client address (0: no limit)"},
        {.name = "max-auth-failures-per-ip", .env = {"MAX_AUTH_FAILURES_PER_IP"},
         .type = OPT_INT, .target = &cfg->max_auth_failures_per_ip, .min = 0, .max = 1000000,
         .metavar = "N",
         .help = "failed authentications per minute per address before a ban (0: never)"},
        {.name = "auth-ban-seconds", .env = {"AUTH_BAN_SECONDS"}, .type = OPT_INT,
         .target = &cfg->auth_ban_seconds, .min = 1, .max = 7 * 86400, .metavar = "SECONDS",
         .help = "how long a banned address is refused (HTTP 403)"},
        {.name = "limit-exempt", .env = {"LIMIT_EXEMPT"}, .type = OPT_STRING,
         .target = &cfg->limit_exempt, .metavar = "CIDRS",
         .help = "client addresses/networks exempt from the per-address limits (none: nobody)"},
        {.name = "trusted-proxies", .env = {"TRUSTED_PROXIES"}, .type = OPT_STRING,
         .target = &cfg->trusted_proxies, .metavar = "CIDRS",
         .help = "reverse proxies whose X-Forwarded-For is believed (none: no proxy)"},
        {.name = "allowed-origins", .env = {"ALLOWED_ORIGINS"}, .type = OPT_STRING,
         .target = &cfg->allowed_origins, .metavar = "ORIGINS",
         .help = "browser origins allowed: self, loopback, *, https://HOST[:PORT],..."},
        {.name = "tls-ciphers", .env = {"TLS_CIPHERS"}, .type = OPT_STRING,
         .target = &cfg->tls_ciphers, .metavar = "LIST",
         .help = "TLS 1.2 cipher suites offered (OpenSSL syntax; TLS 1.3 keeps its own)"},
        {.name = "tls-min-version", .env = {"TLS_MIN_VERSION"}, .type = OPT_STRING,
         .target = &cfg->tls_min_version, .choices = tls_policy_versions, .metavar = "VERSION",
         .help = "oldest TLS version accepted"},
        {.name = "hsts-max-age", .env = {"HSTS_MAX_AGE"}, .type = OPT_INT,
         .target = &cfg->hsts_max_age, .min = 0, .max = 100000000, .metavar = "SECONDS",
         .help = "Strict-Transport-Security max-age sent over HTTPS (0: no header)"},
        {.name = "request-timeout", .env = {"REQUEST_TIMEOUT"}, .type = OPT_INT,
         .target = &cfg->request_timeout, .min = 1, .max = 300, .metavar = "SECONDS",
         .help = "time a robot has to answer a request of its API (then 504)"},
        {.name = "max-pending-requests", .env = {"MAX_PENDING_REQUESTS"}, .type = OPT_INT,
         .target = &cfg->max_pending_requests, .min = 1, .max = 10000, .metavar = "N",
         .help = "robot API requests waiting per connection (more get 429)"},
        {.name = "max-robot-pending", .env = {"MAX_ROBOT_PENDING"}, .type = OPT_INT,
         .target = &cfg->max_robot_pending, .min = 1, .max = 10000, .metavar = "N",
         .help = "robot API requests waiting per robot (more get 429: shed, not queued)"},
        {.name = "max-sessions-per-identity", .env = {"MAX_SESSIONS_PER_IDENTITY"},
         .type = OPT_INT, .target = &cfg->max_sessions_per_identity, .min = 0, .max = 100000,
         .metavar = "N",
         .help = "open sessions per token subject (sub), all its connections (0: no limit)"},
        {.name = "auth-secret", .env = {"AUTH_SECRET"}, .type = OPT_STRING,
         .target = &cfg->auth_secret, .metavar = "SECRET", .secret = true,
         .help = "HS256 secret (32+ bytes): tokens required, and `token` mints them"},
        {.name = "auth-secret-file", .env = {"AUTH_SECRET_FILE"}, .type = OPT_STRING,
         .target = &cfg->auth_secret_file, .metavar = "FILE",
         .help = "a file holding the HS256 secret (re-read on SIGHUP)"},
        {.name = "auth-jwks", .env = {"AUTH_JWKS"}, .type = OPT_STRING,
         .target = &cfg->auth_jwks, .metavar = "FILE",
         .help = "JWKS or PEM public keys (RS256, ES256, EdDSA; re-read on SIGHUP)"},
        {.name = "auth-issuer", .env = {"AUTH_ISSUER"}, .type = OPT_STRING,
         .target = &cfg->auth_issuer, .metavar = "ISS",
         .help = "the \"iss\" tokens must carry (empty: not checked)"},
        {.name = "auth-audience", .env = {"AUTH_AUDIENCE"}, .type = OPT_STRING,
         .target = &cfg->auth_audience, .metavar = "AUD",
         .help = "the \"aud\" tokens must name (empty: tokens with \"aud\" are refused)"},
        {.name = "auth-clock-skew", .env = {"AUTH_CLOCK_SKEW"}, .type = OPT_INT,
         .target = &cfg->auth_clock_skew, .min = 0, .max = 600, .metavar = "SECONDS",
         .help = "clock skew allowed for exp, nbf and iat"},
        {.name = "token-grace", .env = {"TOKEN_GRACE"}, .type = OPT_INT,
         .target = &cfg->token_grace, .min = 0, .max = 3600, .metavar = "SECONDS",
         .help = "after token-expired, time to send refresh-token before the close"},
        {.name = "metrics-token", .env = {"METRICS_TOKEN"}, .type = OPT_STRING,
         .target = &cfg->metrics_token, .metavar = "TOKEN", .secret = true,
         .help = "a Bearer token for /metrics and /health details (besides admin tokens)"},
        {.name = "insecure-open", .env = {"INSECURE_OPEN"}, .type = OPT_BOOL,
         .target = &cfg->insecure_open,
         .help = "serve every address without authentication (never on the internet)"},
        {.name = "stun-urls", .env = {"STUN_URLS"}, .type = OPT_STRING,
         .target = &cfg->stun_urls, .metavar = "URLS",
         .help = "STUN servers handed to robots and viewers: stun:HOST[:PORT],..."},
        {.name = "turn-urls", .env = {"TURN_URLS"}, .type = OPT_STRING,
         .target = &cfg->turn_urls, .metavar = "URLS",
         .help = "TURN servers handed out: turn:HOST[:PORT][?transport=udp|tcp], turns:..."},
        {.name = "turn-secret", .env = {"TURN_SECRET"}, .type = OPT_STRING,
         .target = &cfg->turn_secret, .metavar = "SECRET", .secret = true,
         .help = "the TURN server's static-auth-secret: mints TURN REST credentials"},
        {.name = "turn-ttl", .env = {"TURN_TTL"}, .type = OPT_INT, .target = &cfg->turn_ttl,
         .min = 20, .max = 7 * 86400, .metavar = "SECONDS",
         .help = "lifetime of the TURN credentials handed out (under a minute: tests only)"},
        {.name = "sio-ping-interval", .env = {"SIO_PING_INTERVAL_MS"}, .type = OPT_INT,
         .target = &cfg->sio_ping_interval, .min = 1000, .max = 3600000, .metavar = "MS",
         .help = "Socket.IO peers: Engine.IO ping period (pingInterval)"},
        {.name = "sio-ping-timeout", .env = {"SIO_PING_TIMEOUT_MS"}, .type = OPT_INT,
         .target = &cfg->sio_ping_timeout, .min = 1000, .max = 3600000, .metavar = "MS",
         .help = "Socket.IO peers: time to answer a ping before the session ends (pingTimeout)"},
        {.name = "sio-max-sessions", .env = {"SIO_MAX_SESSIONS"}, .type = OPT_INT,
         .target = &cfg->sio_max_sessions, .min = 0, .max = 1000000, .metavar = "N",
         .help = "Socket.IO (Engine.IO) sessions at once, polling or WebSocket (0: no Socket.IO)"},
        {.name = "store", .env = {"REDIS_URL"}, .type = OPT_STRING, .target = &cfg->store,
         .metavar = "URL",
         .help = "presence and routing store: memory (this instance alone) or "
                 "redis://host[:port][/db] (several instances share robots and clients)"},
        {.name = "instance-id", .env = {"INSTANCE_ID"}, .type = OPT_STRING,
         .target = &cfg->instance_id, .metavar = "ID",
         .help = "this instance's name in the store (default: <hostname>-<pid>-<random>)"},
        {.name = "workers", .env = {"WORKERS"}, .type = OPT_INT, .target = &cfg->workers,
         .min = 0, .max = 256, .metavar = "N",
         .help = "worker processes sharing the port (0: one per CPU with --store redis://, "
                 "else 1; more than 1 without a store starts a private redis-server)"},
        {.name = "event-loop", .env = {"EVENT_LOOP"}, .type = OPT_STRING,
         .target = &cfg->event_loop, .choices = event_loop_choices, .metavar = "LOOP",
         .help = "poll (libwebsockets' own: looks at every socket per wakeup) or epoll "
                 "(libuv: cheaper with many connections)"},
        {.name = "presence-ttl", .env = {"PRESENCE_TTL"}, .type = OPT_INT,
         .target = &cfg->presence_ttl, .min = 3, .max = 3600, .metavar = "SECONDS",
         .help = "with Redis: presence keys expire this long after the last heartbeat "
                 "(a dead instance's robots are gone within it)"},
        {.name = "log-level", .short_name = 'l', .env = {"LOG_LEVEL"}, .type = OPT_STRING,
         .target = &cfg->log_level, .choices = log_level_names, .metavar = "LEVEL",
         .help = "least severe level logged"},
        {.name = "log-format", .env = {"LOG_FORMAT"}, .type = OPT_STRING,
         .target = &cfg->log_format, .choices = log_format_names, .metavar = "FORMAT",
         .help = "log lines as text or as JSON objects"},
    };
    memcpy(out, table, sizeof(table));
}

/* The edge's lists and TLS settings (see cloud_config_parse). An address
 * list may be given as "none" (an empty environment variable counts as
 * unset); it is stored as "". */
static enum opts_result check_edge(struct cloud_config *cfg, char *err, size_t errlen)
{
    if (strcasecmp(cfg->limit_exempt, "none") == 0)
        cfg->limit_exempt = "";
    if (strcasecmp(cfg->trusted_proxies, "none") == 0)
        cfg->trusted_proxies = "";
    char why[200];
    struct netlist list;
    if (netlist_parse(cfg->limit_exempt, &list, why, sizeof why) != 0) {
        snprintf(err, errlen, "--limit-exempt: %s", why);
        return OPTS_ERROR;
    }
    if (netlist_parse(cfg->trusted_proxies, &list, why, sizeof why) != 0) {
        snprintf(err, errlen, "--trusted-proxies: %s", why);
        return OPTS_ERROR;
    }
    struct origin_list *origins;
    if (origin_list_parse(cfg->allowed_origins, &origins, why, sizeof why) != 0) {
        snprintf(err, errlen, "--allowed-origins: %s", why);
        return OPTS_ERROR;
    }
    origin_list_free(origins);
    if (tls_policy_check(cfg->tls_ciphers, cfg->tls_min_version, err, errlen) != 0)
        return OPTS_ERROR;
    return OPTS_OK;
}

/* The authentication settings: keys that load, no --insecure-open beside
 * them, and no --bind to an address others can reach without either. */
static enum opts_result check_auth(const struct cloud_config *cfg, char *err, size_t errlen)
{
    if (cloud_config_has_auth(cfg) && cfg->insecure_open) {
        snprintf(err, errlen, "--insecure-open and --auth-* exclude each other: with keys "
                 "configured every peer needs a token");
        return OPTS_ERROR;
    }
    if (cloud_config_has_auth(cfg)) {
        char why[200];
        const struct auth *a = cloud_config_auth(cfg, why, sizeof(why));
        if (!a) {
            snprintf(err, errlen, "authentication keys: %s", why);
            return OPTS_ERROR;
        }
        auth_free(a);
        return OPTS_OK;
    }
    if (*cfg->bind && !auth_is_loopback(cfg->bind) && !cfg->insecure_open) {
        snprintf(err, errlen, "--bind %.64s serves other hosts, and no authentication is "
                 "configured: give --auth-secret, --auth-secret-file or --auth-jwks (see "
                 "docs/SECURITY.md), or --insecure-open to serve everyone without it",
                 cfg->bind);
        return OPTS_ERROR;
    }
    return OPTS_OK;
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
    struct ice_servers *ice = cloud_config_ice_servers(cfg, err, errlen);
    if (!ice)
        return OPTS_ERROR;
    ice_servers_free(ice);
    rc = check_edge(cfg, err, errlen);
    if (rc != OPTS_OK)
        return rc;
    if (strcmp(cfg->store, "memory") != 0 && strncmp(cfg->store, "redis://", 8) != 0 &&
        strncmp(cfg->store, "unix://", 7) != 0) {
        snprintf(err, errlen, "--store: expected 'memory' or redis://host[:port][/db], got "
                 "'%.64s'", cfg->store);
        return OPTS_ERROR;
    }
    if (!ids_valid_name(cfg->instance_id, 64) && *cfg->instance_id) {
        snprintf(err, errlen, "--instance-id: 1 to 64 characters of A-Z a-z 0-9 . _ : @ -");
        return OPTS_ERROR;
    }
    return check_auth(cfg, err, errlen);
}

bool cloud_config_has_auth(const struct cloud_config *cfg)
{
    return *cfg->auth_secret || *cfg->auth_secret_file || *cfg->auth_jwks;
}

const struct auth *cloud_config_auth(const struct cloud_config *cfg, char *err, size_t errlen)
{
    if (!cloud_config_has_auth(cfg))
        return cfg->insecure_open ? &auth_open : &auth_open_loopback;
    struct auth_jwt_config ac = {
        .keys = {.secret = cfg->auth_secret, .secret_file = cfg->auth_secret_file,
                 .jwks_file = cfg->auth_jwks},
    };
    token_config_defaults(&ac.token);
    ac.token.issuer = *cfg->auth_issuer ? cfg->auth_issuer : NULL;
    ac.token.audience = *cfg->auth_audience ? cfg->auth_audience : NULL;
    ac.token.leeway_s = (unsigned)cfg->auth_clock_skew;
    return auth_jwt_new(&ac, err, errlen);
}

struct ice_servers *cloud_config_ice_servers(const struct cloud_config *cfg, char *err,
                                             size_t errlen)
{
    const struct ice_servers_config ic = {
        .stun_urls = cfg->stun_urls,
        .turn_urls = cfg->turn_urls,
        .turn_secret = cfg->turn_secret,
        .turn_ttl_s = cfg->turn_ttl,
    };
    return ice_servers_new(&ic, err, errlen);
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
