/* config.h - porthole-cloud's settings: defaults, flags, environment. */
#ifndef PORTHOLE_CLOUD_CONFIG_H
#define PORTHOLE_CLOUD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct auth;
struct ice_servers;

#include "common/log.h"
#include "common/opts.h"

struct cloud_config {
    long port;                 /* --port, PORT or SIGNALING_PORT: 3001 */
    const char *bind;          /* --bind, BIND_ADDRESS: an IP address, "" = all interfaces */
    const char *web_root;      /* --web-root, WEB_ROOT */
    const char *three_dir;     /* --three-dir, THREE_DIR: the npm package three, served at /vendor/three/ */
    const char *tls_cert;      /* --tls-cert, TLS_CERT: PEM file; with tls_key, serve https/wss */
    const char *tls_key;       /* --tls-key, TLS_KEY: PEM private key */
    long max_message;          /* --max-message, MAX_MESSAGE_BYTES: 64 KiB */
    long max_queue;            /* --max-queue, MAX_QUEUE_BYTES: 1 MiB per connection */
    long ws_rx_chunk;          /* --ws-rx-chunk, WS_RX_CHUNK_BYTES: 1024 (server.c) */
    long max_connections;      /* --max-connections, MAX_CONNECTIONS: 10000 */
    long max_client_sessions;  /* --max-client-sessions: 16 */
    long max_robot_sessions;   /* --max-robot-sessions: 64 */
    long rate_limit;           /* --rate-limit, RATE_LIMIT: 200 messages/s, 0 = off */
    long ping_interval;        /* --ping-interval, PING_INTERVAL: 20 s */
    long http_timeout;         /* --http-timeout, HTTP_TIMEOUT: 10 s for a whole request */
    long register_timeout;     /* --register-timeout, REGISTER_TIMEOUT: 10 s to register */
    long max_connections_per_ip;     /* --max-connections-per-ip: 64 open, 0 = no limit */
    long max_new_connections_per_ip; /* --max-new-connections-per-ip: 20 a second, 0 = none */
    long max_auth_failures_per_ip;   /* --max-auth-failures-per-ip: 10 a minute, 0 = no ban */
    long auth_ban_seconds;     /* --auth-ban-seconds, AUTH_BAN_SECONDS: 60 */
    const char *limit_exempt;  /* --limit-exempt, LIMIT_EXEMPT: "127.0.0.0/8,::1" */
    const char *trusted_proxies; /* --trusted-proxies, TRUSTED_PROXIES: "" = none */
    const char *allowed_origins; /* --allowed-origins, ALLOWED_ORIGINS: "self,loopback" */
    const char *tls_ciphers;   /* --tls-ciphers, TLS_CIPHERS: TLS 1.2 ECDHE+AEAD suites */
    const char *tls_min_version; /* --tls-min-version, TLS_MIN_VERSION: "1.2" */
    long hsts_max_age;         /* --hsts-max-age, HSTS_MAX_AGE: 1 year, 0 = no HSTS header */
    long request_timeout;      /* --request-timeout, REQUEST_TIMEOUT: 10 s for a robot to answer */
    long max_pending_requests; /* --max-pending-requests, MAX_PENDING_REQUESTS: 16 per connection */
    long max_robot_pending;    /* --max-robot-pending, MAX_ROBOT_PENDING: 64 per robot */
    long max_sessions_per_identity; /* --max-sessions-per-identity: 32 per token sub, 0 = none */
    const char *auth_secret;   /* --auth-secret, AUTH_SECRET: HS256 secret, "" = none */
    const char *auth_secret_file; /* --auth-secret-file, AUTH_SECRET_FILE: a file holding it */
    const char *auth_jwks;     /* --auth-jwks, AUTH_JWKS: JWKS or PEM public keys */
    const char *auth_issuer;   /* --auth-issuer, AUTH_ISSUER: required "iss", "" = not checked */
    const char *auth_audience; /* --auth-audience, AUTH_AUDIENCE: required "aud", "" = none */
    long auth_clock_skew;      /* --auth-clock-skew, AUTH_CLOCK_SKEW: 30 s */
    long token_grace;          /* --token-grace, TOKEN_GRACE: 30 s after token-expired */
    const char *metrics_token; /* --metrics-token, METRICS_TOKEN: Bearer for /metrics, "" = none */
    bool insecure_open;        /* --insecure-open, INSECURE_OPEN: serve everyone without auth */
    const char *stun_urls;     /* --stun-urls, STUN_URLS: stun: URLs handed out, "" = none */
    const char *turn_urls;     /* --turn-urls, TURN_URLS: turn:/turns: URLs handed out */
    const char *turn_secret;   /* --turn-secret, TURN_SECRET: coturn's static-auth-secret */
    long turn_ttl;             /* --turn-ttl, TURN_TTL: 3600 s lifetime of TURN credentials */
    long sio_ping_interval;    /* --sio-ping-interval, SIO_PING_INTERVAL_MS: 25000 ms */
    long sio_ping_timeout;     /* --sio-ping-timeout, SIO_PING_TIMEOUT_MS: 20000 ms */
    long sio_max_sessions;     /* --sio-max-sessions, SIO_MAX_SESSIONS: 10000, 0 = off */
    const char *store;         /* --store, REDIS_URL: "memory" or redis://host[:port][/db] */
    const char *instance_id;   /* --instance-id, INSTANCE_ID: "" = <hostname>-<pid>-<random> */
    long workers;              /* --workers, WORKERS: 0 = CPUs with Redis, 1 without */
    bool listen_share;         /* set by workers.c, not a flag: SO_REUSEPORT on the port */
    long presence_ttl;         /* --presence-ttl, PRESENCE_TTL: 15 s (Redis presence keys) */
    const char *log_level;     /* --log-level, LOG_LEVEL: info */
    const char *log_format;    /* --log-format, LOG_FORMAT: text */
    const char *event_loop;    /* --event-loop, EVENT_LOOP: epoll (event_loop.h) */
};

