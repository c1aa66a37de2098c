/* test_robot_api.c - porthole-robot's REST API (src/robot/api.c) end to
 * end: devices, sensors and options as JSON, option changes that show in
 * the decoded pictures, stream/start and the point cloud, a hardware
 * reset under a viewer, WebRTC sessions opened and answered over REST
 * alone, every error with its status and a detail that says what is
 * wrong, the same API reached through porthole-cloud (robot-request
 * on the WebSocket, /api/robots/{robotId}/... over HTTP), and what guards
 * the robot's own port (Host, Origin, JSON bodies, framing, --api-token).
 *
 * Each test starts its own porthole-cloud and porthole-robot inside the
 * loopback-only network namespace, the robot with --api-port 8000 and
 * --api-max-body 4096 (the namespace is the test process's own, so the
 * port is free). The HTTP client is wsclient.h's: raw sockets and verbatim
 * paths, so that malformed requests reach the robot as written. Under
 * PORTHOLE_SLOW (the ASan variant) waits are three times longer; the
 * assertions are the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "robotfix.h"
#include "rtcpeer.h"

#define API_PORT 8000
#define API_MAX_BODY 4096

static const char *const api_robot_args[] = {"--api-port", "8000", "--api-max-body", "4096",
                                             NULL};
static const struct robotfix_config api_config = {.robot_args = api_robot_args};

/* Chroma energy of the simulated color scene (see test_robot_media.c). */
#define CHROMA_COLOURFUL 12.0

/* The simulated scene (src/robot/sim_scene.h): depth reaches from about
 * 1.5 m (the nearest box, the floor at the bottom edge is 2 m away) to
 * SIM_MAX_DEPTH_M; farther floor and the sky have no depth. The point
 * cloud samples every 4th pixel of every 4th row of 640x480. */
#define SCENE_MIN_DEPTH_M 1.0
#define SCENE_MAX_DEPTH_M 10.0
#define PC_SAMPLED (160 * 120)

/* ---- HTTP ---- */

/* printf into one of a few static buffers; a path lives until eight more
 * were made, enough for one statement. */
static const char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *pathf(const char *fmt, ...)
{
    static char bufs[8][512];
    static unsigned next;
    char *b = bufs[next++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof bufs[0], fmt, ap);
    va_end(ap);
    return b;
}

/* One request to the robot's API, which must answer want_status with a
 * JSON body (Content-Type application/json, Cache-Control no-store).
 * Returns the body (the caller owns it). When allow is not NULL it gets
 * the Allow header (malloc'd, or NULL when absent). */
#define api(method, path, body, want_status) \
    api_((method), (path), (body), (want_status), NULL, __FILE__, __LINE__)
#define api_allow(method, path, body, want_status, allow) \
    api_((method), (path), (body), (want_status), (allow), __FILE__, __LINE__)
static json_t *api_(const char *method, const char *path, const char *body, int want_status,
                    char **allow, const char *file, int line)
{
    struct http_response r;
    if (http_request(API_PORT, method, path, NULL, body, robotfix_wait(5000), &r) != 0) {
        print_error("%s %s: no response from the robot's API\n", method, path);
        _fail(file, line);
    }
    if (r.status != want_status) {
        print_error("%s %s: status %d, expected %d; body: %.600s\n", method, path, r.status,
                    want_status, r.body);
        http_response_free(&r);
        _fail(file, line);
    }
    char *type = http_header(&r, "Content-Type");
    char *cache = http_header(&r, "Cache-Control");
    bool headers_ok = type && strncmp(type, "application/json", 16) == 0 && cache &&
                      strcmp(cache, "no-store") == 0;
    if (!headers_ok)
        print_error("%s %s: Content-Type '%s', Cache-Control '%s'\n", method, path,
                    type ? type : "(none)", cache ? cache : "(none)");
    free(type);
    free(cache);
    json_error_t jerr;
    json_t *j = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, &jerr);
    if (!j)
        print_error("%s %s: the body is not JSON (%s): %.600s\n", method, path, jerr.text, r.body);
    if (allow)
        *allow = http_header(&r, "Allow");
    http_response_free(&r);
    if (!headers_ok || !j)
        _fail(file, line);
    return j;
}

/* body must be an error {"detail": string} whose text holds every one of
 * the NULL-terminated needles. Releases body. */
#define expect_detail(body, ...) \
    expect_detail_((body), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)
static void expect_detail_(json_t *body, const char *const *needles, const char *file, int line)
{
    const char *detail = json_string_value(json_object_get(body, "detail"));
    if (!json_is_object(body) || !detail || !detail[0]) {
        char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        print_error("an error body must be {\"detail\": \"...\"}; got %s\n", text ? text : "?");
        free(text);
        json_decref(body);
        _fail(file, line);
    }
    for (size_t i = 0; needles[i]; i++) {
        if (!strstr(detail, needles[i])) {
            print_error("the detail \"%s\" does not say \"%s\"\n", detail, needles[i]);
            json_decref(body);
            _fail(file, line);
        }
    }
    json_decref(body);
}

/* The camera's serial number, which is the device_id (read once). */
static const char *serial(void)
{
    static char s[32];
    if (!s[0]) {
        json_t *list = api("GET", "/api/devices/", NULL, 200);
        const char *id = json_string_value(json_object_get(json_array_get(list, 0), "device_id"));
        assert_non_null(id);
        snprintf(s, sizeof s, "%s", id);
        json_decref(list);
    }
    return s;
}

/* "/api/devices/{serial}" plus rest. */
static const char *dev(const char *rest)
{
    return pathf("/api/devices/%s%s", serial(), rest);
}

static const char *sensor_id(int i)
{
    return pathf("%s-sensor-%d", serial(), i);
}

/* The path of an option of sensor i. */
static const char *option_path(int sensor, const char *option)
{
    return pathf("/api/devices/%s/sensors/%s-sensor-%d/options/%s", serial(), serial(), sensor,
                 option);
}

/* Sets an option and checks that the answer carries the new value. */
static void set_option(int sensor, const char *option, double value)
{
    char body[64];
    snprintf(body, sizeof body, "{\"value\": %g}", value);
    json_t *o = api("PUT", option_path(sensor, option), body, 200);
    assert_string_equal(json_string_value(json_object_get(o, "option_id")), option);
    assert_true(json_is_number(json_object_get(o, "current_value")));
    assert_true(json_number_value(json_object_get(o, "current_value")) == value);
    json_decref(o);
}

static double option_value(int sensor, const char *option)
{
    json_t *o = api("GET", option_path(sensor, option), NULL, 200);
    json_t *v = json_object_get(o, "current_value");
    assert_true(json_is_number(v));
    double d = json_number_value(v);
    json_decref(o);
    return d;
}

/* Sends request (every byte, as given) on a new connection to port and
 * reads until the server closes it. Returns the response's status (0 when
 * none came) and its body parsed as JSON in *body (NULL when not JSON). */
static int raw_exchange_port(int port, const char *request, json_t **body)
{
    *body = NULL;
    int fd = wsc_raw_connect(port, robotfix_wait(3000));
    assert_true(fd >= 0);
    assert_int_equal(wsc_raw_send(fd, request, strlen(request), robotfix_wait(3000)), 0);
    GString *got = g_string_new(NULL);
    int64_t deadline = wsc_now_ms() + robotfix_wait(5000);
    for (;;) {
        int64_t left = deadline - wsc_now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        g_string_append_len(got, buf, n);
    }
    close(fd);
    int status = 0;
    if (sscanf(got->str, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    const char *start = strstr(got->str, "\r\n\r\n");
    if (start)
        *body = json_loads(start + 4, JSON_DECODE_ANY, NULL);
    if (!*body)
        fprintf(stderr, "raw exchange: %.600s\n", got->str);
    g_string_free(got, TRUE);
    return status;
}

/* raw_exchange_port on the robot's API port. */
static int raw_exchange(const char *request, json_t **body)
{
    return raw_exchange_port(API_PORT, request, body);
}

/* ---- pictures ---- */

/* A viewer of one stream type through the cloud, answered automatically. */
static struct rtcpeer *viewer(struct robotfix *fx, const char *stream_type)
{
    char streams[64];
    snprintf(streams, sizeof streams, "[\"%s\"]", stream_type);
    return robotfix_viewer(fx, &(struct rtcpeer_opts){.stream_types_json = streams});
}

struct picture {
    double luma, detail;
};

/* Lets the frames already under way drain (half a second of video), then
 * averages luma and detail over the next 10 decoded frames of v. */
static struct picture settle_and_sample(struct robotfix *fx, struct rtcpeer *v)
{
    /* Colour frames carry their capture time (marker.h): wait for one
     * captured after the change, since on a loaded machine the frames in
     * flight were captured seconds before. Other streams have no marker. */
    uint32_t since = (uint32_t)rtcpeer_wall_ms();
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 15, robotfix_wait(10000));
    for (int i = 0; i < 600; i++) {
        struct rtcpeer_video vi;
        rtcpeer_video(v, &vi);
        if (!vi.marked_frames || (vi.marker_ok && (int32_t)(vi.marker_ms - since) > 0))
            break;
        robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 1, robotfix_wait(3000));
    }
    struct picture pic = {0, 0};
    for (int i = 0; i < 10; i++) {
        robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 1, robotfix_wait(3000));
        struct rtcpeer_video vi;
        rtcpeer_video(v, &vi);
        pic.luma += vi.luma / 10;
        pic.detail += vi.detail / 10;
    }
    return pic;
}


/* ---- devices ---- */

static void expect_device_info(json_t *d, const char *want_serial)
{
    assert_true(json_is_object(d));
    assert_string_equal(json_string_value(json_object_get(d, "device_id")), want_serial);
    assert_string_equal(json_string_value(json_object_get(d, "serial_number")), want_serial);
    assert_string_equal(json_string_value(json_object_get(d, "name")),
                        "Intel RealSense D435 (simulated)");
    assert_string_equal(json_string_value(json_object_get(d, "firmware_version")), "5.16.0.1");
    assert_string_equal(json_string_value(json_object_get(d, "physical_port")), "sim");
    assert_string_equal(json_string_value(json_object_get(d, "usb_type")), "3.2");
    assert_string_equal(json_string_value(json_object_get(d, "product_id")), "0B07");
    json_t *sensors = json_object_get(d, "sensors");
    assert_int_equal(json_array_size(sensors), 2);
    assert_string_equal(json_string_value(json_array_get(sensors, 0)), "Stereo Module");
    assert_string_equal(json_string_value(json_array_get(sensors, 1)), "RGB Camera");
    assert_true(json_is_boolean(json_object_get(d, "is_streaming")));
}

