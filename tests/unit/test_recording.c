/* test_recording.c - unit tests of recording and replay: PNG frames that
 * keep every value (pngio.h), the TUM RGB-D layout (rgbd_dir.h), the
 * recorder's queue and limits (recorder.h), and the replay backend
 * (camera_replay.c through camera.h): a simulator recorded and replayed
 * bit for bit, a TUM directory written here replayed with TUM's defaults,
 * and bad directories refused at open with one line. */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "robot/camera.h"
#include "robot/pngio.h"
#include "robot/recorder.h"
#include "robot/rgbd_dir.h"

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh empty directory under /tmp; remove it with rm_tree. */
static char *temp_dir(void)
{
    char *d = strdup("/tmp/porthole-rec-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_tree(char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_sub(const char *dir, const char *sub)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    assert_int_equal(mkdir(path, 0755), 0);
}

/* A frame over data, rows packed unless stride says otherwise. */
static struct cam_frame frame_of(enum cam_stream s, enum cam_format fmt, int w, int h,
                                 size_t stride, const void *data, int64_t wall_us)
{
    return (struct cam_frame){.stream = s, .format = fmt, .width = w, .height = h,
                              .stride = stride, .number = 1, .capture_wall_us = wall_us,
                              .data = data};
}

static void write_png(const char *dir, const char *name, const struct cam_frame *f)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pngio_write(path, f, 1, err, sizeof err) < 0)
        fail_msg("%s", err);
}

/* A depth image whose values depend on seed, with 0 and 65535 in it. */
static uint16_t *depth_pattern(int w, int h, unsigned seed)
{
    uint16_t *d = malloc((size_t)w * h * sizeof *d);
    assert_non_null(d);
    for (int i = 0; i < w * h; i++)
        d[i] = (uint16_t)((unsigned)i * 2654435761u + seed * 40503u);
    d[0] = 0;
    d[1] = 65535;
    d[2] = 256;
    return d;
}

/* ---- PNG ---- */

static void test_png_keeps_every_depth_color_and_infrared_value(void **state)
{
    (void)state;
    char *dir = temp_dir();
    const int w = 97, h = 31;
    uint16_t *depth = depth_pattern(w, h, 7);
    /* Colour written from rows wider than the image: only width * 3 count. */
    size_t stride = 3 * (size_t)w + 5;
    uint8_t *rgb = malloc(stride * h), *ir = malloc((size_t)w * h);
    uint8_t *back = malloc((size_t)w * h * 3);
    for (size_t i = 0; i < stride * h; i++)
        rgb[i] = (uint8_t)(i * 31 + 3);
    for (int i = 0; i < w * h; i++)
        ir[i] = (uint8_t)(i * 7);

    struct cam_frame fd = frame_of(CAM_DEPTH, CAM_FORMAT_Z16, w, h, 2 * (size_t)w, depth, 0);
    struct cam_frame fc = frame_of(CAM_COLOR, CAM_FORMAT_RGB8, w, h, stride, rgb, 0);
    struct cam_frame fi = frame_of(CAM_INFRARED1, CAM_FORMAT_Y8, w, h, (size_t)w, ir, 0);
    write_png(dir, "d.png", &fd);
    write_png(dir, "c.png", &fc);
    write_png(dir, "i.png", &fi);

    char path[512], err[256];
    snprintf(path, sizeof path, "%s/d.png", dir);
    assert_int_equal(pngio_read(path, CAM_FORMAT_Z16, w, h, back, err, sizeof err), 0);
    assert_memory_equal(back, depth, (size_t)w * h * 2);
    snprintf(path, sizeof path, "%s/c.png", dir);
    assert_int_equal(pngio_read(path, CAM_FORMAT_RGB8, w, h, back, err, sizeof err), 0);
    for (int y = 0; y < h; y++)
        assert_memory_equal(back + (size_t)y * 3 * w, rgb + (size_t)y * stride, 3 * (size_t)w);
    snprintf(path, sizeof path, "%s/i.png", dir);
    assert_int_equal(pngio_read(path, CAM_FORMAT_Y8, w, h, back, err, sizeof err), 0);
    assert_memory_equal(back, ir, (size_t)w * h);
    /* Infrared is no depth: refused before decoding, with the reason. */
    assert_int_equal(pngio_read(path, CAM_FORMAT_Z16, w, h, back, err, sizeof err), -1);
    assert_non_null(strstr(err, "16-bit gray"));
    /* Colour reads as colour from a gray file too (TUM colour is RGB, but a
     * gray dataset still plays). */
    assert_int_equal(pngio_read(path, CAM_FORMAT_RGB8, w, h, back, err, sizeof err), 0);
    assert_int_equal(back[3 * 5 + 1], ir[5]);

    free(depth);
    free(rgb);
    free(ir);
    free(back);
    rm_tree(dir);
}

