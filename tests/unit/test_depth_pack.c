/* test_depth_pack.c - the depth channel's binary layout: round trips of
 * both codecs, exact decimation and colour alignment, chunking, refusal of
 * malformed frames, and deprojected samples of the simulated scene against
 * its analytic floor and spheres. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "depth_analytic.h"
#include "robot/camera.h"
#include "robot/depth_pack.h"
#include "robot/pointcloud.h"
#include "robot/sim_scene.h"

static const struct cam_extrinsics identity = {.rotation = {1, 0, 0, 0, 1, 0, 0, 0, 1}};

/* A w x h Z16 frame of a tilted plane with a hole, and an RGB8 frame whose
 * pixel (x, y) is (x, y, x ^ y) (low bytes): every pixel is told apart. */
struct pair {
    struct cam_frame depth, color;
    struct cam_intrinsics in;
};

static struct pair make_pair(int w, int h)
{
    struct pair p = {0};
    uint16_t *d = malloc((size_t)w * h * 2);
    uint8_t *c = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            d[y * w + x] = (x > 10 && x < 14 && y > 5 && y < 9) ? 0 : (uint16_t)(1000 + 3 * x + 7 * y);
            uint8_t *px = c + 3 * (size_t)(y * w + x);
            px[0] = (uint8_t)x, px[1] = (uint8_t)y, px[2] = (uint8_t)(x ^ y);
        }
    p.depth = (struct cam_frame){.stream = CAM_DEPTH, .format = CAM_FORMAT_Z16, .width = w,
                                 .height = h, .stride = (size_t)w * 2, .number = 42,
                                 .capture_wall_us = 1765000000123456, .capture_mono_us = 987654321,
                                 .data = (uint8_t *)d};
    p.color = (struct cam_frame){.stream = CAM_COLOR, .format = CAM_FORMAT_RGB8, .width = w,
                                 .height = h, .stride = (size_t)w * 3, .data = c};
    p.in = (struct cam_intrinsics){.width = w, .height = h, .ppx = w / 2.0, .ppy = h / 2.0,
                                   .fx = 60, .fy = 60, .model = "none"};
    return p;
}

static void free_pair(struct pair *p)
{
    free((void *)p->depth.data);
    free((void *)p->color.data);
}

static const uint16_t *z16(const struct cam_frame *f, int x, int y)
{
    return (const uint16_t *)(f->data + (size_t)y * f->stride) + x;
}

static void round_trip(enum depth_codec codec, int dec, bool color)
{
    struct pair p = make_pair(64, 48);
    struct depth_pack_input in = {.depth = &p.depth, .depth_scale = 0.001, .din = &p.in,
                                  .color = color ? &p.color : NULL, .cin = &p.in, .d2c = &identity};
    size_t len = 0;
    uint8_t *buf = depth_pack_frame(&in, dec, codec, &len);
    assert_non_null(buf);
    struct depth_frame_info fi;
    uint16_t *mm = NULL;
    uint8_t *rgb = NULL;
    char err[128];
    assert_int_equal(depth_unpack_frame(buf, len, &fi, &mm, &rgb, err, sizeof err), 0);
    assert_int_equal(fi.number, 42);
    assert_int_equal(fi.wall_us, 1765000000123456);
    assert_int_equal(fi.mono_us, 987654321);
    assert_int_equal(fi.width, (64 + dec - 1) / dec);
    assert_int_equal(fi.height, (48 + dec - 1) / dec);
    assert_int_equal(fi.decimation, dec);
    assert_int_equal(fi.codec, codec);
    assert_float_equal(fi.unit_m, 0.001, 0);
    assert_float_equal(fi.fx, 60, 0);
    assert_float_equal(fi.ppx, 32, 0);
    /* Decimation is exact subsampling: sample (i, j) is pixel (i*dec, j*dec). */
    for (int j = 0; j < fi.height; j++)
        for (int i = 0; i < fi.width; i++) {
            assert_int_equal(mm[j * fi.width + i], *z16(&p.depth, i * dec, j * dec));
            if (!color)
                continue;
            const uint8_t *c = rgb + 3 * (size_t)(j * fi.width + i);
            if (mm[j * fi.width + i] == 0) {
                assert_true(c[0] == 0 && c[1] == 0 && c[2] == 0);
            } else { /* identity extrinsics, equal intrinsics: the same pixel */
                assert_int_equal(c[0], i * dec);
                assert_int_equal(c[1], j * dec);
                assert_int_equal(c[2], (i * dec) ^ (j * dec));
            }
        }
    assert_true(color ? rgb != NULL : rgb == NULL);
    free(mm);
    free(rgb);
    free(buf);
    free_pair(&p);
}