static void test_devices_are_listed_and_found_by_serial(void **state)
{
    struct robotfix *fx = *state;
    /* The serial the robot registered with at the cloud is the device id. */
    json_t *avail = NULL;
    struct wsc *c = harness_client(fx->cloud.port, NULL, &avail);
    const char *registered = NULL;
    size_t i;
    json_t *robot;
    json_array_foreach(json_object_get(avail, "robots"), i, robot)
        if (strcmp(json_string_value(json_object_get(robot, "robotId")), fx->robot_id) == 0)
            registered = json_string_value(
                json_object_get(json_object_get(robot, "deviceInfo"), "serial"));
    assert_non_null(registered);

    json_t *list = api("GET", "/api/devices/", NULL, 200);
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 1);
    expect_device_info(json_array_get(list, 0), registered);
    /* Nothing is captured while nobody watches. */
    assert_true(json_is_false(json_object_get(json_array_get(list, 0), "is_streaming")));
    json_decref(list);
    list = api("GET", "/api/devices", NULL, 200);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);

    json_t *d = api("GET", pathf("/api/devices/%s", registered), NULL, 200);
    expect_device_info(d, registered);
    json_decref(d);
    d = api("GET", pathf("/api/devices/%s/", registered), NULL, 200);
    expect_device_info(d, registered);
    json_decref(d);

    /* is_streaming follows a viewer. */
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    d = api("GET", pathf("/api/devices/%s", registered), NULL, 200);
    assert_true(json_is_true(json_object_get(d, "is_streaming")));
    json_decref(d);

    json_decref(avail);
    wsc_close(c);
}

static void test_an_unknown_device_is_404_naming_the_real_serial(void **state)
{
    (void)state;
    expect_detail(api("GET", "/api/devices/000000000000", NULL, 404), "'000000000000'",
                  serial(), "Intel RealSense D435");
    expect_detail(api("GET", "/api/devices/000000000000/sensors/", NULL, 404), serial());
    expect_detail(api("POST", "/api/devices/nope/stream/start", "{}", 404), "'nope'", serial());
    expect_detail(api("PUT", "/api/devices/nope/sensors/nope-sensor-0/options/gain",
                      "{\"value\": 20}", 404),
                  serial());
}

/* ---- sensors and options ---- */

/* The profile of stream_type in SensorInfo s, checked against the
 * simulated camera's modes. */
static void expect_profile(json_t *s, const char *stream_type, const char *format)
{
    json_t *p = NULL, *x;
    size_t i;
    json_array_foreach(json_object_get(s, "supported_stream_profiles"), i, x)
        if (strcmp(json_string_value(json_object_get(x, "stream_type")), stream_type) == 0)
            p = x;
    if (!p)
        fail_msg("no stream profile '%s'", stream_type);
    json_t *formats = json_object_get(p, "formats");
    assert_int_equal(json_array_size(formats), 1);
    assert_string_equal(json_string_value(json_array_get(formats, 0)), format);
    json_t *res = json_object_get(p, "resolutions");
    assert_int_equal(json_array_size(res), 3);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(res, 0), 0)), 640);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(res, 0), 1)), 480);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(res, 1), 0)), 1280);
    json_t *fps = json_object_get(p, "fps");
    assert_int_equal(json_array_size(fps), 4);
    assert_int_equal(json_integer_value(json_array_get(fps, 2)), 30);
}

/* The option ids of array opts, joined with commas. */
static void option_ids(json_t *opts, char *out, size_t len)
{
    out[0] = '\0';
    size_t i;
    json_t *o;
    json_array_foreach(opts, i, o) {
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(o, "option_id")));
    }
}

static void expect_option_info(json_t *o, const char *id, double def, double min, double max,
                               double step, bool read_only)
{
    assert_string_equal(json_string_value(json_object_get(o, "option_id")), id);
    assert_non_null(json_string_value(json_object_get(o, "name")));
    assert_non_null(json_string_value(json_object_get(o, "description")));
    assert_non_null(json_string_value(json_object_get(o, "units")));
    const char *num[] = {"current_value", "default_value", "min_value", "max_value", "step"};
    for (size_t i = 0; i < 5; i++)
        if (!json_is_number(json_object_get(o, num[i])))
            fail_msg("option %s: %s is not a number", id, num[i]);
    assert_true(json_number_value(json_object_get(o, "default_value")) == def);
    assert_true(json_number_value(json_object_get(o, "min_value")) == min);
    assert_true(json_number_value(json_object_get(o, "max_value")) == max);
    assert_true(json_number_value(json_object_get(o, "step")) == step);
    assert_true(json_is_boolean(json_object_get(o, "read_only")));
    assert_int_equal(json_is_true(json_object_get(o, "read_only")), read_only);
}

static void test_sensors_are_listed_with_profiles_and_options(void **state)
{
    (void)state;
    char ids[256];
    json_t *list = api("GET", dev("/sensors/"), NULL, 200);
    assert_int_equal(json_array_size(list), 2);
    json_t *stereo = json_array_get(list, 0), *rgb = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(stereo, "sensor_id")), sensor_id(0));
    assert_string_equal(json_string_value(json_object_get(stereo, "name")), "Stereo Module");
    assert_string_equal(json_string_value(json_object_get(stereo, "type")), "depth_sensor");
    assert_int_equal(json_array_size(json_object_get(stereo, "supported_stream_profiles")), 3);
    expect_profile(stereo, "depth", "Z16");
    expect_profile(stereo, "infrared-1", "Y8");
    expect_profile(stereo, "infrared-2", "Y8");
    option_ids(json_object_get(stereo, "options"), ids, sizeof ids);
    assert_string_equal(ids, "exposure,gain,laser_power,emitter_enabled,depth_units");

    assert_string_equal(json_string_value(json_object_get(rgb, "sensor_id")), sensor_id(1));
    assert_string_equal(json_string_value(json_object_get(rgb, "name")), "RGB Camera");
    assert_string_equal(json_string_value(json_object_get(rgb, "type")), "color_sensor");
    assert_int_equal(json_array_size(json_object_get(rgb, "supported_stream_profiles")), 1);
    expect_profile(rgb, "color", "RGB8");
    option_ids(json_object_get(rgb, "options"), ids, sizeof ids);
    assert_string_equal(ids, "color_exposure,color_gain,brightness,contrast");
    json_decref(list);

    /* One sensor, with and without the trailing slash. */
    json_t *s = api("GET", dev(pathf("/sensors/%s", sensor_id(1))), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(s, "name")), "RGB Camera");
    expect_profile(s, "color", "RGB8");
    json_decref(s);
    s = api("GET", dev(pathf("/sensors/%s/", sensor_id(0))), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(s, "name")), "Stereo Module");
    json_decref(s);

    /* An unknown sensor names the real ones. */
    expect_detail(api("GET", dev("/sensors/thermal-sensor"), NULL, 404), "'thermal-sensor'",
                  sensor_id(0), sensor_id(1), "Stereo Module", "RGB Camera");
    expect_detail(api("GET", dev(pathf("/sensors/%s-sensor-2/options/", serial())), NULL, 404),
                  sensor_id(0), sensor_id(1));
}

static void test_options_are_listed_and_described(void **state)
{
    (void)state;
    char ids[256];
    json_t *opts = api("GET", dev(pathf("/sensors/%s/options/", sensor_id(0))), NULL, 200);
    option_ids(opts, ids, sizeof ids);
    assert_string_equal(ids, "exposure,gain,laser_power,emitter_enabled,depth_units");
    expect_option_info(json_array_get(opts, 2), "laser_power", 150, 0, 360, 30, false);
    expect_option_info(json_array_get(opts, 4), "depth_units", 0.001, 0.000001, 0.01, 0.000001,
                       true);
    json_decref(opts);
    opts = api("GET", dev(pathf("/sensors/%s/options", sensor_id(1))), NULL, 200);
    option_ids(opts, ids, sizeof ids);
    assert_string_equal(ids, "color_exposure,color_gain,brightness,contrast");
    json_decref(opts);

    json_t *o = api("GET", option_path(0, "exposure"), NULL, 200);
    expect_option_info(o, "exposure", 8500, 1, 165000, 1, false);
    assert_true(json_number_value(json_object_get(o, "current_value")) == 8500);
    assert_string_equal(json_string_value(json_object_get(o, "units")), "microseconds");
    json_decref(o);
    o = api("GET", option_path(1, "brightness"), NULL, 200);
    expect_option_info(o, "brightness", 0, -64, 64, 1, false);
    json_decref(o);

    /* An option of the other sensor is unknown here: the detail names the
     * options this sensor has. */
    expect_detail(api("GET", option_path(0, "brightness"), NULL, 404), "'brightness'",
                  sensor_id(0), "exposure, gain, laser_power, emitter_enabled, depth_units");
    expect_detail(api("PUT", option_path(1, "laser_power"), "{\"value\": 30}", 404),
                  "'laser_power'", sensor_id(1),
                  "color_exposure, color_gain, brightness, contrast");
}

static void test_put_option_sets_the_value_and_get_shows_it(void **state)
{
    (void)state;
    set_option(0, "exposure", 20000);
    assert_true(option_value(0, "exposure") == 20000);
    set_option(0, "laser_power", 330);
    assert_true(option_value(0, "laser_power") == 330);
    set_option(1, "brightness", -12);
    assert_true(option_value(1, "brightness") == -12);
    /* The list shows it too, and the other options kept their values. */
    json_t *opts = api("GET", dev(pathf("/sensors/%s/options/", sensor_id(0))), NULL, 200);
    assert_true(json_number_value(json_object_get(json_array_get(opts, 0), "current_value")) ==
                20000);
    assert_true(json_number_value(json_object_get(json_array_get(opts, 1), "current_value")) ==
                16);
    json_decref(opts);
    /* A boolean is a number for a 0..1 option. */
    json_t *o = api("PUT", option_path(0, "emitter_enabled"), "{\"value\": false}", 200);
    assert_true(json_number_value(json_object_get(o, "current_value")) == 0);
    json_decref(o);
    assert_true(option_value(0, "emitter_enabled") == 0);
}

