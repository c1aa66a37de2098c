/* test_robot_config.c - unit tests of porthole-robot's settings: defaults,
 * flags, environment, precedence, validation and its messages, --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config_test.h"

#include "robot/config.h"

static struct robot_config cfg;
static char err[256];

/* Every variable config.h reads; cleared before each test. */
static const char *const env_vars[] = {
    "ROBOT_ID", "CLOUD_SIGNALING_URL", "ROBOT_CAMERA", "ROBOT_WIDTH", "ROBOT_HEIGHT",
    "ROBOT_FPS", "ROBOT_CODEC", "ROBOT_BITRATE", "ROBOT_STUN_SERVER", "ROBOT_TURN_SERVERS",
    "ROBOT_ICE_ALLOW", "ROBOT_RECONNECT_MIN", "ROBOT_RECONNECT_MAX", "ROBOT_PING_INTERVAL",
    "ROBOT_MAX_SESSIONS", "ROBOT_MAX_MESSAGE", "ROBOT_SESSION_TIMEOUT", "ROBOT_TLS_INSECURE",
    "ROBOT_API_PORT", "ROBOT_API_BIND", "ROBOT_API_MAX_BODY", "ROBOT_CLOUD_API", "LOG_LEVEL",
    "LOG_FORMAT", "ROBOT_TOKEN", "ROBOT_TOKEN_FILE", "ROBOT_MAX_REMOTE_CANDIDATES",
    "ROBOT_MAX_SESSIONS_PER_VIEWER", "ROBOT_API_TOKEN", "ROBOT_API_TOKEN_FILE",
    "ROBOT_API_ALLOWED_ORIGINS",
};

static void clear_env(void)
{
    config_test_clear_env(env_vars, sizeof env_vars / sizeof env_vars[0]);
}

static int reset(void **state)
{
    (void)state;
    clear_env();
    robot_config_defaults(&cfg);
    memset(err, 0, sizeof err);
    return 0;
}

static int cleanup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

/* Parses argv = "porthole-robot" followed by the NULL-terminated args. */
static enum robot_config_result parse_list(const char *const *args)
{
    char *argv[64];
    int argc = config_test_argv("porthole-robot", args, argv, 64);
    return robot_config_parse(&cfg, argc, argv, err, sizeof err);
}

/* PARSE("--fps", "15") parses "porthole-robot --fps 15"; PARSE(NULL) no flags. */
#define PARSE(...) parse_list((const char *const[]){__VA_ARGS__, NULL})


static void parse_ok_list(const char *const *args)
{
    if (parse_list(args) != ROBOT_CONFIG_OK)
        fail_msg("refused: %s", err);
}
#define PARSE_OK(...) parse_ok_list((const char *const[]){__VA_ARGS__, NULL})

/* The parse fails and err contains each needle. */
static void expect_error_list(const char *const *args, const char *const *needles)
{
    enum robot_config_result r = parse_list(args);
    if (r != ROBOT_CONFIG_ERROR)
        fail_msg("accepted (result %d), expected an error", (int)r);
    for (size_t i = 0; needles[i] != NULL; i++)
        assert_contains(err, needles[i]);
}
#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_ERROR(needles, ...) \
    expect_error_list((const char *const[]){__VA_ARGS__, NULL}, needles)

/* ---- defaults ---- */