/* One packer over frames of changing size, decimation and colour (its
 * buffers grow, then are reused): each frame's bytes are those of a packer
 * of its own. */
static void test_a_kept_packer_packs_as_a_new_one(void **state)
{
    (void)state;
    struct pair small = make_pair(32, 24), big = make_pair(64, 48);
    const struct { struct pair *p; int dec; bool color; } steps[] = {
        {&small, 1, false}, {&big, 1, true}, {&small, 2, true}, {&big, 4, false}, {&big, 1, true}};
    struct depth_packer pk = {0};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        struct pair *p = steps[k].p;
        struct depth_pack_input in = {.depth = &p->depth, .depth_scale = 0.001, .din = &p->in,
                                      .color = steps[k].color ? &p->color : NULL, .cin = &p->in,
                                      .d2c = &identity};
        size_t kept_len = 0, once_len = 0;
        const uint8_t *kept = depth_packer_pack(&pk, &in, steps[k].dec, DEPTH_CODEC_DELTA_LZ4,
                                                &kept_len);
        uint8_t *once = depth_pack_frame(&in, steps[k].dec, DEPTH_CODEC_DELTA_LZ4, &once_len);
        assert_non_null(kept);
        assert_non_null(once);
        assert_int_equal(kept_len, once_len);
        assert_memory_equal(kept, once, once_len);
        free(once);
    }
    depth_packer_free(&pk);
    assert_null(pk.out);
    assert_int_equal(pk.out_cap, 0);
    free_pair(&small);
    free_pair(&big);
}

/* A sender's packers (depth_packers_done): kept, with their buffers, over
 * the frames that pack nothing between two of a slow link's (one a second
 * from a 30/s camera), and freed once unused for DEPTH_PACKER_IDLE_US. */
static void test_packers_outlive_the_frames_between_a_slow_links(void **state)
{
    (void)state;
    struct pair p = make_pair(64, 48);
    struct depth_pack_input in = {.depth = &p.depth, .depth_scale = 0.001, .din = &p.in,
                                  .cin = &p.in, .d2c = &identity};
    struct depth_packers set = {0};
    size_t len;
    int64_t t = 1000000000; /* a capture clock far from zero */
    /* Two links at 1/s, on two variants, for three seconds of frames. */
    for (int second = 0; second < 3; second++) {
        assert_non_null(depth_packer_pack(&set.p[0], &in, 1, DEPTH_CODEC_DELTA_LZ4, &len));
        assert_non_null(depth_packer_pack(&set.p[1], &in, 2, DEPTH_CODEC_DELTA_LZ4, &len));
        const uint8_t *out0 = set.p[0].out, *out1 = set.p[1].out;
        depth_packers_done(&set, 2, t);
        for (int frame = 1; frame < 30; frame++) { /* nothing due */
            depth_packers_done(&set, 0, t + frame * 33333);
            assert_ptr_equal(set.p[0].out, out0);
            assert_ptr_equal(set.p[1].out, out1);
        }
        t += 1000000;
    }
    /* Then only the first link: the second variant's packer goes once it
     * has been unused for DEPTH_PACKER_IDLE_US, and not before. */
    int64_t last1 = t - 1000000;
    for (; t - last1 <= DEPTH_PACKER_IDLE_US; t += 33333) {
        assert_non_null(depth_packer_pack(&set.p[0], &in, 1, DEPTH_CODEC_DELTA_LZ4, &len));
        depth_packers_done(&set, 1, t);
        assert_non_null(set.p[1].out);
    }
    depth_packers_done(&set, 1, t);
    assert_null(set.p[1].out);
    assert_int_equal(set.p[1].out_cap, 0);
    assert_non_null(set.p[0].out);
    depth_packers_free(&set);
    assert_null(set.p[0].out);
    free_pair(&p);
}

static void test_raw_frames_round_trip(void **state)
{
    (void)state;
    round_trip(DEPTH_CODEC_RAW, 1, false);
    round_trip(DEPTH_CODEC_RAW, 3, true);
}