static void test_put_option_refuses_bad_values(void **state)
{
    (void)state;
    const char *exposure = option_path(0, "exposure");
    expect_detail(api("PUT", exposure, "{\"value\": 999999}", 422), "exposure", "1", "165000",
                  "999999");
    expect_detail(api("PUT", exposure, "{\"value\": 0}", 422), "between 1 and 165000");
    expect_detail(api("PUT", option_path(0, "laser_power"), "{\"value\": 45}", 422),
                  "between 0 and 360", "step 30");
    expect_detail(api("PUT", option_path(1, "brightness"), "{\"value\": -65}", 422), "-64",
                  "64");
    expect_detail(api("PUT", exposure, "{\"value\": \"bright\"}", 422), "'value'", "number",
                  "a string");
    expect_detail(api("PUT", exposure, "{\"value\": null}", 422), "'value'", "number");
    expect_detail(api("PUT", exposure, "{\"value\": [1]}", 422), "'value'", "an array");
    expect_detail(api("PUT", exposure, "{\"volume\": 100}", 422), "'value'", "nothing");
    expect_detail(api("PUT", exposure, "{}", 422), "'value'");
    expect_detail(api("PUT", exposure, NULL, 422), "JSON object", "no body");
    expect_detail(api("PUT", exposure, "[8000]", 422), "JSON object", "an array");
    expect_detail(api("PUT", exposure, "8000", 422), "JSON object", "a number");
    expect_detail(api("PUT", exposure, "\"8000\"", 422), "JSON object", "a string");
    /* Malformed JSON says where. */
    expect_detail(api("PUT", exposure, "{\"value\": 8000", 400), "malformed JSON", "line 1",
                  "column");
    expect_detail(api("PUT", exposure, "{\n  \"value\": 80 00\n}", 400), "line 2", "column");
    expect_detail(api("PUT", exposure, "{\"value\": 1, \"value\": 2}", 400), "malformed JSON");
    /* Read-only. */
    expect_detail(api("PUT", option_path(0, "depth_units"), "{\"value\": 0.001}", 409),
                  "read-only");
    /* None of that changed anything. */
    assert_true(option_value(0, "exposure") == 8500);
    assert_true(option_value(0, "laser_power") == 150);
    assert_true(option_value(1, "brightness") == 0);
}

/* ---- HTTP ---- */

static void test_wrong_methods_paths_and_bodies_get_405_404_413_411(void **state)
{
    (void)state;
    /* 405, with an Allow header naming what the resource allows. */
    char *allow = NULL;
    json_t *b = api_allow("DELETE", option_path(0, "exposure"), NULL, 405, &allow);
    assert_string_equal(json_string_value(json_object_get(b, "allow")), "GET, PUT");
    expect_detail(b, "DELETE", "GET,PUT");
    if (!allow || strcmp(allow, "GET, PUT") != 0)
        fail_msg("Allow: '%s' on an option (GET and PUT)", allow ? allow : "(none)");
    free(allow);
    b = api_allow("PUT", "/api/devices/", "{}", 405, &allow);
    expect_detail(b, "PUT", "GET");
    if (!allow || strcmp(allow, "GET") != 0)
        fail_msg("Allow: '%s' on the device list (GET)", allow ? allow : "(none)");
    free(allow);
    expect_detail(api("GET", dev("/stream/start"), NULL, 405), "POST");
    expect_detail(api("DELETE", dev(""), NULL, 405), "GET");

    /* 404 for what is not a resource. */
    expect_detail(api("GET", "/api/nothing", NULL, 404), "/api/nothing");
    expect_detail(api("GET", "/api/", NULL, 404), "/api/");
    expect_detail(api("GET", "/", NULL, 404), "/api/");
    expect_detail(api("GET", dev("/sensors/a/b/c/d/e/f/g"), NULL, 404), "no resource");
    expect_detail(api("GET", "/api/devices/%2e%2e/sensors", NULL, 404), "no resource");
    expect_detail(api("GET", "/api//devices", NULL, 404), "no resource");
    json_decref(api("GET", "/api/devices/?verbose=1", NULL, 200)); /* the query is ignored */

    /* 413 above --api-max-body, on any path; the limit itself is fine. */
    GString *big = g_string_new("{\"value\": 8000}");
    while (big->len < API_MAX_BODY)
        g_string_append_c(big, ' ');
    assert_int_equal(big->len, API_MAX_BODY);
    json_t *o = api("PUT", option_path(0, "exposure"), big->str, 200);
    assert_true(json_number_value(json_object_get(o, "current_value")) == 8000);
    json_decref(o);
    g_string_append_c(big, ' ');
    expect_detail(api("PUT", option_path(0, "exposure"), big->str, 413), "4097", "4096");
    expect_detail(api("POST", "/elsewhere", big->str, 413), "4096");
    while (big->len < 256 * 1024)
        g_string_append(big, "                                                        ");
    expect_detail(api("PUT", option_path(0, "exposure"), big->str, 413), "4096");
    g_string_free(big, TRUE);
    assert_true(option_value(0, "exposure") == 8000);

    /* 411 for a chunked body, however well-formed. */
    json_t *body = NULL;
    int status = raw_exchange(
        pathf("PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
              "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              "f\r\n{\"value\": 9000}\r\n0\r\n\r\n",
              option_path(0, "exposure"), API_PORT),
        &body);
    assert_int_equal(status, 411);
    expect_detail(body, "Content-Length", "chunked");
    assert_true(option_value(0, "exposure") == 8000);

    /* The robot keeps serving after all that. */
    json_t *list = api("GET", "/api/devices/", NULL, 200);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

/* ---- options in the pictures ---- */

static void test_color_options_change_the_decoded_brightness(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    struct picture base = settle_and_sample(fx, v);

    set_option(1, "color_exposure", 312); /* twice the light */
    struct picture exposed = settle_and_sample(fx, v);
    set_option(1, "color_exposure", 156);
    set_option(1, "brightness", 64);
    struct picture brightened = settle_and_sample(fx, v);
    set_option(1, "brightness", 0);
    set_option(1, "color_gain", 16); /* a quarter of the light */
    struct picture dimmed = settle_and_sample(fx, v);
    set_option(1, "color_gain", 64);
    struct picture again = settle_and_sample(fx, v);
    fprintf(stderr, "color luma: %.1f default, %.1f exposure x2, %.1f brightness +64, "
            "%.1f gain / 4, %.1f default again\n", base.luma, exposed.luma, brightened.luma,
            dimmed.luma, again.luma);
    if (exposed.luma < base.luma + 25)
        fail_msg("doubling color_exposure took mean luma from %.1f to %.1f only", base.luma,
                 exposed.luma);
    if (brightened.luma < base.luma + 30)
        fail_msg("brightness +64 took mean luma from %.1f to %.1f only", base.luma,
                 brightened.luma);
    if (dimmed.luma > base.luma - 30)
        fail_msg("a quarter of color_gain took mean luma from %.1f to %.1f only", base.luma,
                 dimmed.luma);
    if (again.luma < base.luma - 8 || again.luma > base.luma + 8)
        fail_msg("back at the defaults mean luma is %.1f, was %.1f", again.luma, base.luma);
}

static void test_laser_power_and_emitter_change_the_infrared_dots(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "infrared-1");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    struct picture nominal = settle_and_sample(fx, v);
    set_option(0, "laser_power", 0);
    struct picture dark = settle_and_sample(fx, v);
    set_option(0, "laser_power", 360);
    struct picture full = settle_and_sample(fx, v);
    set_option(0, "emitter_enabled", 0); /* the laser stays at 360 */
    struct picture off = settle_and_sample(fx, v);
    set_option(0, "emitter_enabled", 1);
    struct picture on = settle_and_sample(fx, v);
    fprintf(stderr, "infrared detail (luma): %.2f (%.1f) at 150 mW, %.2f (%.1f) at 0, "
            "%.2f (%.1f) at 360, %.2f (%.1f) emitter off, %.2f (%.1f) on again\n",
            nominal.detail, nominal.luma, dark.detail, dark.luma, full.detail, full.luma,
            off.detail, off.luma, on.detail, on.luma);
    /* The dots are fine texture: without them the picture is smooth. */
    if (nominal.detail < 2 * dark.detail)
        fail_msg("dots at 150 mW: detail %.2f, without: %.2f", nominal.detail, dark.detail);
    if (full.detail < nominal.detail * 1.3)
        fail_msg("dots at 360 mW: detail %.2f, at 150 mW: %.2f", full.detail, nominal.detail);
    if (off.detail > dark.detail * 1.5 || off.detail < dark.detail / 1.5)
        fail_msg("emitter off at 360 mW: detail %.2f, laser at 0: %.2f", off.detail, dark.detail);
    if (on.detail < full.detail / 1.3)
        fail_msg("emitter on again at 360 mW: detail %.2f, was %.2f", on.detail, full.detail);
    /* Dots add light too. */
    assert_true(full.luma > dark.luma);
}

/* ---- streams ---- */

static const char *depth_config(const char *sensor, const char *type, const char *format,
                                int w, int h, int fps)
{
    return pathf("{\"configs\": [{\"sensor_id\": \"%s\", \"stream_type\": \"%s\", "
                 "\"format\": \"%s\", \"resolution\": {\"width\": %d, \"height\": %d}, "
                 "\"framerate\": %d}]}", sensor, type, format, w, h, fps);
}

/* True when the array arr holds the string s. */
static bool holds(json_t *arr, const char *s)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
        if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
            return true;
    return false;
}