static void test_defaults_are_documented_values(void **state)
{
    (void)state;
    PARSE_OK(NULL);
    assert_null(cfg.robot_id);
    assert_string_equal(cfg.cloud_url, "ws://localhost:3001/ws");
    assert_string_equal(cfg.camera, "sim");
    assert_int_equal(cfg.width, 640);
    assert_int_equal(cfg.height, 480);
    assert_int_equal(cfg.fps, 30);
    assert_string_equal(cfg.codec, "vp8");
    assert_int_equal(cfg.bitrate_kbps, 2000);
    assert_null(cfg.stun_server);
    assert_null(cfg.turn_servers);
    assert_null(cfg.ice_allow);
    assert_int_equal(cfg.allow.count, 0);
    assert_float_equal(cfg.backoff_initial_s, 0.5, 1e-9);
    assert_float_equal(cfg.backoff_max_s, 30, 1e-9);
    assert_int_equal(cfg.ping_interval_s, 15);
    assert_int_equal(cfg.max_sessions, 32);
    assert_int_equal(cfg.max_message, 65536);
    assert_int_equal(cfg.session_timeout_s, 30);
    assert_false(cfg.tls_insecure);
    assert_int_equal(cfg.api_port, 8000);
    assert_string_equal(cfg.api_bind, "127.0.0.1");
    assert_int_equal(cfg.api_max_body, 65536);
    assert_true(cfg.cloud_api);
    assert_int_equal(cfg.log_level, LOGL_INFO);
    assert_int_equal(cfg.log_format, LOG_FORMAT_TEXT);
    assert_null(cfg.token);
    assert_null(cfg.token_file);
    assert_int_equal(cfg.max_remote_candidates, 64);
    assert_int_equal(cfg.max_sessions_per_viewer, 8);
    assert_null(cfg.api_token);
    assert_null(cfg.api_token_file);
    assert_null(cfg.api_allowed_origins);
    assert_true(cfg.api_loopback);
}

/* ---- every flag ---- */

static void test_every_flag_sets_its_field(void **state)
{
    (void)state;
    PARSE_OK("--robot-id", "arm-7", "--cloud-url", "wss://cloud.example.com:8443/ws",
             "--camera", "sim", "--width", "1280", "--height", "720", "--fps", "60",
             "--codec", "h264", "--bitrate", "4000", "--stun-server", "stun://stun.example:3478",
             "--turn-server", "turn://u:p@turn.example:3478,turns://u:p@turn.example:5349",
             "--ice-allow", "10.0.0.0/8,::1", "--reconnect-min", "0.1", "--reconnect-max", "5",
             "--ping-interval", "7", "--max-sessions", "4", "--max-message", "1MiB",
             "--session-timeout", "12", "--tls-insecure", "--api-port", "0", "--api-bind",
             "::1", "--api-max-body", "1MiB", "--cloud-api=off", "--log-level", "debug",
             "--log-format", "json", "--token-file", "/etc/robot.jwt",
             "--max-remote-candidates", "5", "--max-sessions-per-viewer", "2",
             "--api-token-file", "/etc/api.token", "--api-allowed-origins",
             "https://ops.example.com, http://localhost:3000");
    assert_string_equal(cfg.token_file, "/etc/robot.jwt");
    assert_int_equal(cfg.max_remote_candidates, 5);
    assert_int_equal(cfg.max_sessions_per_viewer, 2);
    assert_string_equal(cfg.api_token_file, "/etc/api.token");
    assert_string_equal(cfg.api_allowed_origins, "https://ops.example.com, http://localhost:3000");
    assert_true(cfg.api_loopback); /* ::1 */
    assert_false(cfg.cloud_api);
    assert_int_equal(cfg.api_port, 0);
    assert_string_equal(cfg.api_bind, "::1");
    assert_int_equal(cfg.api_max_body, 1 << 20);
    assert_string_equal(cfg.robot_id, "arm-7");
    assert_string_equal(cfg.cloud_url, "wss://cloud.example.com:8443/ws");
    assert_int_equal(cfg.width, 1280);
    assert_int_equal(cfg.height, 720);
    assert_int_equal(cfg.fps, 60);
    assert_string_equal(cfg.codec, "h264");
    assert_int_equal(cfg.bitrate_kbps, 4000);
    assert_string_equal(cfg.stun_server, "stun://stun.example:3478");
    assert_string_equal(cfg.turn_servers,
                        "turn://u:p@turn.example:3478,turns://u:p@turn.example:5349");
    assert_string_equal(cfg.ice_allow, "10.0.0.0/8,::1");
    assert_int_equal(cfg.allow.count, 2);
    assert_int_equal(cfg.allow.entries[0].family, AF_INET);
    assert_int_equal(cfg.allow.entries[1].family, AF_INET6);
    assert_float_equal(cfg.backoff_initial_s, 0.1, 1e-9);
    assert_float_equal(cfg.backoff_max_s, 5, 1e-9);
    assert_int_equal(cfg.ping_interval_s, 7);
    assert_int_equal(cfg.max_sessions, 4);
    assert_int_equal(cfg.max_message, 1 << 20);
    assert_int_equal(cfg.session_timeout_s, 12);
    assert_true(cfg.tls_insecure);
    assert_int_equal(cfg.log_level, LOGL_DEBUG);
    assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
}