static void test_lz4_frames_round_trip_at_every_decimation(void **state)
{
    (void)state;
    for (int dec = 1; dec <= DEPTH_PACK_MAX_DECIMATION; dec++) {
        round_trip(DEPTH_CODEC_DELTA_LZ4, dec, false);
        round_trip(DEPTH_CODEC_DELTA_LZ4, dec, true);
    }
}

static void test_color_follows_the_extrinsics(void **state)
{
    (void)state;
    /* A flat wall at 1 m, colour camera 6 cm to the right with the same
     * intrinsics: a depth point lands 60 * 0.06 / 1 = 3.6 px further left
     * (rounded: 4), so sample (i, 0) gets colour pixel x - 4. */
    struct pair p = make_pair(64, 48);
    uint16_t *d = (uint16_t *)p.depth.data;
    for (int k = 0; k < 64 * 48; k++)
        d[k] = 1000;
    struct cam_extrinsics e = identity;
    e.translation[0] = -0.06;
    struct depth_pack_input in = {.depth = &p.depth, .depth_scale = 0.001, .din = &p.in,
                                  .color = &p.color, .cin = &p.in, .d2c = &e};
    uint16_t mm[64];
    uint8_t rgb[64 * 3];
    struct cam_frame row = p.depth;
    row.height = 1;
    depth_pack_decimate(&row, 0.001, 1, mm);
    depth_pack_align_color(mm, 64, 1, 1, &in, rgb);
    assert_int_equal(rgb[0], 0); /* x - 4 < 0: off the colour image, black */
    for (int x = 4; x < 64; x++)
        assert_int_equal(rgb[3 * x], x - 4);
    free_pair(&p);
}

static void test_other_depth_scales_become_millimetres(void **state)
{
    (void)state;
    struct pair p = make_pair(8, 2);
    uint16_t *d = (uint16_t *)p.depth.data;
    d[0] = 12345;  /* 0.1 mm units: 1234.5 mm -> 1235 */
    d[1] = 65535;  /* 6.5535 m */
    uint16_t mm[16];
    depth_pack_decimate(&p.depth, 0.0001, 1, mm);
    assert_int_equal(mm[0], 1235);
    assert_int_equal(mm[1], 6554);
    d[0] = 40000;  /* at 0.01 m units: 400 m saturates */
    depth_pack_decimate(&p.depth, 0.01, 1, mm);
    assert_int_equal(mm[0], 65535);
    free_pair(&p);
}

static void test_chunks_carry_the_frame_in_order(void **state)
{
    (void)state;
    size_t len = 3 * DEPTH_CHUNK_DATA + 17;
    uint8_t *frame = malloc(len), *back = calloc(1, len), msg[DEPTH_CHUNK_BYTES];
    for (size_t i = 0; i < len; i++)
        frame[i] = (uint8_t)(i * 31);
    assert_int_equal(depth_chunk_count(len), 4);
    assert_int_equal(depth_chunk_count(DEPTH_CHUNK_DATA), 1);
    for (size_t k = 0; k < 4; k++) {
        size_t n = depth_chunk_write(msg, frame, len, 0x100000007ull, k);
        assert_true(n <= DEPTH_CHUNK_BYTES);
        assert_memory_equal(msg, "PHDC", 4);
        assert_int_equal(msg[4], 7); /* frame number mod 2^32, little-endian */
        assert_int_equal(msg[8] | msg[9] << 8, k);
        assert_int_equal(msg[10] | msg[11] << 8, 4);
        assert_int_equal(msg[12] | msg[13] << 8 | msg[14] << 16, len);
        memcpy(back + k * DEPTH_CHUNK_DATA, msg + DEPTH_CHUNK_HEADER_BYTES,
               n - DEPTH_CHUNK_HEADER_BYTES);
    }
    assert_memory_equal(back, frame, len);
    free(frame);
    free(back);
}

static void test_malformed_frames_are_refused(void **state)
{
    (void)state;
    struct pair p = make_pair(32, 16);
    struct depth_pack_input in = {.depth = &p.depth, .depth_scale = 0.001, .din = &p.in};
    size_t len;
    uint8_t *buf = depth_pack_frame(&in, 1, DEPTH_CODEC_DELTA_LZ4, &len);
    struct depth_frame_info fi;
    uint16_t *mm = NULL;
    char err[128];
    assert_int_equal(depth_unpack_frame(buf, len - 1, &fi, &mm, NULL, err, sizeof err), -1);
    assert_int_equal(depth_unpack_frame(buf, 10, &fi, &mm, NULL, err, sizeof err), -1);
    uint8_t *bad = malloc(len);
    const size_t at[] = {0, 4, 5, 6, 32, 36, 55, 80, 90, len - 2};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        memcpy(bad, buf, len);
        bad[at[k]] ^= 0xff;
        /* Either refused, or (a flipped sample) decoded to the same size. */
        if (depth_unpack_frame(bad, len, &fi, &mm, NULL, err, sizeof err) == 0) {
            assert_true(at[k] >= DEPTH_PACK_HEADER_BYTES);
            free(mm);
        } else {
            assert_true(err[0] != 0);
        }
    }
    free(bad);
    free(buf);
    free_pair(&p);
}