static void test_stream_start_status_and_stop(void **state)
{
    (void)state;
    json_t *st = api("POST", dev("/stream/start"),
                     depth_config(sensor_id(0), "depth", "Z16", 640, 480, 30), 200);
    assert_string_equal(json_string_value(json_object_get(st, "device_id")), serial());
    assert_true(json_is_true(json_object_get(st, "is_streaming")));
    assert_true(holds(json_object_get(st, "active_streams"), "depth"));
    assert_true(holds(json_object_get(st, "started_by_api"), "depth"));
    assert_int_equal(json_array_size(json_object_get(st, "configs")), 1);
    json_decref(st);

    rtcpeer_run_for(robotfix_wait(1500));
    st = api("GET", dev("/stream/status"), NULL, 200);
    double fps = json_number_value(json_object_get(st, "framerate"));
    double duration = json_number_value(json_object_get(st, "duration"));
    fprintf(stderr, "stream/status after %d ms: %.1f fps, %.2f s\n", robotfix_wait(1500), fps,
            duration);
    assert_true(json_is_true(json_object_get(st, "is_streaming")));
    assert_true(holds(json_object_get(st, "active_streams"), "depth"));
    if (!(fps > 0 && fps <= 40))
        fail_msg("framerate %.2f after 1.5 s of depth at 30 fps", fps);
    if (!(duration >= 1.0 && duration <= robotfix_wait(1500) / 1000.0 + 2))
        fail_msg("duration %.2f s after streaming 1.5 s", duration);
    assert_int_equal(json_integer_value(json_object_get(st, "configured_framerate")), 30);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "resolution"),
                                                        "width")), 640);
    json_decref(st);
    json_t *d = api("GET", dev(""), NULL, 200);
    assert_true(json_is_true(json_object_get(d, "is_streaming")));
    json_decref(d);

    /* Once started, it must be stopped first. */
    expect_detail(api("POST", dev("/stream/start"),
                      depth_config(sensor_id(0), "depth", "Z16", 640, 480, 30), 409),
                  "depth", "stream/stop");

    st = api("POST", dev("/stream/stop"), NULL, 200);
    assert_true(json_is_false(json_object_get(st, "is_streaming"))); /* nobody watches */
    assert_int_equal(json_array_size(json_object_get(st, "active_streams")), 0);
    assert_int_equal(json_array_size(json_object_get(st, "started_by_api")), 0);
    assert_true(json_is_null(json_object_get(st, "configs")));
    json_decref(st);
    st = api("GET", dev("/stream/status"), NULL, 200);
    assert_true(json_is_false(json_object_get(st, "is_streaming")));
    json_decref(st);
    expect_detail(api("POST", dev("/stream/stop"), NULL, 409), "stream/start");

    /* Two streams and align_to ("infrared" is librealsense's infrared-1). */
    st = api("POST", dev("/stream/start"),
             pathf("{\"configs\": [{\"sensor_id\": \"%s\", \"stream_type\": \"depth\", "
                   "\"format\": \"z16\", \"resolution\": {\"width\": 640, \"height\": 480}, "
                   "\"framerate\": 30}, {\"sensor_id\": \"%s\", \"stream_type\": \"color\", "
                   "\"format\": \"RGB8\", \"resolution\": {\"width\": 640, \"height\": 480}, "
                   "\"framerate\": 30}], \"align_to\": \"color\"}",
                   sensor_id(0), sensor_id(1)),
             200);
    assert_true(holds(json_object_get(st, "active_streams"), "depth"));
    assert_true(holds(json_object_get(st, "active_streams"), "color"));
    assert_string_equal(json_string_value(json_object_get(st, "align_to")), "color");
    json_decref(st);
    json_decref(api("POST", dev("/stream/stop"), NULL, 200));
}

static void test_stream_start_refuses_bad_configs(void **state)
{
    struct robotfix *fx = *state;
    expect_detail(api("POST", dev("/stream/start"),
                      depth_config("nope-sensor-0", "depth", "Z16", 640, 480, 30), 404),
                  "'nope-sensor-0'", sensor_id(0), sensor_id(1));
    /* One config each, wrong in one way. */
    static const struct {
        int sensor;
        const char *type, *format;
        int w, h, fps, status;
        const char *needles[5];
    } bad[] = {
        {1, "depth", "Z16", 640, 480, 30, 422,
         {"configs[0]", "RGB Camera", "no stream 'depth'", "it has color"}},
        {0, "thermal", "Z16", 640, 480, 30, 422, {"'thermal'", "depth, infrared-1, infrared-2"}},
        {0, "depth", "RGB8", 640, 480, 30, 422, {"'RGB8'", "Z16"}},
        {0, "depth", "Z16", 800, 600, 30, 422,
         {"800x600", "[[640,480],[1280,720],[424,240]]", "[6,15,30,60]"}},
        {0, "depth", "Z16", 640, 480, 25, 422, {"25 fps", "[6,15,30,60]"}},
        /* Supported by the camera, but not the mode it runs in. */
        {0, "depth", "Z16", 1280, 720, 30, 409, {"640x480", "30 fps", "--width"}},
        {0, "depth", "Z16", 640, 480, 60, 409, {"640x480"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_detail_(api("POST", dev("/stream/start"),
                           depth_config(sensor_id(bad[i].sensor), bad[i].type, bad[i].format, bad[i].w, bad[i].h,
                                        bad[i].fps), bad[i].status),
                       bad[i].needles, __FILE__, __LINE__);
    }
    /* align_to must be one of the configured streams. */
    expect_detail(api("POST", dev("/stream/start"),
                      pathf("{\"configs\": [{\"sensor_id\": \"%s\", \"stream_type\": \"depth\", "
                            "\"format\": \"Z16\", \"resolution\": {\"width\": 640, \"height\": "
                            "480}, \"framerate\": 30}], \"align_to\": \"color\"}",
                            sensor_id(0)),
                      422),
                  "align_to", "'color'");
    expect_detail(api("POST", dev("/stream/start"),
                      pathf("{\"configs\": [{\"sensor_id\": \"%s\", \"stream_type\": \"depth\", "
                            "\"format\": \"Z16\", \"resolution\": {\"width\": 640, \"height\": "
                            "480}, \"framerate\": 30}], \"align_to\": 7}",
                            sensor_id(0)),
                      422),
                  "align_to", "a number");
    /* The same stream twice. */
    expect_detail(api("POST", dev("/stream/start"),
                      pathf("{\"configs\": [{\"sensor_id\": \"%s\", \"stream_type\": \"depth\", "
                            "\"format\": \"Z16\", \"resolution\": {\"width\": 640, \"height\": "
                            "480}, \"framerate\": 30}, {\"sensor_id\": \"%s\", \"stream_type\": "
                            "\"depth\", \"format\": \"Z16\", \"resolution\": {\"width\": 640, "
                            "\"height\": 480}, \"framerate\": 30}]}",
                            sensor_id(0), sensor_id(0)),
                      422),
                  "configs[1]", "twice");
    /* configs missing, empty or not configs. */
    expect_detail(api("POST", dev("/stream/start"), "{}", 422), "configs");
    expect_detail(api("POST", dev("/stream/start"), "{\"configs\": []}", 422), "configs",
                  "1 to 8");
    expect_detail(api("POST", dev("/stream/start"), "{\"configs\": {}}", 422), "configs");
    expect_detail(api("POST", dev("/stream/start"), NULL, 422), "configs");
    expect_detail(api("POST", dev("/stream/start"), "[]", 422), "configs");
    expect_detail(api("POST", dev("/stream/start"), "{\"configs\": [7]}", 422), "configs[0]",
                  "object");
    expect_detail(api("POST", dev("/stream/start"),
                      "{\"configs\": [{\"sensor_id\": \"x\", \"stream_type\": \"depth\"}]}", 422),
                  "configs[0]", "resolution", "framerate");
    expect_detail(api("POST", dev("/stream/start"),
                      pathf("{\"configs\": [{\"sensor_id\": \"%s\", \"stream_type\": \"depth\", "
                            "\"format\": \"Z16\", \"resolution\": {\"width\": \"640\", "
                            "\"height\": 480}, \"framerate\": 30}]}",
                            sensor_id(0)),
                      422),
                  "configs[0]", "integers");

    /* Nothing was started by any of them. */
    json_t *st = api("GET", dev("/stream/status"), NULL, 200);
    assert_true(json_is_false(json_object_get(st, "is_streaming")));
    assert_int_equal(json_array_size(json_object_get(st, "started_by_api")), 0);
    json_decref(st);
    expect_detail(api("POST", dev("/stream/stop"), NULL, 409), "stream/start");
    assert_true(harness_proc_alive(&fx->robot));
}

/* ---- point cloud ---- */

static bool pc_has_points(json_t *st)
{
    return json_integer_value(json_object_get(st, "frames")) > 0 &&
           json_integer_value(json_object_get(st, "points")) > 0;
}

/* The three numbers of array a. */
static void xyz(json_t *a, double out[3])
{
    assert_int_equal(json_array_size(a), 3);
    for (size_t k = 0; k < 3; k++) {
        assert_true(json_is_number(json_array_get(a, k)));
        out[k] = json_number_value(json_array_get(a, k));
    }
}

static void test_point_cloud_measures_the_simulated_scene(void **state)
{
    (void)state;
    json_t *st = api("GET", dev("/point_cloud/status"), NULL, 200);
    assert_true(json_is_false(json_object_get(st, "is_active")));
    assert_int_equal(json_integer_value(json_object_get(st, "frames")), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "points")), 0);
    assert_null(json_object_get(st, "bounds"));
    json_decref(st);

    st = api("POST", dev("/point_cloud/activate"), NULL, 200);
    assert_true(json_is_true(json_object_get(st, "is_active")));
    json_decref(st);
    /* The point cloud keeps depth captured. */
    st = api("GET", dev("/stream/status"), NULL, 200);
    assert_true(holds(json_object_get(st, "active_streams"), "depth"));
    json_decref(st);

    int64_t deadline = wsc_now_ms() + robotfix_wait(5000);
    st = api("GET", dev("/point_cloud/status"), NULL, 200);
    while (!pc_has_points(st) && wsc_now_ms() < deadline) {
        json_decref(st);
        rtcpeer_run_for(100);
        st = api("GET", dev("/point_cloud/status"), NULL, 200);
    }
    char *text = json_dumps(st, JSON_COMPACT);
    fprintf(stderr, "point cloud: %s\n", text);
    free(text);
    if (!pc_has_points(st))
        fail_msg("no point cloud frame within %d ms", robotfix_wait(5000));
    assert_true(json_is_true(json_object_get(st, "is_active")));
    assert_int_equal(json_integer_value(json_object_get(st, "decimation")), 4);
    json_int_t points = json_integer_value(json_object_get(st, "points"));
    assert_int_equal(json_integer_value(json_object_get(st, "sampled")), PC_SAMPLED);
    /* The sky and the floor beyond 10 m have no depth: about the upper
     * 40 % of the picture. */
    if (points < PC_SAMPLED / 4 || points > PC_SAMPLED * 9 / 10)
        fail_msg("%lld of %d sampled pixels have depth", (long long)points, PC_SAMPLED);
    double lo[3], hi[3];
    xyz(json_object_get(json_object_get(st, "bounds"), "min"), lo);
    xyz(json_object_get(json_object_get(st, "bounds"), "max"), hi);
    /* Camera frame: x right, y down, z forward. */
    assert_true(lo[2] >= SCENE_MIN_DEPTH_M && lo[2] < 2.5);
    assert_true(hi[2] <= SCENE_MAX_DEPTH_M && hi[2] > 6.0);
    assert_true(lo[0] < -1.0 && hi[0] > 1.0);  /* the floor spans the width */
    assert_true(lo[1] < 0 && hi[1] > 0.5);     /* far floor above the centre, near below */
    double mean = json_number_value(json_object_get(st, "mean_depth"));
    if (!(mean > lo[2] && mean < hi[2] && mean > 2.0 && mean < 8.0))
        fail_msg("mean depth %.2f m (bounds %.2f..%.2f)", mean, lo[2], hi[2]);
    json_int_t captured = json_integer_value(json_object_get(st, "capture_time_ms"));
    if (llabs(rtcpeer_wall_ms() - captured) > robotfix_wait(3000))
        fail_msg("the last point cloud frame was captured %lld ms ago",
                 (long long)(rtcpeer_wall_ms() - captured));
    json_decref(st);

    /* Activating again changes nothing. */
    st = api("POST", dev("/point_cloud/activate"), NULL, 200);
    assert_true(json_is_true(json_object_get(st, "is_active")));
    json_decref(st);

    st = api("POST", dev("/point_cloud/deactivate"), NULL, 200);
    assert_true(json_is_false(json_object_get(st, "is_active")));
    assert_null(json_object_get(st, "bounds"));
    json_decref(st);
    rtcpeer_run_for(200); /* a frame measured while deactivating must not count */
    st = api("GET", dev("/point_cloud/status"), NULL, 200);
    assert_true(json_is_false(json_object_get(st, "is_active")));
    assert_int_equal(json_integer_value(json_object_get(st, "frames")), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "points")), 0);
    json_decref(st);
    st = api("GET", dev("/stream/status"), NULL, 200);
    assert_true(json_is_false(json_object_get(st, "is_streaming")));
    json_decref(st);
    expect_detail(api("GET", dev("/point_cloud/activate"), NULL, 405), "POST");
}