static void test_short_log_level_flag_and_equals_syntax(void **state)
{
    (void)state;
    PARSE_OK("-l", "warn", "--width=424", "--height=240", "--fps=6");
    assert_int_equal(cfg.log_level, LOGL_WARN);
    assert_int_equal(cfg.width, 424);
    assert_int_equal(cfg.height, 240);
    assert_int_equal(cfg.fps, 6);
}

/* ---- every variable ---- */

static void test_every_variable_sets_its_field(void **state)
{
    (void)state;
    setenv("ROBOT_ID", "env-robot", 1);
    setenv("CLOUD_SIGNALING_URL", "ws://[::1]:3001/ws", 1);
    setenv("ROBOT_CAMERA", "sim", 1);
    setenv("ROBOT_WIDTH", "424", 1);
    setenv("ROBOT_HEIGHT", "240", 1);
    setenv("ROBOT_FPS", "15", 1);
    setenv("ROBOT_CODEC", "h264", 1);
    setenv("ROBOT_BITRATE", "100", 1);
    setenv("ROBOT_STUN_SERVER", "stun://127.0.0.1:3478", 1);
    setenv("ROBOT_TURN_SERVERS", "turns://a:b@h:5349", 1);
    setenv("ROBOT_ICE_ALLOW", "192.168.0.0/16", 1);
    setenv("ROBOT_RECONNECT_MIN", "2", 1);
    setenv("ROBOT_RECONNECT_MAX", "60", 1);
    setenv("ROBOT_PING_INTERVAL", "3", 1);
    setenv("ROBOT_MAX_SESSIONS", "256", 1);
    setenv("ROBOT_MAX_MESSAGE", "1024", 1);
    setenv("ROBOT_SESSION_TIMEOUT", "600", 1);
    setenv("ROBOT_TLS_INSECURE", "yes", 1);
    setenv("ROBOT_API_PORT", "8080", 1);
    setenv("ROBOT_API_BIND", "*", 1);
    setenv("ROBOT_API_MAX_BODY", "2k", 1);
    setenv("ROBOT_CLOUD_API", "no", 1);
    setenv("LOG_LEVEL", "error", 1);
    setenv("LOG_FORMAT", "json", 1);
    setenv("ROBOT_TOKEN", "eyJ.robot.token", 1);
    setenv("ROBOT_MAX_REMOTE_CANDIDATES", "1024", 1);
    setenv("ROBOT_MAX_SESSIONS_PER_VIEWER", "256", 1);
    setenv("ROBOT_API_TOKEN", "0123456789abcdef", 1); /* "*" needs one */
    setenv("ROBOT_API_ALLOWED_ORIGINS", "http://[::1]:8080", 1);
    PARSE_OK(NULL);
    assert_string_equal(cfg.token, "eyJ.robot.token");
    assert_int_equal(cfg.max_remote_candidates, 1024);
    assert_int_equal(cfg.max_sessions_per_viewer, 256);
    assert_string_equal(cfg.api_token, "0123456789abcdef");
    assert_string_equal(cfg.api_allowed_origins, "http://[::1]:8080");
    assert_false(cfg.api_loopback);
    assert_string_equal(cfg.robot_id, "env-robot");
    assert_string_equal(cfg.cloud_url, "ws://[::1]:3001/ws");
    assert_int_equal(cfg.width, 424);
    assert_int_equal(cfg.height, 240);
    assert_int_equal(cfg.fps, 15);
    assert_string_equal(cfg.codec, "h264");
    assert_int_equal(cfg.bitrate_kbps, 100);
    assert_string_equal(cfg.stun_server, "stun://127.0.0.1:3478");
    assert_string_equal(cfg.turn_servers, "turns://a:b@h:5349");
    assert_int_equal(cfg.allow.count, 1);
    assert_float_equal(cfg.backoff_initial_s, 2, 1e-9);
    assert_float_equal(cfg.backoff_max_s, 60, 1e-9);
    assert_int_equal(cfg.ping_interval_s, 3);
    assert_int_equal(cfg.max_sessions, 256);
    assert_int_equal(cfg.max_message, 1024);
    assert_int_equal(cfg.session_timeout_s, 600);
    assert_true(cfg.tls_insecure);
    assert_int_equal(cfg.api_port, 8080);
    assert_string_equal(cfg.api_bind, ""); /* "*": every interface */
    assert_int_equal(cfg.api_max_body, 2048);
    assert_false(cfg.cloud_api);
    assert_int_equal(cfg.log_level, LOGL_ERROR);
    assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
}