static void test_png_refuses_garbage_and_truncated_files(void **state)
{
    (void)state;
    char *dir = temp_dir();
    write_text(dir, "junk.png", "this is not a picture at all");
    uint16_t *depth = depth_pattern(64, 48, 1);
    struct cam_frame fd = frame_of(CAM_DEPTH, CAM_FORMAT_Z16, 64, 48, 128, depth, 0);
    write_png(dir, "d.png", &fd);
    char path[512], cut[512], err[256];
    snprintf(path, sizeof path, "%s/d.png", dir);
    snprintf(cut, sizeof cut, "%s/cut.png", dir);
    FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
    uint8_t head[200];
    size_t n = fread(head, 1, sizeof head, in);
    fwrite(head, 1, n, out);
    fclose(in);
    fclose(out);

    struct pngio_info info;
    snprintf(path, sizeof path, "%s/junk.png", dir);
    assert_int_equal(pngio_probe(path, &info, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a PNG"));
    /* The header survives the cut; the pixels do not. */
    assert_int_equal(pngio_probe(cut, &info, err, sizeof err), 0);
    assert_int_equal(info.width, 64);
    assert_int_equal(info.bit_depth, 16);
    uint16_t back[64 * 48];
    assert_int_equal(pngio_read(cut, CAM_FORMAT_Z16, 64, 48, (uint8_t *)back, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "cut.png: the file is cut short"));
    free(depth);
    rm_tree(dir);
}

/* ---- the layout ---- */

static void test_stamps_are_exact_to_the_microsecond(void **state)
{
    (void)state;
    char s[32];
    rgbd_stamp(1305031102175304, s, sizeof s);
    assert_string_equal(s, "1305031102.175304");
    rgbd_stamp(7, s, sizeof s);
    assert_string_equal(s, "0.000007");
    int64_t us;
    assert_int_equal(rgbd_stamp_parse("1305031102.175304", &us), 0);
    assert_true(us == 1305031102175304);
    assert_int_equal(rgbd_stamp_parse("1305031102.1753", &us), 0);
    assert_true(us == 1305031102175300);
    assert_int_equal(rgbd_stamp_parse("12", &us), 0);
    assert_true(us == 12000000);
    assert_int_equal(rgbd_stamp_parse("1.12345678", &us), 0);
    assert_true(us == 1123456);
    static const char *const bad[] = {"", "a", "1.2.3", "-1", ".5", "1e3", "99999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rgbd_stamp_parse(bad[i], &us), -1);
}

static void test_lists_name_the_bad_line(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"# depth\n1.0 depth/1.png\n0.5 depth/0.png\n", "depth.txt line 3: timestamps must increase"},
        {"1.0 depth/1.png extra\n", "depth.txt line 1: expected"},
        {"1.0\n", "depth.txt line 1: expected"},
        {"x depth/1.png\n", "depth.txt line 1: the timestamp"},
        {"1.0 /etc/passwd\n", "line 1: the file must be a relative path"},
        {"1.0 depth/../../x.png\n", "line 1: the file must be a relative path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = temp_dir();
        write_text(dir, "depth.txt", cases[i].text);
        struct rgbd_list l;
        char err[256] = "";
        assert_int_equal(rgbd_list_read(dir, CAM_DEPTH, &l, err, sizeof err), -1);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].want);
        rgbd_list_clear(&l);
        rm_tree(dir);
    }
    /* Comments, blank lines, CRLF and tabs are TUM's and fine. */
    char *dir = temp_dir();
    write_text(dir, "rgb.txt", "# color images\r\n\n1305031102.175304\trgb/a.png\r\n"
                               "1305031102.211214 rgb/b.png\n");
    struct rgbd_list l;
    char err[256];
    assert_int_equal(rgbd_list_read(dir, CAM_COLOR, &l, err, sizeof err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.file[1], "rgb/b.png");
    assert_true(l.stamp_us[0] == 1305031102175304);
    rgbd_list_clear(&l);
    /* No list at all is an empty one. */
    assert_int_equal(rgbd_list_read(dir, CAM_DEPTH, &l, err, sizeof err), 0);
    assert_int_equal(l.n, 0);
    rm_tree(dir);
}

/* ---- the recorder ---- */

/* Waits up to 5 s for the writer to have written n framesets. */
static void wait_written(struct recorder *rec, uint64_t n)
{
    struct recorder_stats st;
    for (int i = 0; i < 500; i++) {
        recorder_stats(rec, &st);
        if (st.framesets >= n || st.state != RECORDER_RECORDING)
            return;
        usleep(10000);
    }
}

static struct camera *open_sim(void)
{
    char err[256];
    struct cam_mode mode = {640, 480, 30};
    struct camera *cam = camera_new("sim", &mode, err, sizeof err);
    if (!cam)
        fail_msg("%s", err);
    return cam;
}

static void test_recorder_refuses_a_directory_that_is_not_empty(void **state)
{
    (void)state;
    char *dir = temp_dir();
    write_text(dir, "notes.txt", "mine\n");
    struct camera *cam = open_sim();
    struct recorder_limits lim = {.max_seconds = 10, .max_bytes = 1 << 20};
    char err[256];
    assert_null(recorder_new(dir, cam, &lim, err, sizeof err));
    assert_non_null(strstr(err, "not empty"));
    assert_null(recorder_new("/nonexistent-parent/x", cam, &lim, err, sizeof err));
    assert_non_null(strstr(err, "cannot create"));
    camera_free(cam);
    rm_tree(dir);
}

static void test_recorder_stops_at_its_byte_limit(void **state)
{
    (void)state;
    char *dir = temp_dir(), sub[512];
    snprintf(sub, sizeof sub, "%s/rec", dir);
    struct camera *cam = open_sim();
    struct recorder_limits lim = {.max_seconds = 100, .max_bytes = 1};
    char err[256];
    struct recorder *rec = recorder_new(sub, cam, &lim, err, sizeof err);
    assert_non_null(rec);
    uint16_t *depth = depth_pattern(640, 480, 3);
    struct cam_frameset set = {.count = 1};
    for (int i = 0; i < 5; i++) {
        set.frames[0] = frame_of(CAM_DEPTH, CAM_FORMAT_Z16, 640, 480, 1280, depth,
                                 1000000 + i * 33333);
        recorder_push(rec, &set);
        wait_written(rec, 1);
    }
    struct recorder_stats st;
    recorder_stats(rec, &st);
    assert_int_equal(st.state, RECORDER_LIMIT);
    assert_int_equal(st.framesets, 1);
    recorder_free(rec);
    struct rgbd_list l;
    assert_int_equal(rgbd_list_read(sub, CAM_DEPTH, &l, err, sizeof err), 0);
    assert_int_equal(l.n, 1);
    rgbd_list_clear(&l);
    free(depth);
    camera_free(cam);
    rm_tree(dir);
}

static void test_recorder_drops_and_counts_when_its_queue_is_full(void **state)
{
    (void)state;
    char *dir = temp_dir(), sub[512];
    snprintf(sub, sizeof sub, "%s/rec", dir);
    struct camera *cam = open_sim();
    struct recorder_limits lim = {.max_seconds = 1000, .max_bytes = (int64_t)1 << 40};
    char err[256];
    struct recorder *rec = recorder_new(sub, cam, &lim, err, sizeof err);
    assert_non_null(rec);
    /* 200 framesets at once: far faster than PNG encoding, so the queue
     * fills; every one is either written or counted as dropped. */
    uint16_t *depth = depth_pattern(1280, 720, 5);
    struct cam_frameset set = {.count = 1};
    for (int i = 0; i < 200; i++) {
        set.frames[0] = frame_of(CAM_DEPTH, CAM_FORMAT_Z16, 1280, 720, 2560, depth,
                                 1000000 + i * 1000);
        recorder_push(rec, &set);
    }
    recorder_free(rec); /* writes what is queued */
    struct rgbd_list l;
    assert_int_equal(rgbd_list_read(sub, CAM_DEPTH, &l, err, sizeof err), 0);
    assert_true(l.n >= RECORDER_QUEUE);
    assert_true(l.n < 200);
    /* The sidecar says how many were dropped. */
    char path[600];
    snprintf(path, sizeof path, "%s/%s", sub, RGBD_SIDECAR);
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    json_t *recd = json_object_get(doc, "recorded");
    assert_int_equal(json_integer_value(json_object_get(recd, "framesets")), l.n);
    assert_int_equal(json_integer_value(json_object_get(recd, "dropped")), 200 - (int)l.n);
    json_decref(doc);
    rgbd_list_clear(&l);
    free(depth);
    camera_free(cam);
    rm_tree(dir);
}

/* ---- the simulator recorded, then replayed ---- */

#define KEEP 120

/* Frames seen by a callback: copies of depth and colour, by capture time. */
struct seen {
    pthread_mutex_t lock;
    struct recorder *rec; /* also fed, when set */
    size_t n;
    int64_t wall[KEEP];
    uint16_t *depth[KEEP];
    uint8_t *rgb[KEEP];
    unsigned streams; /* every stream seen */
};

static void on_frames(void *user, const struct cam_frameset *set)
{
    struct seen *sn = user;
    if (sn->rec)
        recorder_push(sn->rec, set);
    pthread_mutex_lock(&sn->lock);
    if (sn->n < KEEP) {
        size_t i = sn->n++;
        for (size_t k = 0; k < set->count; k++) {
            const struct cam_frame *f = &set->frames[k];
            size_t size = f->stride * (size_t)f->height;
            sn->streams |= CAM_MASK(f->stream);
            if (f->stream == CAM_DEPTH) {
                sn->wall[i] = f->capture_wall_us;
                sn->depth[i] = malloc(size);
                memcpy(sn->depth[i], f->data, size);
            } else if (f->stream == CAM_COLOR) {
                sn->rgb[i] = malloc(size);
                memcpy(sn->rgb[i], f->data, size);
            }
        }
    }
    pthread_mutex_unlock(&sn->lock);
}

static void seen_clear(struct seen *sn)
{
    for (size_t i = 0; i < sn->n; i++) {
        free(sn->depth[i]);
        free(sn->rgb[i]);
    }
    pthread_mutex_destroy(&sn->lock);
}

/* Runs cam with mask until sn holds n framesets (at most 10 s). */
static void capture(struct camera *cam, unsigned mask, struct seen *sn, size_t n)
{
    char err[256];
    assert_int_equal(camera_start(cam, mask, on_frames, sn, err, sizeof err), 0);
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&sn->lock);
        size_t got = sn->n;
        pthread_mutex_unlock(&sn->lock);
        if (got >= n)
            break;
        usleep(10000);
    }
    camera_stop(cam);
}