/* ---- hardware reset ---- */

static void test_hw_reset_keeps_a_viewer_decoding(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    json_t *r = api("POST", dev("/hw_reset"), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(r, "device_id")), serial());
    assert_non_null(strstr(json_string_value(json_object_get(r, "message")), "reset"));
    json_decref(r);
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 30, robotfix_wait(10000));
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    assert_int_equal(vi.width, 640);
    assert_true(vi.chroma >= CHROMA_COLOURFUL);
    /* Twice in a row is fine too. */
    json_decref(api("POST", dev("/hw_reset"), NULL, 200));
    json_decref(api("POST", dev("/hw_reset/"), NULL, 200));
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 30, robotfix_wait(10000));
    expect_detail(api("GET", dev("/hw_reset"), NULL, 405), "POST");
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
}

/* ---- WebRTC sessions over REST ---- */

/* POST /api/webrtc/offer; returns the session id (g_free) and the SDP
 * (g_free) of the offer, which must carry the robot's candidates. */
static char *open_offer(const char *body, char **sdp_out)
{
    json_t *o = api("POST", "/api/webrtc/offer", body, 200);
    const char *sid = json_string_value(json_object_get(o, "session_id"));
    const char *sdp = json_string_value(json_object_get(o, "sdp"));
    assert_non_null(sid);
    assert_non_null(sdp);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "offer");
    assert_true(strncmp(sdp, "v=0", 3) == 0);
    assert_non_null(strstr(sdp, "m=video"));
    assert_non_null(strstr(sdp, "m=application")); /* telemetry */
    if (!strstr(sdp, "a=candidate:") || !strstr(sdp, "127.0.0.1"))
        fail_msg("the offer carries no loopback candidate:\n%s", sdp);
    char *id = g_strdup(sid);
    if (sdp_out)
        *sdp_out = g_strdup(sdp);
    json_decref(o);
    return id;
}

/* The session of list whose session_id is id, or NULL. */
static json_t *find_session(json_t *list, const char *id)
{
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s)
        if (strcmp(json_string_value(json_object_get(s, "session_id")), id) == 0)
            return s;
    return NULL;
}

static const char *origin_of(json_t *s)
{
    return json_string_value(json_object_get(json_object_get(s, "stats"), "origin"));
}

static void test_webrtc_sessions_are_opened_listed_and_closed(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    const char *cloud_sid = rtcpeer_session_id(v);

    char *sid = open_offer(pathf("{\"device_id\": \"%s\", \"stream_types\": [\"color\"]}",
                                 serial()), NULL);
    expect_detail(api("POST", "/api/webrtc/offer",
                      "{\"device_id\": \"000000000000\", \"stream_types\": [\"color\"]}", 404),
                  "'000000000000'", serial());
    expect_detail(api("POST", "/api/webrtc/offer", "{\"stream_types\": [\"thermal\"]}", 422),
                  "'thermal'", "color, depth, infrared-1 and infrared-2");
    expect_detail(api("POST", "/api/webrtc/offer", "{\"stream_types\": []}", 422),
                  "stream_types");
    expect_detail(api("POST", "/api/webrtc/offer", "{\"stream_types\": [\"color\", \"color\"]}",
                      422), "twice");
    expect_detail(api("POST", "/api/webrtc/offer", "{\"device_id\": 5}", 422), "device_id");
    expect_detail(api("POST", "/api/webrtc/offer", "[\"color\"]", 422), "an array");
    expect_detail(api("POST", "/api/webrtc/offer", NULL, 422), "no body");
    expect_detail(api("GET", "/api/webrtc/offer", NULL, 405), "POST");

    /* Both sessions, one kind of object, told apart by origin. */
    json_t *list = api("GET", "/api/webrtc/sessions", NULL, 200);
    assert_int_equal(json_array_size(list), 2);
    json_t *a = find_session(list, sid), *c = find_session(list, cloud_sid);
    assert_non_null(a);
    assert_non_null(c);
    assert_string_equal(origin_of(a), "api");
    assert_string_equal(origin_of(c), "cloud");
    assert_true(json_is_false(json_object_get(a, "connected")));
    assert_true(json_is_true(json_object_get(c, "connected")));
    assert_true(json_is_true(json_object_get(c, "streaming")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(a, "stream_types"), 0)),
                        "color");
    assert_string_equal(json_string_value(json_object_get(a, "device_id")), serial());
    json_decref(list);

    json_t *one = api("GET", pathf("/api/webrtc/sessions/%s", sid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(one, "session_id")), sid);
    assert_string_equal(origin_of(one), "api");
    assert_non_null(json_string_value(json_object_get(json_object_get(one, "stats"), "state")));
    json_decref(one);
    one = api("GET", pathf("/api/webrtc/sessions/%s", cloud_sid), NULL, 200);
    assert_string_equal(origin_of(one), "cloud");
    json_t *frames = json_object_get(json_object_get(one, "stats"), "frames_sent");
    assert_true(json_integer_value(json_array_get(frames, 0)) > 0);
    json_decref(one);

    /* Closing one: then it is gone. */
    json_t *closed = api("DELETE", pathf("/api/webrtc/sessions/%s", sid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(closed, "session_id")), sid);
    assert_string_equal(json_string_value(json_object_get(closed, "status")), "closed");
    json_decref(closed);
    expect_detail(api("GET", pathf("/api/webrtc/sessions/%s", sid), NULL, 404), sid);
    expect_detail(api("DELETE", pathf("/api/webrtc/sessions/%s", sid), NULL, 404), sid);
    list = api("GET", "/api/webrtc/sessions/", NULL, 200);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    g_free(sid);
    expect_detail(api("PUT", "/api/webrtc/sessions", "{}", 405), "GET,DELETE");

    /* Closing all: the cloud's viewer is told. */
    sid = open_offer("{\"stream_types\": [\"depth\", \"infrared-1\"]}", NULL);
    json_t *all = api("DELETE", "/api/webrtc/sessions", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(all, "closed")), 2);
    json_decref(all);
    json_t *gone = rtcpeer_take(v, "session-closed", robotfix_wait(3000));
    assert_non_null(gone);
    assert_string_equal(json_string_value(json_object_get(gone, "sessionId")), cloud_sid);
    json_decref(gone);
    list = api("GET", "/api/webrtc/sessions", NULL, 200);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    all = api("DELETE", "/api/webrtc/sessions", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(all, "closed")), 0);
    json_decref(all);
    g_free(sid);
}