static void test_flag_wins_over_variable(void **state)
{
    (void)state;
    setenv("ROBOT_ID", "from-env", 1);
    setenv("ROBOT_FPS", "15", 1);
    setenv("ROBOT_TLS_INSECURE", "true", 1);
    setenv("LOG_LEVEL", "debug", 1);
    PARSE_OK("--robot-id", "from-flag", "--fps", "60", "--tls-insecure=false", "--log-level",
             "warn");
    assert_string_equal(cfg.robot_id, "from-flag");
    assert_int_equal(cfg.fps, 60);
    assert_false(cfg.tls_insecure);
    assert_int_equal(cfg.log_level, LOGL_WARN);
}

static void test_empty_variable_is_ignored(void **state)
{
    (void)state;
    setenv("ROBOT_STUN_SERVER", "", 1);
    setenv("ROBOT_FPS", "", 1);
    PARSE_OK(NULL);
    assert_null(cfg.stun_server);
    assert_int_equal(cfg.fps, 30);
}

static void test_empty_flag_values_mean_none_for_optional_servers(void **state)
{
    (void)state;
    PARSE_OK("--stun-server=", "--turn-server=", "--ice-allow=");
    assert_null(cfg.stun_server);
    assert_null(cfg.turn_servers);
    assert_null(cfg.ice_allow);
    assert_int_equal(cfg.allow.count, 0);
}

/* ---- validation ---- */

static void test_cloud_url_must_be_a_websocket_url(void **state)
{
    (void)state;
    const char *const bad[] = {
        "http://cloud:3001/ws", "cloud:3001", "ws://", "ws:///ws", "ws://host:0/ws",
        "ws://host:65536/ws", "ws://host:/ws", "ws://host:12ab/ws", "ws://ho st/ws",
        "ws://user@host/ws", "ws://[]:80/", "ws://[zz::1]/", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reset(NULL);
        EXPECT_ERROR(NEEDLES("--cloud-url: '", "is not a WebSocket URL", "ws://HOST[:PORT]",
                             "wss://"),
                     "--cloud-url", bad[i]);
    }
    const char *const good[] = {
        "ws://localhost", "ws://127.0.0.1:3001", "wss://cloud.example.com/ws",
        "ws://[::1]:65535/ws", "ws://host:1/a/b?token=x", "WSS://bad-case-is-refused",
    };
    for (size_t i = 0; i < 5; i++) {
        reset(NULL);
        PARSE_OK("--cloud-url", good[i]);
        assert_string_equal(cfg.cloud_url, good[i]);
    }
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--cloud-url: 'WSS://"), "--cloud-url", good[5]);
}

static void test_cloud_url_error_names_the_variable_when_it_came_from_there(void **state)
{
    (void)state;
    setenv("CLOUD_SIGNALING_URL", "http://x/ws", 1);
    EXPECT_ERROR(NEEDLES("CLOUD_SIGNALING_URL: 'http://x/ws' is not a WebSocket URL"), NULL);
}

static void test_robot_id_syntax(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("--robot-id: 'bad id' is not a robot id",
                         "1 to 64 characters of A-Z a-z 0-9 . _ : @ -"),
                 "--robot-id", "bad id");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--robot-id: '' is not a robot id"), "--robot-id=");
    char long_id[66];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--robot-id:", "is not a robot id"), "--robot-id", long_id);
    long_id[64] = '\0';
    reset(NULL);
    PARSE_OK("--robot-id", long_id);
    reset(NULL);
    PARSE_OK("--robot-id", "Az09._:@-");
    reset(NULL);
    setenv("ROBOT_ID", "r/1", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_ID: 'r/1' is not a robot id"), NULL);
}