static void test_simulator_recorded_replays_bit_for_bit(void **state)
{
    (void)state;
    char *dir = temp_dir(), sub[512], spec[600], err[512];
    snprintf(sub, sizeof sub, "%s/rec", dir);
    snprintf(spec, sizeof spec, "replay:%s", sub);
    struct camera *live = open_sim();
    struct recorder_limits lim = {.max_seconds = 60, .max_bytes = (int64_t)1 << 32};
    struct seen a = {.lock = PTHREAD_MUTEX_INITIALIZER};
    a.rec = recorder_new(sub, live, &lim, err, sizeof err);
    assert_non_null(a.rec);
    unsigned recorded = CAM_MASK(CAM_COLOR) | CAM_MASK(CAM_DEPTH) | CAM_MASK(CAM_INFRARED1);
    capture(live, recorded, &a, 30);
    recorder_free(a.rec);
    a.rec = NULL;

    struct camera *rp = camera_new(spec, NULL, err, sizeof err);
    if (!rp)
        fail_msg("%s", err);
    /* The recorded identity, mode, scale and intrinsics, and only the
     * recorded streams. */
    assert_string_equal(camera_serial(rp), camera_serial(live));
    assert_string_equal(camera_name(rp), camera_name(live));
    assert_int_equal(camera_streams(rp), recorded);
    assert_true(camera_depth_scale(rp) == camera_depth_scale(live));
    assert_int_equal(camera_mode(rp)->width, 640);
    assert_int_equal(camera_mode(rp)->fps, 30);
    const struct cam_intrinsics *il = camera_intrinsics(live, CAM_DEPTH);
    const struct cam_intrinsics *ir = camera_intrinsics(rp, CAM_DEPTH);
    assert_true(il->fx == ir->fx && il->fy == ir->fy && il->ppx == ir->ppx && il->ppy == ir->ppy);
    assert_string_equal(il->model, ir->model);
    assert_int_equal(camera_check_streams(rp, CAM_MASK(CAM_INFRARED2), err, sizeof err), -1);

    struct seen b = {.lock = PTHREAD_MUTEX_INITIALIZER};
    capture(rp, CAM_MASK_ALL, &b, 20);
    assert_int_equal(b.streams, recorded);
    /* The first loop carries the recorded capture times: each replayed
     * frame is the live frame of the same time, bit for bit. */
    size_t matched = 0;
    for (size_t i = 0; i < b.n; i++) {
        for (size_t j = 0; j < a.n; j++) {
            if (!b.depth[i] || !a.depth[j] || a.wall[j] != b.wall[i])
                continue;
            assert_memory_equal(b.depth[i], a.depth[j], 640 * 480 * 2);
            assert_non_null(b.rgb[i]);
            assert_memory_equal(b.rgb[i], a.rgb[j], 640 * 480 * 3);
            matched++;
        }
    }
    assert_true(matched >= 15);
    seen_clear(&a);
    seen_clear(&b);
    camera_free(rp);
    camera_free(live);
    rm_tree(dir);
}