static void test_webrtc_answers_and_candidates_are_checked(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    const char *cloud_sid = rtcpeer_session_id(v);
    char *sid = open_offer("{\"stream_types\": [\"color\"]}", NULL);
    const char *answer = "/api/webrtc/answer", *cand = "/api/webrtc/ice-candidates";

    expect_detail(api("POST", answer,
                      pathf("{\"session_id\": \"%s\", \"type\": \"answer\", \"sdp\": \"hello\"}",
                            sid), 422),
                  "not SDP");
    expect_detail(api("POST", answer,
                      pathf("{\"session_id\": \"%s\", \"type\": \"answer\", \"sdp\": "
                            "\"v=0\\r\\no=- 1 0 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n\"}",
                            sid), 422),
                  "m-lines");
    expect_detail(api("POST", answer,
                      pathf("{\"session_id\": \"%s\", \"type\": \"offer\", \"sdp\": \"v=0\"}",
                            sid), 422),
                  "\"answer\"");
    expect_detail(api("POST", answer, pathf("{\"session_id\": \"%s\"}", sid), 422), "sdp");
    expect_detail(api("POST", answer, "{\"type\": \"answer\", \"sdp\": \"v=0\"}", 422),
                  "'session_id'");
    expect_detail(api("POST", answer, "\"v=0\"", 422), "session_id");
    expect_detail(api("POST", answer,
                      "{\"session_id\": \"no-such-session\", \"type\": \"answer\", "
                      "\"sdp\": \"v=0\"}", 404),
                  "'no-such-session'");
    expect_detail(api("POST", answer,
                      pathf("{\"session_id\": \"%s\", \"type\": \"answer\", \"sdp\": \"v=0\"}",
                            cloud_sid), 409),
                  cloud_sid, "cloud");

    /* Malformed candidates of the REST session: the members after
     * session_id, and what the 422 must name. */
    static const struct { const char *members, *needle; } bad[] = {
        {"\"candidate\": 42", "'candidate'"},
        {"\"candidate\": \"garbage\", \"sdpMLineIndex\": 0", "malformed"},
        {"\"candidate\": \"candidate:1 1 UDP 2122260223 127.0.0.1 40000 typ host\", "
         "\"sdpMLineIndex\": 99", "sdpMLineIndex"},
        {"\"candidate\": \"candidate:1 1 UDP 2122260223 127.0.0.1 40000 typ host\", "
         "\"sdpMLineIndex\": 7", "m-line"},
        {"\"candidate\": \"candidate:1\", \"sdpMid\": 3", "sdpMid"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_detail(api("POST", cand,
                          pathf("{\"session_id\": \"%s\", %s}", sid, bad[i].members), 422),
                      bad[i].needle);
    expect_detail(api("POST", cand, "{\"candidate\": \"candidate:1\"}", 422), "'session_id'");
    expect_detail(api("POST", cand, "[]", 422), "session_id");
    expect_detail(api("POST", cand,
                      "{\"session_id\": \"no-such-session\", \"candidate\": null}", 404),
                  "'no-such-session'");
    expect_detail(api("POST", cand, pathf("{\"session_id\": \"%s\", \"candidate\": null}",
                                          cloud_sid), 409),
                  "cloud");
    /* Well-formed ones are taken: a whole RTCIceCandidate, and the end. */
    json_t *ok = api("POST", cand,
                     pathf("{\"session_id\": \"%s\", \"candidate\": {\"candidate\": "
                           "\"candidate:1 1 UDP 2122260223 127.0.0.1 40000 typ host\", "
                           "\"sdpMid\": \"video0\", \"sdpMLineIndex\": 0}}", sid), 200);
    assert_string_equal(json_string_value(json_object_get(ok, "session_id")), sid);
    json_decref(ok);
    json_decref(api("POST", cand, pathf("{\"session_id\": \"%s\", \"candidate\": \"\"}", sid),
                    200));

    /* The refused answers left the session waiting for a good one, and the
     * cloud's viewer never noticed. */
    json_t *s = api("GET", pathf("/api/webrtc/sessions/%s", sid), NULL, 200);
    assert_true(json_is_false(json_object_get(s, "connected")));
    json_decref(s);
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 30, robotfix_wait(10000));
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
    g_free(sid);
}

static void test_a_rest_viewer_streams_and_shares_the_encoder(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *cloud_viewer = viewer(fx, "color");
    robotfix_expect_frames(fx, cloud_viewer, 10, robotfix_wait(10000));

    /* Offer, answer and candidates over REST only. */
    char *offer = NULL;
    char *sid = open_offer(pathf("{\"device_id\": \"%s\", \"stream_types\": [\"color\"]}",
                                 serial()), &offer);
    struct rtcpeer *rest = robotfix_viewer(fx, &(struct rtcpeer_opts){.offer_sdp = offer});
    g_free(offer);
    const char *answer = rtcpeer_wait_local_answer(rest, robotfix_wait(5000));
    if (!answer)
        fail_msg("the REST viewer made no answer with candidates within %d ms",
                 robotfix_wait(5000));
    assert_non_null(strstr(answer, "a=candidate:"));
    json_t *req = json_pack("{s:s, s:s, s:s}", "session_id", sid, "sdp", answer, "type",
                            "answer");
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *applied = api("POST", "/api/webrtc/answer", body, 200);
    free(body);
    assert_string_equal(json_string_value(json_object_get(applied, "session_id")), sid);
    json_decref(applied);
    /* One answer per session. */
    expect_detail(api("POST", "/api/webrtc/answer",
                      pathf("{\"session_id\": \"%s\", \"type\": \"answer\", \"sdp\": \"v=0\"}",
                            sid), 422),
                  "already");

    robotfix_expect_frames(fx, rest, 30, robotfix_wait(10000));
    struct rtcpeer_video vi;
    rtcpeer_video(rest, &vi);
    assert_int_equal(vi.width, 640);
    assert_int_equal(vi.height, 480);
    assert_true(vi.chroma >= CHROMA_COLOURFUL);
    assert_true(vi.marked_frames > 0);
    assert_int_equal(rtcpeer_count(rest, "webrtc-offer"), 0); /* no signaling at all */
    /* Telemetry reaches it on its data channel. */
    json_t *t = rtcpeer_wait_telemetry(rest, robotfix_wait(5000));
    assert_non_null(t);
    assert_string_equal(json_string_value(json_object_get(t, "sessionId")), sid);

    json_t *s = api("GET", pathf("/api/webrtc/sessions/%s", sid), NULL, 200);
    assert_true(json_is_true(json_object_get(s, "connected")));
    assert_true(json_is_true(json_object_get(s, "streaming")));
    assert_string_equal(origin_of(s), "api");
    json_decref(s);

    /* Both watch color through one encoder, telemetry after telemetry. */
    for (int i = 0; i < 3; i++) {
        t = rtcpeer_wait_telemetry(cloud_viewer, robotfix_wait(5000));
        if (!t)
            fail_msg("no telemetry for the cloud's viewer within %d ms", robotfix_wait(5000));
        assert_int_equal(robotfix_telemetry_int(t, "encoders"), 1);
        assert_int_equal(robotfix_telemetry_int(t, "sessions"), 2);
        assert_int_equal(robotfix_telemetry_int(t, "streams.color.viewers"), 2);
    }
    robotfix_expect_frames(fx, cloud_viewer, rtcpeer_frames(cloud_viewer) + 30,
                           robotfix_wait(10000));
    robotfix_expect_frames(fx, rest, rtcpeer_frames(rest) + 30, robotfix_wait(10000));

    /* Closing it over REST stops its frames, not the other viewer's. */
    json_decref(api("DELETE", pathf("/api/webrtc/sessions/%s", sid), NULL, 200));
    t = rtcpeer_wait_telemetry(cloud_viewer, robotfix_wait(5000));
    assert_non_null(t);
    t = rtcpeer_wait_telemetry(cloud_viewer, robotfix_wait(5000));
    assert_non_null(t);
    assert_int_equal(robotfix_telemetry_int(t, "sessions"), 1);
    assert_int_equal(robotfix_telemetry_int(t, "streams.color.viewers"), 1);
    robotfix_expect_frames(fx, cloud_viewer, rtcpeer_frames(cloud_viewer) + 30,
                           robotfix_wait(10000));
    g_free(sid);
}

/* ---- candidates inside an answer obey the ICE allow-list ---- */

static const char *const allow_robot_args[] = {"--api-port", "8000", "--ice-allow",
                                               "127.0.0.1,127.0.0.3", NULL};
static const struct robotfix_config allow_config = {.robot_args = allow_robot_args};

/* A UDP socket on addr, port chosen by the kernel; returns the fd and the
 * port. */
static int udp_listener(const char *addr, int *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Datagrams fd receives within ms. */
static int count_datagrams(int fd, int ms)
{
    int n = 0;
    int64_t end = wsc_now_ms() + ms;
    for (int64_t now = wsc_now_ms(); now < end && n < 1000; now = wsc_now_ms()) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(end - now)) <= 0)
            break;
        char buf[1500];
        while (recv(fd, buf, sizeof buf, 0) > 0)
            n++;
    }
    return n;
}

/* webrtcbin adds the a=candidate lines of an answer by itself; the robot
 * must filter them as it filters trickled ones. Two fake viewer addresses
 * in the answer: 127.0.0.3 is on --ice-allow and must receive the robot's
 * connectivity checks (the control: the test sees checks when they are
 * sent), 127.0.0.2 is not and must receive nothing. */
static void test_answer_candidates_outside_the_allow_list_are_dropped(void **state)
{
    (void)state;
    int port_in, port_out;
    int fd_in = udp_listener("127.0.0.3", &port_in);
    int fd_out = udp_listener("127.0.0.2", &port_out);
    char *offer = NULL;
    char *sid = open_offer("{\"stream_types\": [\"color\"]}", &offer);
    g_free(offer);
    /* An answer that is valid for the offer: the REST viewer's, with its
     * own candidates replaced by the two fake ones. */
    struct robotfix *fx = *state;
    char *offer2 = NULL;
    char *sid2 = open_offer("{\"stream_types\": [\"color\"]}", &offer2);
    struct rtcpeer *v = robotfix_viewer(fx, &(struct rtcpeer_opts){.offer_sdp = offer2});
    g_free(offer2);
    const char *answer = rtcpeer_wait_local_answer(v, robotfix_wait(5000));
    assert_non_null(answer);
    GString *sdp = g_string_new(NULL);
    char **lines = g_strsplit(answer, "\r\n", -1);
    bool first_media = true;
    for (char **l = lines; *l && **l; l++) {
        if (g_str_has_prefix(*l, "a=candidate:") || g_str_has_prefix(*l, "a=end-of-candidates"))
            continue;
        g_string_append_printf(sdp, "%s\r\n", *l);
        if (g_str_has_prefix(*l, "m=") && first_media) {
            first_media = false;
            g_string_append_printf(sdp,
                                   "a=candidate:1 1 UDP 2130706431 127.0.0.2 %d typ host\r\n"
                                   "a=candidate:2 1 UDP 2130706431 127.0.0.3 %d typ host\r\n",
                                   port_out, port_in);
        }
    }
    g_strfreev(lines);
    json_t *req = json_pack("{s:s, s:s, s:s}", "session_id", sid, "sdp", sdp->str, "type",
                            "answer");
    g_string_free(sdp, TRUE);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_decref(api("POST", "/api/webrtc/answer", body, 200));
    free(body);
    int in = count_datagrams(fd_in, robotfix_wait(4000));
    int out = count_datagrams(fd_out, 1000);
    if (in == 0)
        fail_msg("the allowed candidate 127.0.0.3 got no connectivity check: the test cannot "
                 "tell a filtered candidate from an unused one");
    assert_int_equal(out, 0);
    close(fd_in);
    close(fd_out);
    g_free(sid);
    g_free(sid2);
}

static const char *const limit_robot_args[] = {"--api-port", "8000", "--api-max-body", "4096",
                                               "--max-sessions", "1", NULL};
static const struct robotfix_config limit_config = {.robot_args = limit_robot_args};

static bool one_session(void *user)
{
    (void)user;
    json_t *list = api("GET", "/api/webrtc/sessions", NULL, 200);
    bool one = json_array_size(list) == 1;
    json_decref(list);
    return one;
}

static void test_offers_beyond_the_session_limit_get_503(void **state)
{
    struct robotfix *fx = *state;
    char *sid = open_offer("{\"stream_types\": [\"color\"]}", NULL);
    expect_detail(api("POST", "/api/webrtc/offer", "{\"stream_types\": [\"depth\"]}", 503),
                  "at most 1 sessions");
    json_decref(api("DELETE", pathf("/api/webrtc/sessions/%s", sid), NULL, 200));
    g_free(sid);
    sid = open_offer("{\"stream_types\": [\"depth\"]}", NULL);
    json_decref(api("DELETE", "/api/webrtc/sessions", NULL, 200));
    g_free(sid);

    /* A client that hangs up while its offer gathers candidates: the
     * session stays (until it times out or is closed), the robot serves. */
    struct wsc *c = http_send(API_PORT, "POST", "/api/webrtc/offer",
                              NULL, "{\"stream_types\": [\"color\"]}", false,
                              robotfix_wait(3000));
    assert_non_null(c);
    wsc_abort(c);
    if (!rtcpeer_run_until(one_session, NULL, robotfix_wait(3000)))
        fail_msg("the offer of a client that hung up opened no session");
    rtcpeer_run_for(robotfix_wait(500)); /* its offer is ready by now, and dropped */
    json_t *all = api("DELETE", "/api/webrtc/sessions", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(all, "closed")), 1);
    json_decref(all);
    assert_true(harness_proc_alive(&fx->robot));
    sid = open_offer("{\"stream_types\": [\"color\"]}", NULL);
    g_free(sid);
}

/* ---- through the cloud ---- */

/* Sends a robot-request on c and returns the robot-response for it
 * (the caller owns it), whose status must be want_status. */
