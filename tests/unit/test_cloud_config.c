/* test_cloud_config.c - unit tests of porthole-cloud's settings: defaults, flags, environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_test.h"

#include "cloud/auth.h"
#include "cloud/config.h"

static struct cloud_config cfg;
static char err[256];

/* Every variable config.h reads; cleared before each test. */
static const char *const env_vars[] = {
    "PORT", "SIGNALING_PORT", "BIND_ADDRESS", "WEB_ROOT", "MAX_MESSAGE_BYTES",
    "MAX_QUEUE_BYTES", "WS_RX_CHUNK_BYTES", "MAX_CONNECTIONS", "MAX_CLIENT_SESSIONS", "MAX_ROBOT_SESSIONS",
    "RATE_LIMIT", "PING_INTERVAL", "HTTP_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT", "TLS_CERT", "TLS_KEY",
    "REQUEST_TIMEOUT", "MAX_PENDING_REQUESTS", "REGISTER_TIMEOUT", "MAX_CONNECTIONS_PER_IP",
    "MAX_NEW_CONNECTIONS_PER_IP", "MAX_AUTH_FAILURES_PER_IP", "AUTH_BAN_SECONDS", "LIMIT_EXEMPT",
    "TRUSTED_PROXIES", "ALLOWED_ORIGINS", "TLS_CIPHERS", "TLS_MIN_VERSION", "HSTS_MAX_AGE",
    "REQUEST_TIMEOUT", "MAX_PENDING_REQUESTS", "MAX_ROBOT_PENDING", "MAX_SESSIONS_PER_IDENTITY",
    "AUTH_SECRET", "AUTH_SECRET_FILE", "AUTH_JWKS", "AUTH_ISSUER", "AUTH_AUDIENCE",
    "AUTH_CLOCK_SKEW", "TOKEN_GRACE", "METRICS_TOKEN", "INSECURE_OPEN", "EVENT_LOOP",
};

static void clear_env(void)
{
    config_test_clear_env(env_vars, sizeof env_vars / sizeof env_vars[0]);
}

static int reset(void **state)
{
    (void)state;
    clear_env();
    cloud_config_defaults(&cfg);
    memset(err, 0, sizeof err);
    return 0;
}

static int cleanup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

/* Parses argv = "porthole-cloud" followed by the NULL-terminated args. */
static enum opts_result parse_list(const char *const *args)
{
    char *argv[16];
    int argc = config_test_argv("porthole-cloud", args, argv, 16);
    return cloud_config_parse(&cfg, argc, argv, err, sizeof err);
}

/* PARSE("--port", "4000") parses "porthole-cloud --port 4000"; PARSE(NULL) no flags. */
#define PARSE(...) parse_list((const char *const[]){__VA_ARGS__, NULL})


/* ---- defaults ------------------------------------------------------------ */

static void test_defaults_listen_on_port_3001_on_all_interfaces(void **state)
{
    (void)state;
    assert_int_equal(cfg.port, 3001);
    assert_true(cfg.bind == NULL || cfg.bind[0] == '\0');
}

static void test_defaults_set_documented_limits(void **state)
{
    (void)state;
    assert_int_equal(cfg.max_message, 65536);
    assert_int_equal(cfg.max_queue, 1048576);
    assert_int_equal(cfg.ws_rx_chunk, 1024);
    assert_int_equal(cfg.max_connections, 10000);
    assert_int_equal(cfg.max_client_sessions, 16);
    assert_int_equal(cfg.max_robot_sessions, 64);
    assert_int_equal(cfg.rate_limit, 200);
    assert_int_equal(cfg.max_pending_requests, 16);
}

static void test_defaults_set_documented_timers(void **state)
{
    (void)state;
    assert_int_equal(cfg.ping_interval, 20);
    assert_int_equal(cfg.http_timeout, 10);
    assert_int_equal(cfg.request_timeout, 10);
}