/* Renders the sim scene, packs it at decimation 2, unpacks, deprojects
 * every sample and compares with the analytic floor and spheres. */
static void test_deprojected_samples_match_the_simulated_geometry(void **state)
{
    (void)state;
    const int w = 640, h = 480, dec = 2;
    const double t = 3.7;
    struct sim_scene *sc = sim_scene_new(w, h);
    uint16_t *depth = malloc((size_t)w * h * 2);
    struct sim_objects objs;
    sim_scene_objects_at(t, &objs);
    sim_scene_render(sc, &objs, &(struct sim_render){.depth = depth, .depth_stride = 2 * (size_t)w});
    struct cam_frame f = {.stream = CAM_DEPTH, .format = CAM_FORMAT_Z16, .width = w, .height = h,
                          .stride = 2 * (size_t)w, .data = (uint8_t *)depth};
    double fl = sim_scene_focal(w);
    struct cam_intrinsics in = {.width = w, .height = h, .ppx = w / 2.0, .ppy = h / 2.0,
                                .fx = fl, .fy = fl, .model = "brown-conrady"};
    size_t len;
    uint8_t *buf = depth_pack_frame(&(struct depth_pack_input){.depth = &f, .depth_scale = 0.001,
                                                               .din = &in},
                                    dec, DEPTH_CODEC_DELTA_LZ4, &len);
    struct depth_frame_info fi;
    uint16_t *mm;
    char err[128];
    assert_int_equal(depth_unpack_frame(buf, len, &fi, &mm, NULL, err, sizeof err), 0);
    struct cam_intrinsics fin = {.ppx = fi.ppx, .ppy = fi.ppy, .fx = fi.fx, .fy = fi.fy};
    size_t floor_ok = 0, sphere_ok = 0, skipped = 0;
    for (int j = 0; j < fi.height; j++)
        for (int i = 0; i < fi.width; i++) {
            int what;
            double u = i * fi.decimation, v = j * fi.decimation;
            double za = analytic_depth(w, h, u, v, t, &what);
            uint16_t z = mm[j * fi.width + i];
            if (what == HIT_NONE || z == 0 || fabs(z * fi.unit_m - za) > 0.002) {
                skipped++; /* sky, a box (boxes stand on the floor), a silhouette edge */
                continue;
            }
            double pc[3], pw[3];
            pointcloud_deproject(&fin, u, v, z * fi.unit_m, pc);
            sim_scene_camera_to_world(pc, pw);
            if (what == HIT_FLOOR) {
                assert_true(fabs(pw[1]) < 0.001);
                floor_ok++;
            } else {
                const struct sim_sphere *s = &objs.spheres[what];
                double dx = pw[0] - s->center[0], dy = pw[1] - s->center[1],
                       dz = pw[2] - s->center[2];
                assert_true(fabs(sqrt(dx * dx + dy * dy + dz * dz) - s->radius) < 0.001);
                sphere_ok++;
            }
        }
    assert_true(floor_ok > 20000);
    assert_true(sphere_ok > 1000);
    assert_true(skipped < (size_t)fi.width * fi.height / 2);
    free(mm);
    free(buf);
    free(depth);
    sim_scene_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_frames_round_trip),
        cmocka_unit_test(test_a_kept_packer_packs_as_a_new_one),
        cmocka_unit_test(test_packers_outlive_the_frames_between_a_slow_links),
        cmocka_unit_test(test_lz4_frames_round_trip_at_every_decimation),
        cmocka_unit_test(test_color_follows_the_extrinsics),
        cmocka_unit_test(test_other_depth_scales_become_millimetres),
        cmocka_unit_test(test_chunks_carry_the_frame_in_order),
        cmocka_unit_test(test_malformed_frames_are_refused),
        cmocka_unit_test(test_deprojected_samples_match_the_simulated_geometry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