#define cloud_request(c, fx, id, method, path, body, want) \
    cloud_request_((c), (fx), (id), (method), (path), (body), (want), __FILE__, __LINE__)
static json_t *cloud_request_(struct wsc *c, struct robotfix *fx, const char *id,
                              const char *method, const char *path, json_t *body,
                              int want_status, const char *file, int line)
{
    json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "robot-request", "requestId", id,
                            "robotId", fx->robot_id, "method", method, "path", path);
    if (body)
        json_object_set_new(req, "body", body);
    if (wsc_send_json(c, req) != 0) {
        print_error("cannot send robot-request %s\n", id);
        _fail(file, line);
    }
    json_t *r = wsc_expect_type(c, "robot-response", robotfix_wait(5000));
    if (!r) {
        print_error("no robot-response for %s %s (last: %s)\n", method, path, wsc_last_text(c));
        _fail(file, line);
    }
    const char *rid = json_string_value(json_object_get(r, "requestId"));
    int status = (int)json_integer_value(json_object_get(r, "status"));
    if (!rid || strcmp(rid, id) != 0 || status != want_status ||
        !json_is_string(json_object_get(r, "robotId")) ||
        strcmp(json_string_value(json_object_get(r, "robotId")), fx->robot_id) != 0) {
        print_error("robot-response for %s %s %s: %s (wanted status %d)\n", id, method, path,
                    wsc_last_text(c), want_status);
        json_decref(r);
        _fail(file, line);
    }
    return r;
}

/* The body of robot-response r (borrowed). */
static json_t *response_body(json_t *r)
{
    return json_object_get(r, "body");
}

static void test_the_api_answers_through_the_cloud(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    struct wsc *c = harness_client(fx->cloud.port, NULL, NULL);

    /* robot-request on the WebSocket. */
    json_t *r = cloud_request(c, fx, "q1", "GET", "/api/devices/", NULL, 200);
    json_t *list = response_body(r);
    assert_int_equal(json_array_size(list), 1);
    expect_device_info(json_array_get(list, 0), serial());
    assert_true(json_is_true(json_object_get(json_array_get(list, 0), "is_streaming")));
    json_decref(r);
    r = cloud_request(c, fx, "q2", "PUT", option_path(1, "contrast"), json_pack("{s:i}", "value",
                                                                                 70), 200);
    assert_true(json_number_value(json_object_get(response_body(r), "current_value")) == 70);
    json_decref(r);
    assert_true(option_value(1, "contrast") == 70);

    /* The HTTP proxy: /api/robots/{robotId}/{rest}. */
    const char *proxied = pathf("/api/robots/%s/devices/%s/sensors/%s-sensor-1/options/brightness",
                                fx->robot_id, serial(), serial());
    struct http_response h;
    assert_int_equal(http_request(fx->cloud.port, "PUT", proxied, NULL, "{\"value\": 20}",
                                  robotfix_wait(5000), &h), 0);
    if (h.status != 200)
        fail_msg("PUT through the cloud: %d %s", h.status, h.body);
    json_t *o = json_loads(h.body, 0, NULL);
    assert_non_null(o);
    assert_true(json_number_value(json_object_get(o, "current_value")) == 20);
    json_decref(o);
    http_response_free(&h);
    assert_true(option_value(1, "brightness") == 20);
    assert_int_equal(http_request(fx->cloud.port, "GET", proxied, NULL, NULL, robotfix_wait(5000),
                                  &h), 0);
    assert_int_equal(h.status, 200);
    o = json_loads(h.body, 0, NULL);
    assert_true(json_number_value(json_object_get(o, "current_value")) == 20);
    json_decref(o);
    http_response_free(&h);

    /* Malformed requests get the robot's 4xx, through both. */
    r = cloud_request(c, fx, "b1", "PUT", option_path(1, "brightness"), json_string("bright"),
                      422);
    expect_detail(json_incref(response_body(r)), "JSON object", "a string");
    json_decref(r);
    r = cloud_request(c, fx, "b2", "PUT", option_path(1, "brightness"),
                      json_pack("{s:i}", "value", 1000), 422);
    expect_detail(json_incref(response_body(r)), "-64", "64", "1000");
    json_decref(r);
    r = cloud_request(c, fx, "b3", "PUT", option_path(1, "brightness"), NULL, 422);
    expect_detail(json_incref(response_body(r)), "no body");
    json_decref(r);
    r = cloud_request(c, fx, "b4", "POST", dev("/stream/start"), json_pack("[]"), 422);
    expect_detail(json_incref(response_body(r)), "configs");
    json_decref(r);
    r = cloud_request(c, fx, "b5", "DELETE", option_path(1, "brightness"), NULL, 405);
    /* No headers through the cloud: the allowed methods are in the body. */
    assert_string_equal(json_string_value(json_object_get(response_body(r), "allow")),
                        "GET, PUT");
    expect_detail(json_incref(response_body(r)), "GET,PUT");
    json_decref(r);
    r = cloud_request(c, fx, "b6", "GET", "/api/devices/000000000000/sensors/", NULL, 404);
    expect_detail(json_incref(response_body(r)), serial());
    json_decref(r);
    r = cloud_request(c, fx, "b7", "GET", "/api/../../etc/passwd", NULL, 404);
    expect_detail(json_incref(response_body(r)), "no resource");
    json_decref(r);
    r = cloud_request(c, fx, "b8", "POST", "/api/webrtc/answer",
                      json_pack("{s:s, s:s, s:s}", "session_id", rtcpeer_session_id(v), "type",
                                "answer", "sdp", "v=0"),
                      409);
    expect_detail(json_incref(response_body(r)), "cloud");
    json_decref(r);
    assert_int_equal(http_request(fx->cloud.port, "PUT", proxied, NULL, "{\"value\": ",
                                  robotfix_wait(5000), &h), 0);
    assert_int_equal(h.status, 400);
    expect_detail(json_loads(h.body, 0, NULL), "line", "column");
    http_response_free(&h);
    assert_int_equal(http_request(fx->cloud.port, "PUT", proxied, NULL, "{\"value\": 99}",
                                  robotfix_wait(5000), &h), 0);
    assert_int_equal(h.status, 422);
    expect_detail(json_loads(h.body, 0, NULL), "-64", "64");
    http_response_free(&h);
    /* And a robot-request the cloud itself refuses never reaches it. */
    assert_int_equal(wsc_send_json(c, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
                                                "robot-request", "requestId", "b9", "robotId",
                                                fx->robot_id, "method", "PATCH", "path",
                                                option_path(1, "brightness"))),
                     0);
    json_t *e = wsc_expect_type(c, "error", robotfix_wait(3000));
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "invalid-field");
    json_decref(e);

    /* None of it disturbed the viewer, and the brightness it sees is the
     * one set through the cloud. */
    assert_true(option_value(1, "brightness") == 20);
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 30, robotfix_wait(10000));
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
    wsc_close(c);
}

/* ---- who may call the robot's own port ---- */