static void test_defaults_log_info_as_text(void **state)
{
    (void)state;
    assert_string_equal(cfg.log_level, "info");
    assert_string_equal(cfg.log_format, "text");
}

static void test_defaults_name_a_web_root(void **state)
{
    (void)state;
    assert_non_null(cfg.web_root);
    assert_true(cfg.web_root[0] != '\0');
}

static void test_parse_without_flags_or_env_keeps_defaults(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.port, 3001);
    assert_int_equal(cfg.max_message, 65536);
    assert_int_equal(cfg.ping_interval, 20);
    assert_string_equal(cfg.log_level, "info");
}

/* ---- TLS ------------------------------------------------------------------ */

static void test_tls_is_off_by_default(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_string_equal(cfg.tls_cert, "");
    assert_string_equal(cfg.tls_key, "");
}

static void test_tls_cert_and_key_are_taken_together(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls-cert", "c.pem", "--tls-key", "k.pem"), OPTS_OK);
    assert_string_equal(cfg.tls_cert, "c.pem");
    assert_string_equal(cfg.tls_key, "k.pem");
}

static void test_tls_cert_without_key_is_refused(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls-cert", "c.pem"), OPTS_ERROR);
    assert_contains(err, "--tls-key");
}

static void test_tls_key_env_without_cert_is_refused(void **state)
{
    (void)state;
    setenv("TLS_KEY", "k.pem", 1);
    assert_int_equal(PARSE(NULL), OPTS_ERROR);
    assert_contains(err, "--tls-cert");
}

static void test_bind_accepts_ipv4_and_ipv6_addresses(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--bind", "127.0.0.1"), OPTS_OK);
    assert_int_equal(PARSE("--bind", "::1"), OPTS_OK);
    assert_string_equal(cfg.bind, "::1");
}

static void test_bind_refuses_names_that_are_not_addresses(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--bind", "eth0"), OPTS_ERROR);
    assert_contains(err, "--bind");
    assert_contains(err, "eth0");
}

/* ---- port: flag and environment ----------------------------------------- */

static void test_port_flag_sets_port(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "4000"), OPTS_OK);
    assert_int_equal(cfg.port, 4000);
}

static void test_short_port_flag_sets_port(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-p", "4001"), OPTS_OK);
    assert_int_equal(cfg.port, 4001);
}

static void test_port_env_sets_port(void **state)
{
    (void)state;
    setenv("PORT", "5000", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.port, 5000);
}

static void test_signaling_port_env_used_when_port_unset(void **state)
{
    (void)state;
    setenv("SIGNALING_PORT", "6000", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.port, 6000);
}

static void test_signaling_port_env_used_when_port_empty(void **state)
{
    (void)state;
    setenv("PORT", "", 1);
    setenv("SIGNALING_PORT", "6000", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.port, 6000);
}

static void test_port_env_wins_over_signaling_port_env(void **state)
{
    (void)state;
    setenv("PORT", "5000", 1);
    setenv("SIGNALING_PORT", "6000", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.port, 5000);
}

static void test_port_flag_wins_over_env(void **state)
{
    (void)state;
    setenv("PORT", "5000", 1);
    setenv("SIGNALING_PORT", "6000", 1);
    assert_int_equal(PARSE("--port", "4000"), OPTS_OK);
    assert_int_equal(cfg.port, 4000);
}

static void test_out_of_range_port_flag_names_flag_and_range(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "70000"), OPTS_ERROR);
    assert_contains(err, "--port");
    assert_contains(err, "70000");
    assert_contains(err, "1..65535");
}

static void test_port_zero_is_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "0"), OPTS_ERROR);
    assert_contains(err, "--port");
    assert_contains(err, "1..65535");
}

static void test_bad_port_env_names_variable(void **state)
{
    (void)state;
    setenv("PORT", "http", 1);
    assert_int_equal(PARSE(NULL), OPTS_ERROR);
    assert_contains(err, "PORT");
    assert_contains(err, "http");
}