static void expect_open_fails(const char *spec, const char *want);

/* ---- a TUM directory ---- */

#define TUM_T0 1305031102175304LL
#define TUM_N 5

/* Writes a TUM-layout directory of TUM_N colour and depth frames of w x h,
 * colour 7 ms before depth as in TUM's unsynchronised streams. */
static void write_tum(const char *dir, int w, int h)
{
    make_sub(dir, "rgb");
    make_sub(dir, "depth");
    char rgb_list[2048] = "# color images\n# file: 'rgbd_dataset_porthole.bag'\n"
                          "# timestamp filename\n";
    char depth_list[2048] = "# depth maps\n# timestamp filename\n";
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < TUM_N; i++) {
        char sc[32], sd[32], name[96], line[160];
        int64_t tc = TUM_T0 + i * 33333, td = tc + 7000;
        rgbd_stamp(tc, sc, sizeof sc);
        rgbd_stamp(td, sd, sizeof sd);
        memset(rgb, 40 * i, (size_t)w * h * 3);
        struct cam_frame fc = frame_of(CAM_COLOR, CAM_FORMAT_RGB8, w, h, 3 * (size_t)w, rgb, tc);
        snprintf(name, sizeof name, "rgb/%s.png", sc);
        write_png(dir, name, &fc);
        snprintf(line, sizeof line, "%s %s\n", sc, name);
        strcat(rgb_list, line);
        uint16_t *depth = depth_pattern(w, h, (unsigned)i);
        struct cam_frame fd = frame_of(CAM_DEPTH, CAM_FORMAT_Z16, w, h, 2 * (size_t)w, depth, td);
        snprintf(name, sizeof name, "depth/%s.png", sd);
        write_png(dir, name, &fd);
        free(depth);
        snprintf(line, sizeof line, "%s %s\n", sd, name);
        strcat(depth_list, line);
    }
    free(rgb);
    write_text(dir, "rgb.txt", rgb_list);
    write_text(dir, "depth.txt", depth_list);
}