/* option 0's exposure through a raw request, for the value checks. */
static const char *raw_put_exposure(const char *headers, const char *body)
{
    return pathf("PUT %s HTTP/1.1\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 option_path(0, "exposure"), headers, strlen(body), body);
}

/* A web page must not drive the robot: not under another name (DNS
 * rebinding), not from its own origin, not with a simple text/plain POST;
 * and a request two parsers could frame differently is refused and its
 * connection closed. Nothing of it changes the robot. */
static void test_foreign_hosts_origins_and_plain_text_bodies_are_refused(void **state)
{
    (void)state;
    double before = option_value(0, "exposure");
    json_t *body = NULL;
    /* DNS rebinding: a page of rebind.example reaches 127.0.0.1:8000. */
    assert_int_equal(raw_exchange(pathf("GET /api/devices/ HTTP/1.1\r\nHost: "
                                        "rebind.example:%d\r\nConnection: close\r\n\r\n",
                                        API_PORT),
                                  &body),
                     403);
    expect_detail(body, "Host 'rebind.example:8000'", "127.0.0.1, localhost or [::1]");
    assert_int_equal(raw_exchange(raw_put_exposure("Host: rebind.example\r\nContent-Type: "
                                                   "application/json\r\n",
                                                   "{\"value\": 9000}"),
                                  &body),
                     403);
    expect_detail(body, "Host 'rebind.example'");
    /* Loopback names, with or without the port, are this API's. */
    static const char *const hosts[] = {"localhost:8000", "127.0.0.1", "[::1]:8000",
                                        "LOCALHOST"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        int status = raw_exchange(pathf("GET /api/devices/ HTTP/1.1\r\nHost: %s\r\n"
                                        "Connection: close\r\n\r\n", hosts[i]),
                                  &body);
        if (status != 200)
            fail_msg("Host %s: status %d", hosts[i], status);
        json_decref(body);
    }
    /* A page of another origin, even with JSON. */
    assert_int_equal(raw_exchange(raw_put_exposure("Host: 127.0.0.1:8000\r\nOrigin: "
                                                   "https://evil.example\r\nContent-Type: "
                                                   "application/json\r\n",
                                                   "{\"value\": 9000}"),
                                  &body),
                     403);
    expect_detail(body, "Origin 'https://evil.example'", "--api-allowed-origins");
    assert_int_equal(raw_exchange(pathf("GET /api/webrtc/sessions HTTP/1.1\r\nHost: "
                                        "localhost:8000\r\nOrigin: null\r\nConnection: "
                                        "close\r\n\r\n"),
                                  &body),
                     403);
    expect_detail(body, "Origin 'null'");
    /* A simple cross-site POST (text/plain, or a form) carries no JSON. */
    static const char *const types[] = {"text/plain", "text/plain;charset=UTF-8",
                                        "application/x-www-form-urlencoded"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char headers[160];
        snprintf(headers, sizeof headers, "Host: 127.0.0.1:8000\r\nContent-Type: %s\r\n",
                 types[i]);
        assert_int_equal(raw_exchange(raw_put_exposure(headers, "{\"value\": 9000}"), &body),
                         415);
        expect_detail(body, "Content-Type: application/json", types[i]);
    }
    assert_int_equal(raw_exchange(raw_put_exposure("Host: 127.0.0.1:8000\r\n",
                                                   "{\"value\": 9000}"),
                                  &body),
                     415);
    expect_detail(body, "got none");
    assert_int_equal(raw_exchange(pathf("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                        "text/plain\r\nContent-Length: 2\r\nConnection: close"
                                        "\r\n\r\n{}", dev("/hw_reset")),
                                  &body),
                     415);
    json_decref(body);
    /* Two Content-Length headers: 400 at once, and the connection closes
     * (libsoup would wait for a body of the last one's length). */
    int64_t t0 = wsc_now_ms();
    assert_int_equal(raw_exchange(raw_put_exposure("Host: 127.0.0.1\r\nContent-Type: "
                                                   "application/json\r\nContent-Length: 900\r\n",
                                                   "{\"value\": 9000}"),
                                  &body),
                     400);
    expect_detail(body, "2 Content-Length headers");
    assert_true(wsc_now_ms() - t0 < robotfix_wait(2000));
    assert_int_equal(raw_exchange(pathf("GET /api/devices/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Host: rebind.example\r\nConnection: close\r\n\r\n"),
                                  &body),
                     400);
    expect_detail(body, "2 Host headers");
    /* A smuggled second request behind a short Content-Length is never served. */
    assert_int_equal(raw_exchange(pathf("PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                        "application/json\r\nContent-Length: 200\r\n"
                                        "Content-Length: 15\r\n\r\n{\"value\": 9000}"
                                        "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                        "application/json\r\nContent-Length: 15\r\n"
                                        "Connection: close\r\n\r\n{\"value\": 9100}",
                                        option_path(0, "exposure"),
                                        option_path(0, "exposure")),
                                  &body),
                     400);
    json_decref(body);
    /* None of it changed anything, and the API still serves. */
    assert_true(option_value(0, "exposure") == before);
    set_option(0, "exposure", 9000);
    assert_true(option_value(0, "exposure") == 9000);
}

#define API_TOKEN "test-api-token-0123456789"

static const char *const guarded_args[] = {"--api-port", "8000", "--api-token", API_TOKEN,
                                           "--api-allowed-origins",
                                           "http://localhost:3000", NULL};
static const struct robotfix_config guarded_config = {.robot_args = guarded_args};

/* One request with extra headers; returns the status and fills *r. */
static int guarded(const char *method, const char *path, const char *headers, const char *body,
                   struct http_response *r)
{
    assert_int_equal(http_request(API_PORT, method, path, headers, body, robotfix_wait(5000), r),
                     0);
    return r->status;
}

/* With --api-token every request needs it; an allowed origin gets CORS
 * answers (and its preflight needs no token, as browsers send none). */
static void test_a_token_and_allowed_origins_guard_the_api(void **state)
{
    (void)state;
    struct http_response r;
    assert_int_equal(guarded("GET", "/api/devices/", NULL, NULL, &r), 401);
    char *www = http_header(&r, "WWW-Authenticate");
    assert_non_null(www);
    assert_string_equal(www, "Bearer");
    free(www);
    expect_detail(json_loads(r.body, 0, NULL), "Authorization: Bearer");
    http_response_free(&r);
    assert_int_equal(guarded("GET", "/api/devices/", "Authorization: Bearer wrong-token\r\n",
                             NULL, &r), 401);
    expect_detail(json_loads(r.body, 0, NULL), "not this API's");
    assert_null(strstr(r.body, API_TOKEN));
    http_response_free(&r);
    assert_int_equal(guarded("PUT", option_path(0, "exposure"),
                             "Authorization: Bearer " API_TOKEN "\r\n", "{\"value\": 7000}", &r),
                     200);
    http_response_free(&r);

    /* The allowed origin: a preflight, then the call with the token. */
    assert_int_equal(guarded("OPTIONS", "/api/webrtc/offer",
                             "Origin: http://localhost:3000\r\nAccess-Control-Request-Method: "
                             "POST\r\nAccess-Control-Request-Headers: content-type,"
                             "authorization\r\n", NULL, &r),
                     204);
    char *acao = http_header(&r, "Access-Control-Allow-Origin");
    char *methods = http_header(&r, "Access-Control-Allow-Methods");
    char *allowed = http_header(&r, "Access-Control-Allow-Headers");
    assert_string_equal(acao ? acao : "", "http://localhost:3000");
    assert_non_null(strstr(methods ? methods : "", "POST"));
    assert_non_null(strstr(allowed ? allowed : "", "Authorization"));
    free(acao);
    free(methods);
    free(allowed);
    http_response_free(&r);
    assert_int_equal(guarded("GET", "/api/devices/",
                             "Origin: http://localhost:3000\r\nAuthorization: Bearer " API_TOKEN
                             "\r\n", NULL, &r),
                     200);
    acao = http_header(&r, "Access-Control-Allow-Origin");
    assert_string_equal(acao ? acao : "", "http://localhost:3000");
    free(acao);
    http_response_free(&r);
    /* Other origins, even with the token, and no CORS grant for them. */
    assert_int_equal(guarded("GET", "/api/devices/",
                             "Origin: http://localhost:3001\r\nAuthorization: Bearer " API_TOKEN
                             "\r\n", NULL, &r),
                     403);
    assert_null(http_header(&r, "Access-Control-Allow-Origin"));
    http_response_free(&r);
    assert_int_equal(guarded("OPTIONS", "/api/devices/", "Origin: https://evil.example\r\n",
                             NULL, &r),
                     403);
    http_response_free(&r);
    /* Calls through the cloud are the cloud's to authorize. */
    struct robotfix *fx = *state;
    struct wsc *c = harness_client(fx->cloud.port, NULL, NULL);
    json_t *resp = cloud_request(c, fx, "t1", "GET", option_path(0, "exposure"), NULL, 200);
    assert_true(json_number_value(json_object_get(response_body(resp), "current_value")) ==
                7000);
    json_decref(resp);
    wsc_close(c);
}

/* Off loopback the API needs a token: without one the robot refuses to
 * start; with one, any Host may reach it (the token guards it). */
static void test_an_api_beyond_loopback_needs_a_token(void **state)
{
    struct robotfix *fx = *state;
    const char *id = harness_name("open-api");
    const char *const bare[] = {"--cloud-url", fx->url, "--robot-id", id, "--api-bind",
                                "0.0.0.0", "--api-port", "8001", NULL};
    struct proc p;
    assert_int_equal(harness_start_robot(&p, bare), 0);
    assert_int_equal(harness_proc_wait_exit(&p, robotfix_wait(10000)), 2);

    char dir[] = "/tmp/test_robot_api.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[64];
    snprintf(file, sizeof file, "%s/api.token", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(API_TOKEN "\n", f);
    fclose(f);
    const char *const tokened[] = {"--cloud-url", fx->url, "--robot-id", id, "--api-bind",
                                   "0.0.0.0", "--api-port", "8001", "--api-token-file", file,
                                   "--ice-allow", "127.0.0.1", NULL};
    assert_int_equal(harness_start_robot(&p, tokened), 0);
    /* It listens before it connects to the cloud. */
    assert_true(harness_robot_listed(fx->cloud.port, id, robotfix_wait(10000)));
    json_t *body = NULL;
    assert_int_equal(raw_exchange_port(8001, "GET /api/devices/ HTTP/1.1\r\nHost: robot.lan:8001"
                                             "\r\nConnection: close\r\n\r\n", &body),
                     401);
    json_decref(body);
    assert_int_equal(raw_exchange_port(8001, "GET /api/devices/ HTTP/1.1\r\nHost: robot.lan:8001"
                                             "\r\nAuthorization: Bearer " API_TOKEN "\r\n"
                                             "Connection: close\r\n\r\n", &body),
                     200);
    assert_int_equal(json_array_size(body), 1);
    json_decref(body);
    assert_int_equal(harness_proc_stop(&p, robotfix_wait(10000)), 0);
    unlink(file);
    rmdir(dir);
}

#define API_TEST(fn) \
    cmocka_unit_test_prestate_setup_teardown(fn, robotfix_setup, robotfix_teardown, \
                                             (void *)&api_config)

static const char *const no_cloud_api_args[] = {"--api-port", "8000", "--cloud-api=off", NULL};
static const struct robotfix_config no_cloud_api_config = {.robot_args = no_cloud_api_args};

/* --cloud-api off: the robot refuses every call relayed by the cloud (403,
 * nothing changed) and still serves its own port. */
static void test_cloud_api_off_refuses_relayed_calls(void **state)
{
    struct robotfix *fx = *state;
    struct wsc *c = harness_client(fx->cloud.port, NULL, NULL);
    json_t *r = cloud_request(c, fx, "n1", "GET", "/api/devices/", NULL, 403);
    expect_detail(json_incref(response_body(r)), "--cloud-api");
    json_decref(r);
    r = cloud_request(c, fx, "n2", "PUT", option_path(1, "contrast"),
                      json_pack("{s:i}", "value", 70), 403);
    json_decref(r);
    assert_true(option_value(1, "contrast") == 50);
    json_t *list = api("GET", "/api/devices/", NULL, 200);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        API_TEST(test_devices_are_listed_and_found_by_serial),
        API_TEST(test_an_unknown_device_is_404_naming_the_real_serial),
        API_TEST(test_sensors_are_listed_with_profiles_and_options),
        API_TEST(test_options_are_listed_and_described),
        API_TEST(test_put_option_sets_the_value_and_get_shows_it),
        API_TEST(test_put_option_refuses_bad_values),
        API_TEST(test_wrong_methods_paths_and_bodies_get_405_404_413_411),
        API_TEST(test_color_options_change_the_decoded_brightness),
        API_TEST(test_laser_power_and_emitter_change_the_infrared_dots),
        API_TEST(test_stream_start_status_and_stop),
        API_TEST(test_stream_start_refuses_bad_configs),
        API_TEST(test_point_cloud_measures_the_simulated_scene),
        API_TEST(test_hw_reset_keeps_a_viewer_decoding),
        API_TEST(test_webrtc_sessions_are_opened_listed_and_closed),
        API_TEST(test_webrtc_answers_and_candidates_are_checked),
        API_TEST(test_a_rest_viewer_streams_and_shares_the_encoder),
        cmocka_unit_test_prestate_setup_teardown(test_offers_beyond_the_session_limit_get_503,
                                                 robotfix_setup, robotfix_teardown,
                                                 (void *)&limit_config),
        API_TEST(test_the_api_answers_through_the_cloud),
        cmocka_unit_test_prestate_setup_teardown(
            test_answer_candidates_outside_the_allow_list_are_dropped, robotfix_setup,
            robotfix_teardown, (void *)&allow_config),
        cmocka_unit_test_prestate_setup_teardown(test_cloud_api_off_refuses_relayed_calls,
                                                 robotfix_setup, robotfix_teardown,
                                                 (void *)&no_cloud_api_config),
        API_TEST(test_foreign_hosts_origins_and_plain_text_bodies_are_refused),
        cmocka_unit_test_prestate_setup_teardown(test_a_token_and_allowed_origins_guard_the_api,
                                                 robotfix_setup, robotfix_teardown,
                                                 (void *)&guarded_config),
        API_TEST(test_an_api_beyond_loopback_needs_a_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