/* Sets every field to its default. */
void cloud_config_defaults(struct cloud_config *cfg);

/* Applies environment and flags over cfg (see opts_parse for the result
 * and the error text), then checks what no single option can: a TLS
 * certificate needs its key and the other way round, --bind must be
 * an IPv4 or IPv6 address, the STUN/TURN settings must make a valid
 * ice_servers set (ice_servers.h), the address lists (--limit-exempt,
 * --trusted-proxies) must parse (netlist.h), so must --allowed-origins
 * (origin.h), OpenSSL must accept --tls-ciphers (tls_policy.h), the
 * --auth-* keys must load, and a
 * --bind that is not a loopback address needs authentication or
 * --insecure-open (a cloud reachable by others is never open by
 * accident). */
enum opts_result cloud_config_parse(struct cloud_config *cfg, int argc, char **argv, char *err,
                                    size_t errlen);

/* The STUN/TURN servers cfg describes (see ice_servers_new), or NULL
 * with the reason in err. The caller frees it. */
struct ice_servers *cloud_config_ice_servers(const struct cloud_config *cfg, char *err,
                                             size_t errlen);

/* True when cfg configures tokens (--auth-secret, --auth-secret-file or
 * --auth-jwks). */
bool cloud_config_has_auth(const struct cloud_config *cfg);

/* The authentication policy cfg describes (auth.h): tokens when
 * configured, else auth_open with --insecure-open, else protected mode
 * (auth_open_loopback). NULL with the reason in err when the keys do not
 * load. Release with auth_free(). */
const struct auth *cloud_config_auth(const struct cloud_config *cfg, char *err, size_t errlen);

/* Prints --help, showing cfg's values as defaults (never a secret's). */
void cloud_config_help(struct cloud_config *cfg, FILE *out);

#endif