static void test_tum_directory_replays_with_tum_scale_and_intrinsics(void **state)
{
    (void)state;
    char *dir = temp_dir(), spec[600], err[512];
    write_tum(dir, 640, 480);
    snprintf(spec, sizeof spec, "replay:%s", dir);
    struct camera *cam = camera_new(spec, NULL, err, sizeof err);
    if (!cam)
        fail_msg("%s", err);
    assert_int_equal(camera_streams(cam), CAM_MASK(CAM_COLOR) | CAM_MASK(CAM_DEPTH));
    assert_true(camera_depth_scale(cam) == 1.0 / 5000);
    assert_int_equal(camera_mode(cam)->fps, 30);
    assert_int_equal(camera_mode(cam)->height, 480);
    const struct cam_intrinsics *in = camera_intrinsics(cam, CAM_DEPTH);
    assert_true(in->fx == 525.0 && in->fy == 525.0 && in->ppx == 319.5 && in->ppy == 239.5);
    assert_string_equal(camera_name(cam), "TUM RGB-D dataset");

    struct seen sn = {.lock = PTHREAD_MUTEX_INITIALIZER};
    capture(cam, CAM_MASK_ALL, &sn, 2 * TUM_N);
    /* Colour and depth 7 ms apart come as one frameset; depth exactly as
     * written, in order, looping. */
    for (size_t i = 0; i < sn.n; i++) {
        assert_non_null(sn.depth[i]);
        assert_non_null(sn.rgb[i]);
        int64_t k = (sn.wall[i] - TUM_T0 - 7000) / 33333;
        uint16_t *want = depth_pattern(640, 480, (unsigned)(k % TUM_N));
        assert_memory_equal(sn.depth[i], want, 640 * 480 * 2);
        free(want);
    }
    seen_clear(&sn);
    camera_free(cam);
    rm_tree(dir);
}