/* ---- sizes, other numbers and strings ------------------------------------ */

static void test_max_message_accepts_k_suffix(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--max-message", "4k"), OPTS_OK);
    assert_int_equal(cfg.max_message, 4096);
}

static void test_max_message_env_accepts_mib_suffix(void **state)
{
    (void)state;
    setenv("MAX_MESSAGE_BYTES", "1MiB", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.max_message, 1048576);
}

static void test_max_message_below_minimum_is_refused(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--max-message", "512"), OPTS_ERROR);
    assert_contains(err, "--max-message");
}

static void test_ws_rx_chunk_by_flag_or_env_within_256_to_64k(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--ws-rx-chunk", "256"), OPTS_OK);
    assert_int_equal(cfg.ws_rx_chunk, 256);
    setenv("WS_RX_CHUNK_BYTES", "4k", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.ws_rx_chunk, 4096);
    assert_int_equal(PARSE("--ws-rx-chunk", "128"), OPTS_ERROR);
    assert_contains(err, "--ws-rx-chunk");
    assert_int_equal(PARSE("--ws-rx-chunk", "128k"), OPTS_ERROR);
}

static void test_event_loop_is_epoll_unless_poll_is_chosen(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_string_equal(cfg.event_loop, "epoll");
    assert_int_equal(PARSE("--event-loop", "poll"), OPTS_OK);
    assert_string_equal(cfg.event_loop, "poll");
    setenv("EVENT_LOOP", "poll", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_string_equal(cfg.event_loop, "poll");
    assert_int_equal(PARSE("--event-loop", "select"), OPTS_ERROR);
    assert_contains(err, "--event-loop");
}

static void test_rate_limit_zero_turns_limit_off(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--rate-limit", "0"), OPTS_OK);
    assert_int_equal(cfg.rate_limit, 0);
}

static void test_ping_interval_env_sets_interval(void **state)
{
    (void)state;
    setenv("PING_INTERVAL", "5", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.ping_interval, 5);
}

/* --flag fval sets *field to fwant; then, without the flag, env=eval sets
 * it to ewant. */
static void expect_flag_and_env(const char *flag, const char *fval, const char *env,
                                const char *eval, const long *field, long fwant, long ewant)
{
    assert_int_equal(PARSE(flag, fval), OPTS_OK);
    assert_int_equal(*field, fwant);
    setenv(env, eval, 1);
    cloud_config_defaults(&cfg);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(*field, ewant);
}

/* Parsing args (NULL-terminated) fails and the error holds each needle. */
static void expect_refused(const char *const *args, const char *const *needles)
{
    assert_int_equal(parse_list(args), OPTS_ERROR);
    for (size_t i = 0; needles[i] != NULL; i++)
        assert_contains(err, needles[i]);
}
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_request_timeout_flag_and_env_set_the_timeout(void **state)
{
    (void)state;
    expect_flag_and_env("--request-timeout", "300", "REQUEST_TIMEOUT", "1",
                        &cfg.request_timeout, 300, 1);
}

static void test_request_timeout_out_of_range_names_flag_and_range(void **state)
{
    (void)state;
    expect_refused(ARGS("--request-timeout", "0"), ARGS("--request-timeout", "1..300"));
    expect_refused(ARGS("--request-timeout", "301"), ARGS("301"));
}

static void test_max_pending_requests_flag_and_env_set_the_limit(void **state)
{
    (void)state;
    expect_flag_and_env("--max-pending-requests", "10000", "MAX_PENDING_REQUESTS", "1",
                        &cfg.max_pending_requests, 10000, 1);
}

static void test_max_pending_requests_out_of_range_names_variable(void **state)
{
    (void)state;
    setenv("MAX_PENDING_REQUESTS", "10001", 1);
    expect_refused(ARGS(NULL), ARGS("MAX_PENDING_REQUESTS", "1..10000"));
    unsetenv("MAX_PENDING_REQUESTS");
    expect_refused(ARGS("--max-pending-requests", "0"), ARGS("--max-pending-requests"));
}

/* --help's text for the current cfg (free it). */
static char *help_text(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cloud_config_help(&cfg, f);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_help_lists_the_robot_request_options(void **state)
{
    (void)state;
    char *text = help_text();
    assert_contains(text, "--request-timeout");
    assert_contains(text, "REQUEST_TIMEOUT");
    assert_contains(text, "--max-pending-requests");
    assert_contains(text, "MAX_PENDING_REQUESTS");
    free(text);
}

static void test_bind_and_web_root_flags_set_strings(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--bind", "127.0.0.1", "--web-root", "/srv/www"), OPTS_OK);
    assert_string_equal(cfg.bind, "127.0.0.1");
    assert_string_equal(cfg.web_root, "/srv/www");
}

/* ---- logging ------------------------------------------------------------- */

static void test_log_level_flag_accepts_debug(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--log-level", "debug"), OPTS_OK);
    assert_string_equal(cfg.log_level, "debug");
}

static void test_unknown_log_level_lists_choices(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--log-level", "loud"), OPTS_ERROR);
    assert_contains(err, "--log-level");
    assert_contains(err, "loud");
    assert_contains(err, "error");
    assert_contains(err, "warn");
    assert_contains(err, "info");
    assert_contains(err, "debug");
}

static void test_log_format_env_accepts_json(void **state)
{
    (void)state;
    setenv("LOG_FORMAT", "json", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_string_equal(cfg.log_format, "json");
}

static void test_unknown_log_format_env_is_refused(void **state)
{
    (void)state;
    setenv("LOG_FORMAT", "xml", 1);
    assert_int_equal(PARSE(NULL), OPTS_ERROR);
    assert_contains(err, "LOG_FORMAT");
    assert_contains(err, "text");
    assert_contains(err, "json");
}

/* ---- flag syntax --------------------------------------------------------- */

static void test_unknown_flag_is_an_error_naming_it(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--prot", "4000"), OPTS_ERROR);
    assert_contains(err, "--prot");
    assert_contains(err, "--help");
}

static void test_help_flag_returns_help(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--help"), OPTS_HELP);
}

static void test_help_lists_port_flag_env_and_default(void **state)
{
    (void)state;
    char *text = help_text();
    assert_contains(text, "--port");
    assert_contains(text, "SIGNALING_PORT");
    assert_contains(text, "3001");
    free(text);
}

/* ---- the edge: per-address limits, proxies, origins, TLS ---------------- */

static void test_defaults_set_documented_edge_limits(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.register_timeout, 10);
    assert_int_equal(cfg.max_connections_per_ip, 64);
    assert_int_equal(cfg.max_new_connections_per_ip, 20);
    assert_int_equal(cfg.max_auth_failures_per_ip, 10);
    assert_int_equal(cfg.auth_ban_seconds, 60);
    assert_string_equal(cfg.limit_exempt, "127.0.0.0/8,::1");
    assert_string_equal(cfg.trusted_proxies, "");
    assert_string_equal(cfg.allowed_origins, "self,loopback");
    assert_string_equal(cfg.tls_min_version, "1.2");
    assert_int_equal(cfg.hsts_max_age, 31536000);
    assert_contains(cfg.tls_ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
}

static void test_edge_limits_from_flags_and_env(void **state)
{
    (void)state;
    setenv("MAX_CONNECTIONS_PER_IP", "5", 1);
    setenv("LIMIT_EXEMPT", "none", 1); /* an empty variable counts as unset */
    setenv("TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8", 1);
    assert_int_equal(PARSE("--max-new-connections-per-ip", "0", "--auth-ban-seconds", "5",
                           "--allowed-origins", "https://viewer.example.com,self",
                           "--register-timeout", "2", "--hsts-max-age", "0"),
                     OPTS_OK);
    assert_int_equal(cfg.max_connections_per_ip, 5);
    assert_int_equal(cfg.max_new_connections_per_ip, 0);
    assert_int_equal(cfg.auth_ban_seconds, 5);
    assert_int_equal(cfg.register_timeout, 2);
    assert_int_equal(cfg.hsts_max_age, 0);
    assert_string_equal(cfg.limit_exempt, "");
    assert_string_equal(cfg.trusted_proxies, "10.0.0.0/8, fd00::/8");
    assert_int_equal(PARSE("--limit-exempt", "", "--trusted-proxies", "NONE"), OPTS_OK);
    assert_string_equal(cfg.limit_exempt, "");
    assert_string_equal(cfg.trusted_proxies, "");
}

static void test_bad_address_lists_name_the_flag_and_item(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--trusted-proxies", "10.0.0.0/8,proxy.local"), OPTS_ERROR);
    assert_contains(err, "--trusted-proxies");
    assert_contains(err, "proxy.local");
    assert_int_equal(PARSE("--limit-exempt", "127.0.0.0/33"), OPTS_ERROR);
    assert_contains(err, "--limit-exempt");
}

static void test_bad_origin_is_refused_naming_it(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--allowed-origins", "viewer.example.com"), OPTS_ERROR);
    assert_contains(err, "--allowed-origins");
    assert_contains(err, "viewer.example.com");
}

static void test_tls_ciphers_must_select_something(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls-ciphers", "NOT-A-CIPHER"), OPTS_ERROR);
    assert_contains(err, "--tls-ciphers");
    assert_int_equal(PARSE("--tls-ciphers", "ECDHE-RSA-AES256-GCM-SHA384"), OPTS_OK);
}

static void test_tls_min_version_is_1_2_or_1_3(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--tls-min-version", "1.3"), OPTS_OK);
    assert_string_equal(cfg.tls_min_version, "1.3");
    assert_int_equal(PARSE("--tls-min-version", "1.1"), OPTS_ERROR);
    assert_contains(err, "1.2");
}

/* ---- authentication ------------------------------------------------------ */

#define SECRET "a-secret-of-forty-bytes-for-config-tests"

static void test_defaults_are_protected_mode_with_documented_limits(void **state)
{
    (void)state;
    assert_false(cloud_config_has_auth(&cfg));
    assert_false(cfg.insecure_open);
    assert_int_equal(cfg.max_robot_pending, 64);
    assert_int_equal(cfg.max_sessions_per_identity, 32);
    assert_int_equal(cfg.auth_clock_skew, 30);
    assert_int_equal(cfg.token_grace, 30);
    const struct auth *a = cloud_config_auth(&cfg, err, sizeof err);
    assert_ptr_equal(a, &auth_open_loopback);
}

static void test_public_bind_without_auth_is_refused(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--bind", "192.0.2.1"), OPTS_ERROR);
    assert_contains(err, "--insecure-open");
    assert_int_equal(PARSE("--bind", "0.0.0.0"), OPTS_ERROR);
}

static void test_public_bind_is_allowed_with_insecure_open_or_keys(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--bind", "192.0.2.1", "--insecure-open"), OPTS_OK);
    assert_ptr_equal(cloud_config_auth(&cfg, err, sizeof err), &auth_open);
    cloud_config_defaults(&cfg);
    setenv("AUTH_SECRET", SECRET, 1);
    assert_int_equal(PARSE("--bind", "192.0.2.1"), OPTS_OK);
    const struct auth *a = cloud_config_auth(&cfg, err, sizeof err);
    assert_non_null(a);
    assert_true(a->needs_token);
    auth_free(a);
}

static void test_loopback_binds_need_no_auth(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--bind", "127.0.0.2"), OPTS_OK);
    assert_int_equal(PARSE("--bind", "::1"), OPTS_OK);
}

static void test_keys_that_do_not_load_are_refused(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--auth-secret", "short"), OPTS_ERROR);
    assert_contains(err, "authentication keys");
    assert_int_equal(PARSE("--auth-jwks", "/nonexistent/keys.jwks"), OPTS_ERROR);
}

static void test_insecure_open_with_keys_is_refused(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--auth-secret", SECRET, "--insecure-open"), OPTS_ERROR);
    assert_contains(err, "--insecure-open");
}

static void test_help_never_shows_the_secrets(void **state)
{
    (void)state;
    setenv("AUTH_SECRET", SECRET, 1);
    setenv("METRICS_TOKEN", "scraper-token-xyz", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    char *text = help_text();
    assert_contains(text, "--auth-secret");
    assert_contains(text, "--max-robot-pending");
    assert_null(strstr(text, SECRET));
    assert_null(strstr(text, "scraper-token-xyz"));
    free(text);
}

#define T(f) cmocka_unit_test_setup_teardown(f, reset, cleanup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults_listen_on_port_3001_on_all_interfaces),
        T(test_defaults_set_documented_limits),
        T(test_defaults_set_documented_timers),
        T(test_defaults_log_info_as_text),
        T(test_defaults_name_a_web_root),
        T(test_parse_without_flags_or_env_keeps_defaults),
        T(test_tls_is_off_by_default),
        T(test_tls_cert_and_key_are_taken_together),
        T(test_tls_cert_without_key_is_refused),
        T(test_tls_key_env_without_cert_is_refused),
        T(test_bind_accepts_ipv4_and_ipv6_addresses),
        T(test_bind_refuses_names_that_are_not_addresses),
        T(test_port_flag_sets_port),
        T(test_short_port_flag_sets_port),
        T(test_port_env_sets_port),
        T(test_signaling_port_env_used_when_port_unset),
        T(test_signaling_port_env_used_when_port_empty),
        T(test_port_env_wins_over_signaling_port_env),
        T(test_port_flag_wins_over_env),
        T(test_out_of_range_port_flag_names_flag_and_range),
        T(test_port_zero_is_out_of_range),
        T(test_bad_port_env_names_variable),
        T(test_max_message_accepts_k_suffix),
        T(test_max_message_env_accepts_mib_suffix),
        T(test_max_message_below_minimum_is_refused),
        T(test_ws_rx_chunk_by_flag_or_env_within_256_to_64k),
        T(test_event_loop_is_epoll_unless_poll_is_chosen),
        T(test_rate_limit_zero_turns_limit_off),
        T(test_ping_interval_env_sets_interval),
        T(test_request_timeout_flag_and_env_set_the_timeout),
        T(test_request_timeout_out_of_range_names_flag_and_range),
        T(test_max_pending_requests_flag_and_env_set_the_limit),
        T(test_max_pending_requests_out_of_range_names_variable),
        T(test_help_lists_the_robot_request_options),
        T(test_bind_and_web_root_flags_set_strings),
        T(test_log_level_flag_accepts_debug),
        T(test_unknown_log_level_lists_choices),
        T(test_log_format_env_accepts_json),
        T(test_unknown_log_format_env_is_refused),
        T(test_unknown_flag_is_an_error_naming_it),
        T(test_help_flag_returns_help),
        T(test_help_lists_port_flag_env_and_default),
        T(test_defaults_set_documented_edge_limits),
        T(test_edge_limits_from_flags_and_env),
        T(test_bad_address_lists_name_the_flag_and_item),
        T(test_bad_origin_is_refused_naming_it),
        T(test_tls_ciphers_must_select_something),
        T(test_tls_min_version_is_1_2_or_1_3),
        T(test_defaults_are_protected_mode_with_documented_limits),
        T(test_public_bind_without_auth_is_refused),
        T(test_public_bind_is_allowed_with_insecure_open_or_keys),
        T(test_loopback_binds_need_no_auth),
        T(test_keys_that_do_not_load_are_refused),
        T(test_insecure_open_with_keys_is_refused),
        T(test_help_never_shows_the_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