static void test_unsupported_resolution_names_the_supported_ones(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("--width and --height: 800x600 is not a supported resolution",
                         "640x480, 1280x720, 424x240"),
                 "--width", "800", "--height", "600");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("640x720 is not a supported resolution"), "--height", "720");
    reset(NULL);
    setenv("ROBOT_WIDTH", "1280", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_WIDTH and --height: 1280x480"), NULL);
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--width: '0' is out of range"), "--width", "0");
}

static void test_unsupported_fps_names_the_supported_ones(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("--fps: '25' is not a supported frame rate (6, 15, 30 or 60)"),
                 "--fps", "25");
    reset(NULL);
    setenv("ROBOT_FPS", "24", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_FPS: '24' is not a supported frame rate"), NULL);
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--fps: 'fast' is not an integer"), "--fps", "fast");
}

static void test_codec_and_camera_choices(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("--codec: 'av1' is not one of vp8, h264"), "--codec", "av1");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--camera: unknown camera backend 'realsense9' (known: sim"), "--camera",
                 "realsense9");
    reset(NULL);
    setenv("ROBOT_CODEC", "VP8", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_CODEC: 'VP8' is not one of vp8, h264"), NULL);
}

static void test_camera_specs_are_checked_and_a_source_sets_its_own_mode(void **state)
{
    (void)state;
    /* A source-decided camera takes any --width/--height/--fps. */
    PARSE_OK("--camera", "gst:videotestsrc ! video/x-raw,width=320,height=240", "--width",
             "800", "--height", "600", "--fps", "25");
    assert_string_equal(cfg.camera, "gst:videotestsrc ! video/x-raw,width=320,height=240");
    reset(NULL);
    PARSE_OK("--camera", "rtsp://user:pw@10.0.0.9/stream");
    reset(NULL);
    setenv("ROBOT_CAMERA", "v4l2:/dev/video0", 1);
    PARSE_OK(NULL);
    assert_string_equal(cfg.camera, "v4l2:/dev/video0");
    reset(NULL);
    /* The simulator keeps its modes. */
    EXPECT_ERROR(NEEDLES("is not a supported resolution"), "--camera", "sim", "--width", "800",
                 "--height", "600");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--camera: camera 'gst:' is not of the form gst:PIPELINE"), "--camera",
                 "gst:");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--camera: camera 'rtsp:...' is not of the form rtsp://URL"),
                 "--camera", "rtsp:user:pw@host");
    reset(NULL);
    setenv("ROBOT_CAMERA", "sim:fast", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_CAMERA: camera 'sim:fast' is not of the form sim"), NULL);
}