static void test_a_recording_without_depth_replays_colour_only(void **state)
{
    (void)state;
    char *dir = temp_dir(), spec[600], err[512];
    write_tum(dir, 640, 480);
    snprintf(spec, sizeof spec, "replay:%s", dir);
    /* A webcam's recording: colour only, depth scale 0. */
    struct rgbd_meta m = {.mode = {640, 480, 30}, .depth_scale = 0};
    snprintf(m.name, sizeof m.name, "USB webcam");
    snprintf(m.serial, sizeof m.serial, "123456789012");
    m.intrinsics[CAM_COLOR] = (struct cam_intrinsics){.width = 640, .height = 480, .ppx = 320,
                                                      .ppy = 240, .fx = 500, .fy = 500,
                                                      .model = "none"};
    m.has_intrinsics[CAM_COLOR] = true;
    assert_int_equal(rgbd_meta_write(dir, &m, NULL, err, sizeof err), 0);
    /* With depth listed, a scale of 0 cannot be. */
    expect_open_fails(spec, "depthScale must be above 0");
    char path[700];
    snprintf(path, sizeof path, "%s/depth.txt", dir);
    assert_int_equal(remove(path), 0);
    struct camera *cam = camera_new(spec, NULL, err, sizeof err);
    if (!cam)
        fail_msg("%s", err);
    assert_int_equal(camera_streams(cam), CAM_MASK(CAM_COLOR));
    assert_true(camera_depth_scale(cam) == 0);
    assert_string_equal(camera_name(cam), "USB webcam");
    assert_string_equal(camera_serial(cam), "123456789012");
    assert_true(camera_intrinsics(cam, CAM_COLOR)->fx == 500);
    assert_int_equal(camera_check_streams(cam, CAM_MASK(CAM_DEPTH), err, sizeof err), -1);
    camera_free(cam);
    rm_tree(dir);
}

/* ---- bad directories ---- */

