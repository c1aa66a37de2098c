/* test_cloud_http.c - porthole-cloud's HTTP side: /health, /robots, static
 * files and their content types, path escapes, methods, slow requests,
 * upgrades on the wrong path, and a clean exit on SIGTERM/SIGINT.
 *
 * Static files come from a temporary web root made by the group setup:
 *
 *   <tmp>/CMakeLists.txt, <tmp>/x, <tmp>/secret.txt   outside: never served
 *   <tmp>/root/                                       --web-root
 *     index.html app.js style.css data.json img.png pic.svg sub/page.html
 *     hostname-link -> /etc/hostname   up-link -> ../secret.txt   dir-link -> ..
 */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wsclient.h"

#define OUTSIDE_MARK "OUTSIDE-SECRET-7f3a"

static char tmp_dir[64];
static char web_root[128];

static const char index_html[] = "<!doctype html><title>porthole test index</title>\n";
static const char app_js[] = "export const answer = 42;\n";
static const char style_css[] = "body { color: #123456; }\n";
static const char data_json[] = "{\"hello\":\"world\"}\n";
static const char pic_svg[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"></svg>\n";
static const char page_html[] = "<p>sub page</p>\n";
/* A 1x1 PNG: binary, with NUL bytes, to check the body byte for byte. */
static const unsigned char img_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
    0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
    0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
    0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

/* ---- fixtures ---- */

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

static int make_link(const char *target, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", web_root, name);
    return symlink(target, path);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/porthole-http-XXXXXX");
    if (!mkdtemp(tmp_dir))
        return -1;
    snprintf(web_root, sizeof web_root, "%s/root", tmp_dir);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", web_root);
    const char outside[] = "cmake_minimum_required(VERSION 3.20) " OUTSIDE_MARK "\n";
    if (mkdir(web_root, 0755) != 0 || mkdir(sub, 0755) != 0 ||
        write_file(tmp_dir, "CMakeLists.txt", outside, sizeof outside - 1) != 0 ||
        write_file(tmp_dir, "x", outside, sizeof outside - 1) != 0 ||
        write_file(tmp_dir, "secret.txt", outside, sizeof outside - 1) != 0 ||
        write_file(web_root, "index.html", index_html, sizeof index_html - 1) != 0 ||
        write_file(web_root, "app.js", app_js, sizeof app_js - 1) != 0 ||
        write_file(web_root, "style.css", style_css, sizeof style_css - 1) != 0 ||
        write_file(web_root, "data.json", data_json, sizeof data_json - 1) != 0 ||
        write_file(web_root, "pic.svg", pic_svg, sizeof pic_svg - 1) != 0 ||
        write_file(web_root, "img.png", img_png, sizeof img_png) != 0 ||
        write_file(sub, "page.html", page_html, sizeof page_html - 1) != 0 ||
        make_link("/etc/hostname", "hostname-link") != 0 ||
        make_link("../secret.txt", "up-link") != 0 || make_link("..", "dir-link") != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    const char *files[] = {"root/sub/page.html", "root/sub", "root/index.html",
                           "root/app.js", "root/style.css", "root/data.json",
                           "root/pic.svg", "root/img.png", "root/hostname-link",
                           "root/up-link", "root/dir-link", "root", "CMakeLists.txt",
                           "x", "secret.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, files[i]);
        if (unlink(path) != 0)
            rmdir(path);
    }
    return rmdir(tmp_dir) == 0 ? 0 : -1;
}

static const char *const temp_root_args[] = {"--web-root", web_root, NULL};
static const char *const slow_http_args[] = {"--web-root", web_root, "--http-timeout", "2", NULL};

static struct harness_fixture fx_temp_root = {.args = temp_root_args};
static struct harness_fixture fx_real_root = {.args = NULL};
static struct harness_fixture fx_slow_http = {.args = slow_http_args};

/* ---- helpers ---- */

/* GETs path and checks status, and (when want_type is not NULL) that the
 * Content-Type starts with want_type and the body is want_body exactly. */
static void check_file(int port, const char *path, const char *want_type, const void *want_body,
                       size_t want_len)
{
    struct http_response r;
    if (http_get(port, path, &r) != 0)
        fail_msg("GET %s: no HTTP response", path);
    char *ct = http_header(&r, "Content-Type");
    char why[256] = "";
    if (r.status != 200)
        snprintf(why, sizeof why, "HTTP %d, expected 200", r.status);
    else if (!ct || strncasecmp(ct, want_type, strlen(want_type)) != 0)
        snprintf(why, sizeof why, "Content-Type '%s', expected '%s'", ct ? ct : "(none)",
                 want_type);
    else if (r.body_len != want_len || memcmp(r.body, want_body, want_len) != 0)
        snprintf(why, sizeof why, "body of %zu bytes differs from the file (%zu bytes)",
                 r.body_len, want_len);
    free(ct);
    http_response_free(&r);
    if (why[0])
        fail_msg("GET %s: %s", path, why);
}

/* GETs path: must be 404 and the body must hold nothing from outside the
 * web root (neither our marker nor the machine's hostname file). */
static void check_not_served(int port, const char *path, const char *forbidden)
{
    struct http_response r;
    if (http_get(port, path, &r) != 0)
        fail_msg("GET %s: no HTTP response (expected 404)", path);
    char why[512] = "";
    if (strstr(r.body, OUTSIDE_MARK) || strstr(r.body, "cmake_minimum_required") ||
        (forbidden && *forbidden && strstr(r.body, forbidden)))
        snprintf(why, sizeof why, "HTTP %d, body leaks a file outside the web root: %.200s",
                 r.status, r.body);
    else if (r.status != 404)
        snprintf(why, sizeof why, "HTTP %d, expected 404 (body: %.200s)", r.status, r.body);
    http_response_free(&r);
    if (why[0])
        fail_msg("GET %s: %s", path, why);
}

static long int_field(const json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_integer(v))
        fail_msg("field '%s' is not an integer", key);
    return (long)json_integer_value(v);
}

static json_t *get_robots(int port)
{
    struct http_response r;
    assert_int_equal(http_get(port, "/robots", &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    if (!json_is_array(j))
        fail_msg("/robots is not a JSON array: %s", r.body);
    http_response_free(&r);
    return j;
}

/* ---- /health ---- */

static void test_health_reports_every_field_on_a_fresh_server(void **state)
{
    int port = harness_port(state);
    struct http_response r;
    assert_int_equal(http_get(port, "/health", &r), 0);
    assert_int_equal(r.status, 200);
    char *ct = http_header(&r, "Content-Type");
    assert_non_null(ct);
    assert_true(strncasecmp(ct, "application/json", 16) == 0);
    free(ct);
    json_t *h = json_loads(r.body, 0, NULL);
    assert_true(json_is_object(h));
    harness_assert_str(h, "status", "ok");
    harness_assert_str(h, "version", "0.1.0");
    assert_true(harness_is_recent_iso8601(json_string_value(json_object_get(h, "timestamp")), 60));
    assert_int_equal(int_field(h, "robots"), 0);
    assert_int_equal(int_field(h, "clients"), 0);
    assert_int_equal(int_field(h, "sessions"), 0);
    json_t *up = json_object_get(h, "uptimeSeconds");
    assert_true(json_is_number(up));
    assert_true(json_number_value(up) >= 0 && json_number_value(up) < 60);
    json_decref(h);
    http_response_free(&r);
}

static void test_health_uptime_grows(void **state)
{
    int port = harness_port(state);
    json_t *h1 = harness_health(port);
    double up1 = json_number_value(json_object_get(h1, "uptimeSeconds"));
    struct wsc *idle = wsc_connect(port, "/ws", HARNESS_WAIT_MS); /* waits while answering pings */
    assert_non_null(idle);
    assert_true(wsc_expect_silence(idle, 1100));
    json_t *h2 = harness_health(port);
    double up2 = json_number_value(json_object_get(h2, "uptimeSeconds"));
    assert_true(up2 >= up1 + 1);
    json_decref(h1);
    json_decref(h2);
    wsc_close(idle);
}

static void test_health_counts_robots_clients_and_sessions(void **state)
{
    int port = harness_port(state);
    struct wsc *unregistered = wsc_connect(port, "/ws", HARNESS_WAIT_MS);
    assert_non_null(unregistered);
    harness_wait_count(port, "robots", 0, 0);
    harness_wait_count(port, "clients", 0, 0);

    struct wsc *robot = harness_robot(port, "robot-h", NULL);
    json_t *h = harness_health(port);
    assert_int_equal(int_field(h, "robots"), 1);
    assert_int_equal(int_field(h, "clients"), 0);
    json_decref(h);

    struct wsc *client = harness_client(port, "viewer-h", NULL);
    h = harness_health(port);
    assert_int_equal(int_field(h, "robots"), 1);
    assert_int_equal(int_field(h, "clients"), 1);
    assert_int_equal(int_field(h, "sessions"), 0);
    json_decref(h);

    char *sid = harness_open_session(client, robot, "robot-h");
    h = harness_health(port);
    assert_int_equal(int_field(h, "sessions"), 1);
    json_decref(h);

    wsc_close(client);
    harness_wait_count(port, "clients", 0, HARNESS_WAIT_MS);
    harness_wait_count(port, "sessions", 0, HARNESS_WAIT_MS);
    wsc_close(robot);
    harness_wait_count(port, "robots", 0, HARNESS_WAIT_MS);
    free(sid);
    wsc_close(unregistered);
}

/* ---- /robots ---- */

static void test_robots_is_empty_without_robots(void **state)
{
    json_t *robots = get_robots(harness_port(state));
    assert_int_equal(json_array_size(robots), 0);
    json_decref(robots);
}

static void test_robots_lists_id_device_info_connected_at_and_sessions(void **state)
{
    int port = harness_port(state);
    const char *info = "{\"name\":\"Intel RealSense D435\",\"serial\":\"123\"}";
    struct wsc *robot = harness_robot(port, "robot-123", info);
    json_t *available = NULL;
    struct wsc *client = harness_client(port, NULL, &available);

    json_t *robots = get_robots(port);
    assert_int_equal(json_array_size(robots), 1);
    json_t *r = json_array_get(robots, 0);
    harness_assert_str(r, "robotId", "robot-123");
    json_t *want_info = json_loads(info, 0, NULL);
    assert_true(json_equal(json_object_get(r, "deviceInfo"), want_info));
    const char *at = json_string_value(json_object_get(r, "connectedAt"));
    assert_true(harness_is_recent_iso8601(at, 60));
    /* the same robot, the same instant, in the client's list */
    json_t *listed = json_array_get(json_object_get(available, "robots"), 0);
    harness_assert_str(listed, "connectedAt", at);
    assert_int_equal(int_field(r, "sessions"), 0);
    json_decref(robots);

    char *sid = harness_open_session(client, robot, "robot-123");
    robots = get_robots(port);
    assert_int_equal(int_field(json_array_get(robots, 0), "sessions"), 1);
    json_decref(robots);

    free(sid);
    json_decref(want_info);
    json_decref(available);
    wsc_close(client);
    wsc_close(robot);
}

static void test_robots_forgets_a_disconnected_robot(void **state)
{
    int port = harness_port(state);
    struct wsc *a = harness_robot(port, "robot-a", NULL);
    struct wsc *b = harness_robot(port, "robot-b", "{\"k\":1}");
    json_t *robots = get_robots(port);
    assert_int_equal(json_array_size(robots), 2);
    json_decref(robots);
    wsc_close(a);
    harness_wait_count(port, "robots", 1, HARNESS_WAIT_MS);
    robots = get_robots(port);
    assert_int_equal(json_array_size(robots), 1);
    harness_assert_str(json_array_get(robots, 0), "robotId", "robot-b");
    json_decref(robots);
    wsc_close(b);
}

/* ---- /metrics ---- */

/* Returns the value of the first sample in Prometheus text whose line
 * (name and labels) contains all of the given fragments, or -1. */
static double metric_value(const char *text, const char *frag1, const char *frag2)
{
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char buf[512];
        if (len < sizeof buf && line[0] != '#') {
            memcpy(buf, line, len);
            buf[len] = '\0';
            char *sp = strrchr(buf, ' ');
            if (sp) {
                *sp = '\0';
                if (strstr(buf, frag1) && (!frag2 || strstr(buf, frag2)))
                    return strtod(sp + 1, NULL);
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return -1;
}

static void test_metrics_count_peers_relays_and_errors_in_prometheus_text(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-m", NULL);
    struct wsc *client = harness_client(port, "viewer-m", NULL);
    char *sid = harness_open_session(client, robot, "robot-m");
    assert_int_equal(wsc_sendf(robot, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\","
                                      "\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}", sid), 0);
    json_decref(harness_expect_next(client, "webrtc-offer"));
    assert_int_equal(wsc_send_text(client, "{\"type\":\"no-such-type\"}"), 0);
    json_t *err = harness_expect_next(client, "error");
    harness_assert_str(err, "code", "unknown-type");
    json_decref(err);

    struct http_response r;
    assert_int_equal(http_get(port, "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    char *ct = http_header(&r, "Content-Type");
    assert_non_null(ct);
    assert_true(strncasecmp(ct, "text/plain", 10) == 0);
    free(ct);
    /* every sample line is "name[{labels}] value" */
    for (const char *line = r.body; line && *line;) {
        const char *eol = strchr(line, '\n');
        if (line[0] != '#' && line[0] != '\n') {
            const char *sp = memchr(line, ' ', eol ? (size_t)(eol - line) : strlen(line));
            if (!sp || !((line[0] >= 'a' && line[0] <= 'z') || (line[0] >= 'A' && line[0] <= 'Z') ||
                         line[0] == '_'))
                fail_msg("not a Prometheus sample: %.80s", line);
        }
        line = eol ? eol + 1 : NULL;
    }
    assert_true(metric_value(r.body, "robots", NULL) == 1);
    assert_true(metric_value(r.body, "clients", NULL) == 1);
    assert_true(metric_value(r.body, "sessions", NULL) >= 1);
    assert_true(metric_value(r.body, "relayed", NULL) >= 1);
    assert_true(metric_value(r.body, "error", "unknown-type") >= 1);
    http_response_free(&r);
    free(sid);
    wsc_close(client);
    wsc_close(robot);
}

/* ---- static files ---- */

static void test_root_serves_index_html_as_text_html(void **state)
{
    check_file(harness_port(state), "/", "text/html", index_html, sizeof index_html - 1);
}

static void test_index_html_by_name_is_text_html(void **state)
{
    check_file(harness_port(state), "/index.html", "text/html", index_html,
               sizeof index_html - 1);
}

static void test_js_is_served_as_text_javascript(void **state)
{
    check_file(harness_port(state), "/app.js", "text/javascript", app_js, sizeof app_js - 1);
}

static void test_css_is_served_as_text_css(void **state)
{
    check_file(harness_port(state), "/style.css", "text/css", style_css, sizeof style_css - 1);
}

static void test_json_is_served_as_application_json(void **state)
{
    check_file(harness_port(state), "/data.json", "application/json", data_json,
               sizeof data_json - 1);
}

static void test_png_is_served_byte_for_byte_as_image_png(void **state)
{
    check_file(harness_port(state), "/img.png", "image/png", img_png, sizeof img_png);
}

static void test_svg_is_served_as_image_svg_xml(void **state)
{
    check_file(harness_port(state), "/pic.svg", "image/svg+xml", pic_svg, sizeof pic_svg - 1);
}

static void test_file_in_subdirectory_is_served(void **state)
{
    check_file(harness_port(state), "/sub/page.html", "text/html", page_html,
               sizeof page_html - 1);
}

static void test_missing_file_is_404(void **state)
{
    int port = harness_port(state);
    check_not_served(port, "/no-such-file.html", NULL);
    check_not_served(port, "/sub/missing.js", NULL);
}

static void test_dotdot_paths_are_404(void **state)
{
    int port = harness_port(state);
    const char *paths[] = {
        "/../CMakeLists.txt",        "/%2e%2e/CMakeLists.txt", "/%2E%2E%2FCMakeLists.txt",
        "/a/../../x",                "/sub/../../secret.txt",  "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",      "/./../secret.txt",       "/sub/%2e%2e/%2e%2e/x",
        "/..%5csecret.txt",          "/.%2e/secret.txt",       "/%252e%252e/secret.txt",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        check_not_served(port, paths[i], NULL);
}

static void test_dotdot_segments_inside_the_root_resolve_like_a_browser(void **state)
{
    /* PROTOCOL.md: paths are normalized before lookup, as a browser does;
     * a ".." that stays inside the root names the file it leads to. */
    int port = harness_port(state);
    check_file(port, "/sub/../index.html", "text/html", index_html, sizeof index_html - 1);
    check_file(port, "/sub/%2e%2e/index.html", "text/html", index_html, sizeof index_html - 1);
}

/* GETs path: the request must be refused with 404 or by closing the
 * connection without a response; nothing may be served. */
static void check_refused(int port, const char *path)
{
    struct http_response r;
    if (http_get(port, path, &r) != 0)
        return; /* refused by closing: nothing served */
    int status = r.status;
    http_response_free(&r);
    if (status != 404)
        fail_msg("GET %s: HTTP %d, expected 404 or a closed connection", path, status);
}

static void test_encoded_nul_ends_the_path(void **state)
{
    /* libwebsockets cuts a trailing %00 off the path: "/%00" is "/". */
    check_file(harness_port(state), "/%00", "text/html", index_html, sizeof index_html - 1);
}

static void test_encoded_nul_after_a_file_name_is_refused(void **state)
{
    int port = harness_port(state);
    check_refused(port, "/index.html%00");
    check_refused(port, "/index.html%00.png");
    check_refused(port, "/a%00b");
}

static void test_symlinks_leading_outside_the_root_are_404(void **state)
{
    int port = harness_port(state);
    char hostname[256] = "";
    FILE *f = fopen("/etc/hostname", "r");
    if (f) {
        if (!fgets(hostname, sizeof hostname, f))
            hostname[0] = '\0';
        hostname[strcspn(hostname, "\n")] = '\0';
        fclose(f);
    }
    check_not_served(port, "/hostname-link", hostname);
    check_not_served(port, "/up-link", NULL);
    check_not_served(port, "/dir-link/secret.txt", NULL);
    check_not_served(port, "/dir-link/CMakeLists.txt", NULL);
}

static void test_real_web_root_never_serves_repository_files(void **state)
{
    int port = harness_port(state);
    const char *paths[] = {"/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt",
                           "/%2E%2E%2FCMakeLists.txt", "/a/../../CMakeLists.txt",
                           "/../docs/PROTOCOL.md", "/web/../CMakeLists.txt"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        assert_int_equal(http_get(port, paths[i], &r), 0);
        if (r.status != 404 || strstr(r.body, "cmake_minimum_required") ||
            strstr(r.body, "wire protocol"))
            fail_msg("GET %s: HTTP %d, expected 404 and no repository file", paths[i],
                     r.status);
        http_response_free(&r);
    }
}

/* ---- methods, slow requests, upgrades ---- */

static void test_post_is_405(void **state)
{
    int port = harness_port(state);
    const char *paths[] = {"/health", "/", "/robots"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        assert_int_equal(http_request(port, "POST", paths[i],
                                      "Content-Type: application/json\r\n", "{}", 5000, &r),
                         0);
        if (r.status != 405)
            fail_msg("POST %s: HTTP %d, expected 405", paths[i], r.status);
        http_response_free(&r);
    }
}

static void test_incomplete_request_headers_are_closed_after_http_timeout(void **state)
{
    int port = harness_port(state);
    int fd = wsc_raw_connect(port, HARNESS_WAIT_MS);
    assert_true(fd >= 0);
    const char partial[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    assert_int_equal(wsc_raw_send(fd, partial, sizeof partial - 1, 1000), 0);
    int waited = wsc_raw_wait_closed(fd, 2000 + 3000);
    close(fd);
    if (waited < 0)
        fail_msg("a request without the end of its headers was still open after 5 s "
                 "(--http-timeout 2)");
    assert_true(waited >= 1000); /* closed by the timeout, not at once */
}

static void test_silent_tcp_connection_is_closed_after_http_timeout(void **state)
{
    int port = harness_port(state);
    int fd = wsc_raw_connect(port, HARNESS_WAIT_MS);
    assert_true(fd >= 0);
    int waited = wsc_raw_wait_closed(fd, 2000 + 3000);
    close(fd);
    if (waited < 0)
        fail_msg("a connection that sent nothing was still open after 5 s (--http-timeout 2)");
    assert_true(waited >= 1000);
}

static void test_websocket_outlives_the_http_timeout(void **state)
{
    /* --http-timeout 2 is for requests that never complete; an established
     * WebSocket that stays quiet for longer must stay open. */
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "quiet-robot", NULL);
    assert_true(wsc_expect_silence(robot, 4500));
    json_t *robots = get_robots(port);
    assert_int_equal(json_array_size(robots), 1);
    json_decref(robots);
    wsc_close(robot);
}

static void test_complete_requests_are_served_despite_a_slow_peer(void **state)
{
    int port = harness_port(state);
    int slow = wsc_raw_connect(port, HARNESS_WAIT_MS);
    assert_true(slow >= 0);
    assert_int_equal(wsc_raw_send(slow, "GET /", 5, 1000), 0);
    json_t *h = harness_health(port);
    harness_assert_str(h, "status", "ok");
    json_decref(h);
    close(slow);
}

static void test_websocket_upgrade_on_other_paths_is_refused(void **state)
{
    int port = harness_port(state);
    const char *paths[] = {"/", "/health", "/index.html", "/wss", "/ws/x", "/socket.io/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int status = -1;
        struct wsc *c = wsc_connect_status(port, paths[i], HARNESS_WAIT_MS, &status);
        if (c) {
            wsc_close(c);
            fail_msg("WebSocket upgrade on %s was accepted", paths[i]);
        }
        if (status == 101)
            fail_msg("upgrade on %s answered 101 (with a bad handshake)", paths[i]);
    }
    /* and /ws itself still upgrades */
    struct wsc *ok = wsc_connect(port, "/ws", HARNESS_WAIT_MS);
    assert_non_null(ok);
    wsc_close(ok);
}

/* ---- process ---- */

static void test_sigint_exits_zero_with_connections_open(void **state)
{
    struct harness_fixture *fx = *state;
    int port = fx->cloud.port;
    struct wsc *robot = harness_robot(port, "robot-int", NULL);
    int fd = wsc_raw_connect(port, HARNESS_WAIT_MS);
    assert_true(fd >= 0);
    assert_int_equal(kill(fx->cloud.pid, SIGINT), 0);
    assert_int_equal(harness_wait_exit(&fx->cloud, 5000), 0);
    assert_true(wsc_expect_close(robot, 1000) != -2);
    assert_true(wsc_raw_wait_closed(fd, 1000) >= 0);
    close(fd);
    wsc_close(robot);
}

#define T_ROOT(f) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, \
                                                            &fx_temp_root)
#define T_REAL(f) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, \
                                                            &fx_real_root)
#define T_SLOW(f) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, \
                                                            &fx_slow_http)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_ROOT(test_health_reports_every_field_on_a_fresh_server),
        T_ROOT(test_health_uptime_grows),
        T_ROOT(test_health_counts_robots_clients_and_sessions),
        T_ROOT(test_robots_is_empty_without_robots),
        T_ROOT(test_robots_lists_id_device_info_connected_at_and_sessions),
        T_ROOT(test_robots_forgets_a_disconnected_robot),
        T_ROOT(test_metrics_count_peers_relays_and_errors_in_prometheus_text),
        T_ROOT(test_root_serves_index_html_as_text_html),
        T_ROOT(test_index_html_by_name_is_text_html),
        T_ROOT(test_js_is_served_as_text_javascript),
        T_ROOT(test_css_is_served_as_text_css),
        T_ROOT(test_json_is_served_as_application_json),
        T_ROOT(test_png_is_served_byte_for_byte_as_image_png),
        T_ROOT(test_svg_is_served_as_image_svg_xml),
        T_ROOT(test_file_in_subdirectory_is_served),
        T_ROOT(test_missing_file_is_404),
        T_ROOT(test_dotdot_paths_are_404),
        T_ROOT(test_dotdot_segments_inside_the_root_resolve_like_a_browser),
        T_ROOT(test_encoded_nul_ends_the_path),
        T_ROOT(test_encoded_nul_after_a_file_name_is_refused),
        T_ROOT(test_symlinks_leading_outside_the_root_are_404),
        T_REAL(test_real_web_root_never_serves_repository_files),
        T_ROOT(test_post_is_405),
        T_SLOW(test_incomplete_request_headers_are_closed_after_http_timeout),
        T_SLOW(test_silent_tcp_connection_is_closed_after_http_timeout),
        T_SLOW(test_complete_requests_are_served_despite_a_slow_peer),
        T_SLOW(test_websocket_outlives_the_http_timeout),
        T_ROOT(test_websocket_upgrade_on_other_paths_is_refused),
        T_ROOT(test_sigint_exits_zero_with_connections_open),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