static void test_numeric_ranges(void **state)
{
    (void)state;
    /* Each flag with a value just outside its range, and the error it gets. */
    static const struct { const char *flag, *value, *error; } cases[] = {
        {"--bitrate", "99", "--bitrate: '99' is out of range 100..50000"},
        {"--ping-interval", "0", "--ping-interval: '0' is out of range 1..3600"},
        {"--max-sessions", "257", "--max-sessions: '257' is out of range 1..256"},
        {"--max-message", "512", "--max-message: '512' is out of range 1KiB..16MiB"},
        {"--session-timeout", "601", "--session-timeout: '601' is out of range 1..600"},
        {"--reconnect-min", "0.001", "--reconnect-min: '0.001' is out of range 0.01..60"},
        {"--reconnect-max", "4000", "--reconnect-max: '4000' is out of range 0.01..3600"},
        {"--api-port", "65536", "--api-port: '65536' is out of range 0..65535"},
        {"--api-max-body", "100", "--api-max-body: '100' is out of range 1KiB..16MiB"},
        {"--api-bind", "localhost", "--api-bind: 'localhost' is not an IPv4 or IPv6 address"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reset(NULL);
        EXPECT_ERROR(NEEDLES(cases[i].error), cases[i].flag, cases[i].value);
    }
    reset(NULL);
    setenv("ROBOT_API_BIND", "10.0.0.300", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_API_BIND: '10.0.0.300' is not an IPv4 or IPv6 address"), NULL);
    reset(NULL);
    setenv("ROBOT_TLS_INSECURE", "maybe", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_TLS_INSECURE: 'maybe' is not a boolean"), NULL);
}

static void test_backoff_min_must_not_exceed_max(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("--reconnect-min: 10 is more than --reconnect-max 5"),
                 "--reconnect-min", "10", "--reconnect-max", "5");
    reset(NULL);
    setenv("ROBOT_RECONNECT_MIN", "40", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_RECONNECT_MIN: 40 is more than --reconnect-max 30"), NULL);
    reset(NULL);
    PARSE_OK("--reconnect-min", "5", "--reconnect-max", "5");
}

static void test_ice_allow_errors_name_the_item(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("--ice-allow: 'wifi0' is not an IPv4 or IPv6 address"), "--ice-allow",
                 "10.0.0.0/8,wifi0");
    reset(NULL);
    setenv("ROBOT_ICE_ALLOW", "10.0.0.0/40", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_ICE_ALLOW: '10.0.0.0/40': prefix length must be 0..32"), NULL);
}

static void test_stun_and_turn_schemes(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("--stun-server: 'turn://x:3478' is not a STUN server (stun://HOST:PORT)"),
                 "--stun-server", "turn://x:3478");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--stun-server: 'stun://' is not a STUN server"), "--stun-server",
                 "stun://");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--stun-server:", "is not a STUN server"), "--stun-server",
                 "stun://a:1,stun://b:2");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--turn-server: 'stun://h:3478' is not a TURN server",
                         "turn://USER:PASS@HOST:PORT or turns://"),
                 "--turn-server", "turn://u:p@a:3478,stun://h:3478");
    reset(NULL);
    setenv("ROBOT_TURN_SERVERS", "turn://u:p@a:3478,,", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_TURN_SERVERS: '' is not a TURN server"), NULL);
    reset(NULL);
    PARSE_OK("--turn-server", " turn://u:p@a:3478 , turns://u:p@b:5349 ");
}

/* ---- who may reach the robot ---- */

static void test_an_api_beyond_loopback_needs_a_token(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("--api-bind: '0.0.0.0' makes the REST API reachable beyond this host",
                         "--api-token, ROBOT_API_TOKEN or --api-token-file"),
                 "--api-bind", "0.0.0.0");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--api-bind: '*'"), "--api-bind", "*");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("'192.168.1.5'"), "--api-bind", "192.168.1.5");
    reset(NULL);
    PARSE_OK("--api-bind", "0.0.0.0", "--api-token", "0123456789abcdef");
    assert_false(cfg.api_loopback);
    reset(NULL);
    PARSE_OK("--api-bind", "192.168.1.5", "--api-token-file", "/run/api.token");
    reset(NULL);
    PARSE_OK("--api-bind", "0.0.0.0", "--api-port", "0"); /* no API: nothing to guard */
    reset(NULL);
    static const char *const loopbacks[] = {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"};
    for (size_t i = 0; i < sizeof loopbacks / sizeof loopbacks[0]; i++) {
        reset(NULL);
        PARSE_OK("--api-bind", loopbacks[i]);
        assert_true(cfg.api_loopback);
    }
}

static void test_tokens_come_one_way_and_are_never_quoted(void **state)
{
    (void)state;
    setenv("ROBOT_TOKEN", "secret-robot-token", 1);
    EXPECT_ERROR(NEEDLES("--token-file and ROBOT_TOKEN are both set"), "--token-file", "/x");
    assert_null(strstr(err, "secret-robot-token"));
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--api-token and --api-token-file are both set"), "--api-token",
                 "0123456789abcdef", "--api-token-file", "/x");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("--api-token: the token is 5 characters; at least 16 are required"),
                 "--api-token", "short");
    assert_null(strstr(err, "short'"));
    reset(NULL);
    setenv("ROBOT_API_TOKEN", "tiny", 1);
    EXPECT_ERROR(NEEDLES("ROBOT_API_TOKEN: the token is 4 characters"), NULL);
    reset(NULL);
    setenv("ROBOT_TOKEN", "", 1); /* empty: none */
    PARSE_OK("--token-file", "/x");
    assert_null(cfg.token);
}