/* camera_new(spec) must fail with one line that holds want. */
static void expect_open_fails(const char *spec, const char *want)
{
    char err[1024] = "";
    struct camera *cam = camera_new(spec, NULL, err, sizeof err);
    if (cam) {
        camera_free(cam);
        fail_msg("%s opened; expected an error saying '%s'", spec, want);
    }
    if (!strstr(err, want) || strchr(err, '\n'))
        fail_msg("%s: '%s' does not say '%s' on one line", spec, err, want);
}

static void test_bad_directories_are_refused_at_open(void **state)
{
    (void)state;
    char spec[700];
    expect_open_fails("replay:/nonexistent/recording", "No such file or directory");
    expect_open_fails("replay:/etc/hostname", "not a directory");

    char *dir = temp_dir();
    snprintf(spec, sizeof spec, "replay:%s", dir);
    expect_open_fails(spec, "holds no recording");
    write_text(dir, "depth.txt", "# nothing yet\n");
    expect_open_fails(spec, "holds no recording");
    rm_tree(dir);

    /* A listed file that is not there, one that is not a PNG, one of
     * another size, an 8-bit depth map, and one cut short. */
    static const char *const wants[] = {"No such file", "not a PNG", "is 320x240",
                                        "16-bit gray", "cut short"};
    for (size_t c = 0; c < sizeof wants / sizeof wants[0]; c++) {
        dir = temp_dir();
        write_tum(dir, 640, 480);
        snprintf(spec, sizeof spec, "replay:%s", dir);
        char victim[600], name[64];
        struct rgbd_list l;
        char err[256];
        assert_int_equal(rgbd_list_read(dir, CAM_DEPTH, &l, err, sizeof err), 0);
        snprintf(name, sizeof name, "%s", l.file[c == 4 ? 0 : 2]);
        snprintf(victim, sizeof victim, "%s/%s", dir, name);
        rgbd_list_clear(&l);
        if (c == 0) {
            remove(victim);
        } else if (c == 1) {
            write_text(dir, name, "garbage");
        } else if (c == 2) {
            uint16_t *d = depth_pattern(320, 240, 0);
            struct cam_frame f = frame_of(CAM_DEPTH, CAM_FORMAT_Z16, 320, 240, 640, d, 0);
            write_png(dir, name, &f);
            free(d);
        } else if (c == 3) {
            uint8_t *g = calloc(640 * 480, 1);
            struct cam_frame f = frame_of(CAM_DEPTH, CAM_FORMAT_Y8, 640, 480, 640, g, 0);
            write_png(dir, name, &f);
            free(g);
        } else {
            /* The first file is decoded whole at open: a cut one fails. */
            assert_int_equal(truncate(victim, 300), 0);
        }
        expect_open_fails(spec, wants[c]);
        rm_tree(dir);
    }

    /* A sidecar that is not what it should be. */
    dir = temp_dir();
    write_tum(dir, 640, 480);
    snprintf(spec, sizeof spec, "replay:%s", dir);
    write_text(dir, RGBD_SIDECAR, "{\"width\": \"wide\"}");
    expect_open_fails(spec, "porthole.json: needs width");
    write_text(dir, RGBD_SIDECAR, "{not json");
    expect_open_fails(spec, "porthole.json");
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_keeps_every_depth_color_and_infrared_value),
        cmocka_unit_test(test_png_refuses_garbage_and_truncated_files),
        cmocka_unit_test(test_stamps_are_exact_to_the_microsecond),
        cmocka_unit_test(test_lists_name_the_bad_line),
        cmocka_unit_test(test_recorder_refuses_a_directory_that_is_not_empty),
        cmocka_unit_test(test_recorder_stops_at_its_byte_limit),
        cmocka_unit_test(test_recorder_drops_and_counts_when_its_queue_is_full),
        cmocka_unit_test(test_simulator_recorded_replays_bit_for_bit),
        cmocka_unit_test(test_tum_directory_replays_with_tum_scale_and_intrinsics),
        cmocka_unit_test(test_a_recording_without_depth_replays_colour_only),
        cmocka_unit_test(test_bad_directories_are_refused_at_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