static void test_allowed_origins_are_origins(void **state)
{
    (void)state;
    static const char *const bad[] = {"example.com", "https://example.com/", "ftp://x",
                                      "https://", "http://a b", "https://x:123456",
                                      "https://x/path", "null", "http://[::1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reset(NULL);
        EXPECT_ERROR(NEEDLES("--api-allowed-origins:", "is not an origin"),
                     "--api-allowed-origins", bad[i]);
    }
    reset(NULL);
    PARSE_OK("--api-allowed-origins", "https://a.example:8443,http://127.0.0.1:3000");
}

static void test_unknown_flag_and_positional_argument_are_errors(void **state)
{
    (void)state;
    EXPECT_ERROR(NEEDLES("unknown option '--robotid'"), "--robotid", "x");
    reset(NULL);
    EXPECT_ERROR(NEEDLES("unexpected argument 'extra'"), "extra");
}

/* ---- --help and --version ---- */

static void test_help_and_version_are_reported(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--help"), ROBOT_CONFIG_HELP);
    reset(NULL);
    assert_int_equal(PARSE("-h"), ROBOT_CONFIG_HELP);
    reset(NULL);
    assert_int_equal(PARSE("--version"), ROBOT_CONFIG_VERSION);
    reset(NULL);
    setenv("ROBOT_FPS", "bad", 1); /* help works even with a bad environment */
    assert_int_equal(PARSE("--help"), ROBOT_CONFIG_HELP);
}

static void test_help_lists_flags_variables_and_defaults(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    robot_config_help(f, &cfg);
    fclose(f);
    assert_contains(text, "porthole-robot [OPTIONS]");
    assert_contains(text, "--cloud-url URL");
    assert_contains(text, "CLOUD_SIGNALING_URL");
    assert_contains(text, "default ws://localhost:3001/ws");
    assert_contains(text, "--robot-id ID");
    assert_contains(text, "ROBOT_ID");
    assert_contains(text, "--reconnect-min SECONDS");
    assert_contains(text, "default 0.5");
    assert_contains(text, "one of vp8, h264; default vp8");
    assert_contains(text, "one of error, warn, info, debug; default info");
    assert_contains(text, "--tls-insecure");
    assert_contains(text, "ROBOT_TURN_SERVERS");
    assert_contains(text, "--version");
    free(text);
}

static void test_help_shows_the_given_defaults(void **state)
{
    (void)state;
    cfg.log_level = LOGL_DEBUG;
    cfg.fps = 60;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    robot_config_help(f, &cfg);
    fclose(f);
    assert_contains(text, "default debug");
    assert_contains(text, "1..1000; default 60");
    free(text);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, reset, cleanup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults_are_documented_values),
        T(test_every_flag_sets_its_field),
        T(test_short_log_level_flag_and_equals_syntax),
        T(test_every_variable_sets_its_field),
        T(test_flag_wins_over_variable),
        T(test_empty_variable_is_ignored),
        T(test_empty_flag_values_mean_none_for_optional_servers),
        T(test_cloud_url_must_be_a_websocket_url),
        T(test_cloud_url_error_names_the_variable_when_it_came_from_there),
        T(test_robot_id_syntax),
        T(test_unsupported_resolution_names_the_supported_ones),
        T(test_unsupported_fps_names_the_supported_ones),
        T(test_codec_and_camera_choices),
        T(test_camera_specs_are_checked_and_a_source_sets_its_own_mode),
        T(test_numeric_ranges),
        T(test_backoff_min_must_not_exceed_max),
        T(test_ice_allow_errors_name_the_item),
        T(test_stun_and_turn_schemes),
        T(test_an_api_beyond_loopback_needs_a_token),
        T(test_tokens_come_one_way_and_are_never_quoted),
        T(test_allowed_origins_are_origins),
        T(test_unknown_flag_and_positional_argument_are_errors),
        T(test_help_and_version_are_reported),
        T(test_help_lists_flags_variables_and_defaults),
        T(test_help_shows_the_given_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
