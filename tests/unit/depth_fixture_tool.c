/* depth_fixture_tool.c - makes what the JavaScript depth tests compare
 * with: a packed frame of the simulated scene and the robot's own
 * deprojection of it (fixture), and pixels of the live scene with their
 * analytic depth (pick).
 *
 *   depth_fixture_tool fixture DIR      DIR/frame.bin, DIR/chunk-N.bin, DIR/expect.json
 *   depth_fixture_tool pick W H T       {"floor":{x,y,depth},"sphere":{x,y,depth}} at scene time T */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depth_analytic.h"
#include "robot/camera.h"
#include "robot/depth_config.h"
#include "robot/depth_pack.h"
#include "robot/pointcloud.h"
#include "robot/sim_scene.h"

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

/* A sample's expectations: its depth, the robot's point, the analytic depth
 * and, through the depth->infrared-2 extrinsics, the pixel of infrared-2
 * that sees it. */
static json_t *sample_json(const struct cam_intrinsics *in, const struct cam_extrinsics *e2,
                           int i, int j, int dec, uint16_t mm, double t)
{
    double p[3];
    int u = i * dec, v = j * dec, what;
    pointcloud_deproject(in, u, v, mm * DEPTH_PACK_UNIT_M, p);
    double za = analytic_depth(in->width, in->height, u, v, t, &what);
    double q[3];
    for (int r = 0; r < 3; r++)
        q[r] = e2->rotation[3 * r] * p[0] + e2->rotation[3 * r + 1] * p[1] +
               e2->rotation[3 * r + 2] * p[2] + e2->translation[r];
    return json_pack("{s:i, s:i, s:i, s:[f,f,f], s:f, s:s, s:[f,f], s:f}", "x", u, "y", v, "mm",
                     mm, "point", p[0], p[1], p[2], "analytic", za, "what",
                     what == HIT_FLOOR ? "floor" : what >= 0 ? "sphere" : "none", "ir2",
                     q[0] / q[2] * in->fx + in->ppx, q[1] / q[2] * in->fy + in->ppy, "ir2z", q[2]);
}

static int fixture(const char *dir)
{
    const int w = 640, h = 480, dec = 2;
    const double t = 3.7;
    char err[256];
    struct camera *cam = camera_new("sim", &(struct cam_mode){w, h, 30}, err, sizeof err);
    if (!cam) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct sim_scene *sc = sim_scene_new(w, h);
    uint16_t *depth = malloc((size_t)w * h * 2);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    struct sim_objects objs;
    sim_scene_objects_at(t, &objs);
    sim_scene_render(sc, &objs, &(struct sim_render){.rgb = rgb, .rgb_stride = 3 * (size_t)w,
                     .depth = depth, .depth_stride = 2 * (size_t)w, .color_gain = 1,
                     .contrast = 50});
    struct cam_frame df = {.stream = CAM_DEPTH, .format = CAM_FORMAT_Z16, .width = w, .height = h,
                           .stride = 2 * (size_t)w, .number = 7, .capture_wall_us = 1765100000000000,
                           .capture_mono_us = (int64_t)(t * 1e6), .data = (uint8_t *)depth};
    struct cam_frame cf = {.stream = CAM_COLOR, .format = CAM_FORMAT_RGB8, .width = w, .height = h,
                           .stride = 3 * (size_t)w, .data = rgb};
    const struct cam_intrinsics *in = camera_intrinsics(cam, CAM_DEPTH);
    struct depth_pack_input pin = {.depth = &df, .depth_scale = 0.001, .din = in, .color = &cf,
                                   .cin = camera_intrinsics(cam, CAM_COLOR),
                                   .d2c = camera_extrinsics(cam, CAM_COLOR)};
    size_t len;
    uint8_t *buf = depth_pack_frame(&pin, dec, DEPTH_CODEC_DELTA_LZ4, &len);
    int rc = write_file(dir, "frame.bin", buf, len);
    uint8_t msg[DEPTH_CHUNK_BYTES];
    size_t nchunks = depth_chunk_count(len);
    for (size_t k = 0; k < nchunks && rc == 0; k++) {
        char name[32];
        snprintf(name, sizeof name, "chunk-%zu.bin", k);
        rc = write_file(dir, name, msg, depth_chunk_write(msg, buf, len, df.number, k));
    }
    int dw = depth_pack_decimated(w, dec), dh = depth_pack_decimated(h, dec);
    uint16_t *mm = malloc((size_t)dw * dh * 2);
    uint8_t *aligned = malloc((size_t)dw * dh * 3);
    depth_pack_decimate(&df, 0.001, dec, mm);
    depth_pack_align_color(mm, dw, dh, dec, &pin, aligned);
    json_t *samples = json_array();
    size_t points = 0;
    for (int j = 0; j < dh; j++)
        for (int i = 0; i < dw; i++) {
            uint16_t z = mm[j * dw + i];
            points += z != 0;
            if (z && i % 23 == 0 && j % 17 == 0) {
                json_t *s = sample_json(in, camera_extrinsics(cam, CAM_INFRARED2), i, j, dec, z, t);
                const uint8_t *c = aligned + 3 * (size_t)(j * dw + i);
                json_object_set_new(s, "rgb", json_pack("[i,i,i]", c[0], c[1], c[2]));
                json_array_append_new(samples, s);
            }
        }
    json_t *expect = json_pack("{s:o, s:i, s:i, s:i, s:I, s:f, s:I, s:I, s:o}", "calibration",
                               depth_calibration_json(cam), "width", dw, "height", dh,
                               "decimation", dec, "number", (json_int_t)df.number, "t", t,
                               "wallUs", (json_int_t)df.capture_wall_us, "points",
                               (json_int_t)points, "samples", samples);
    char *text = json_dumps(expect, JSON_INDENT(1));
    if (rc == 0)
        rc = write_file(dir, "expect.json", text, strlen(text));
    printf("fixture: %zu bytes in %zu chunks, %zu points\n", len, nchunks, points);
    free(text);
    json_decref(expect);
    free(mm);
    free(aligned);
    free(buf);
    free(depth);
    free(rgb);
    sim_scene_free(sc);
    camera_free(cam);
    return rc == 0 ? 0 : 1;
}

/* A floor pixel near the bottom centre (boxes stand at |x| > 1 m) and the
 * centre of the first sphere whose centre pixel sees that sphere. */
static int pick(int w, int h, double t)
{
    static const int floor_px[][2] = {{320, 460}, {250, 450}, {390, 450}, {320, 400}, {200, 470}};
    json_t *out = json_object();
    for (size_t k = 0; k < sizeof floor_px / sizeof floor_px[0]; k++) {
        int x = floor_px[k][0] * w / 640, y = floor_px[k][1] * h / 480, what;
        double z = analytic_depth(w, h, x, y, t, &what);
        if (what == HIT_FLOOR) {
            json_object_set_new(out, "floor", json_pack("{s:i, s:i, s:f}", "x", x, "y", y, "depth", z));
            break;
        }
    }
    struct sim_objects objs;
    sim_scene_objects_at(t, &objs);
    double f = sim_scene_focal(w);
    for (int i = 0; i < objs.nspheres; i++) {
        double c[3];
        sim_scene_world_to_camera(objs.spheres[i].center, c);
        int x = (int)lround(c[0] / c[2] * f + w / 2.0), y = (int)lround(c[1] / c[2] * f + h / 2.0);
        int what;
        double z = analytic_depth(w, h, x, y, t, &what);
        if (what == i && x > 4 && y > 4 && x < w - 4 && y < h - 4 && fabs(objs.spheres[i].center[0]) < 1.0) {
            json_object_set_new(out, "sphere", json_pack("{s:i, s:i, s:f, s:i}", "x", x, "y", y,
                                                         "depth", z, "index", i));
            break;
        }
    }
    char *text = json_dumps(out, JSON_COMPACT);
    puts(text);
    free(text);
    json_decref(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "fixture") == 0)
        return fixture(argv[2]);
    if (argc == 5 && strcmp(argv[1], "pick") == 0)
        return pick(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
    fprintf(stderr, "usage: depth_fixture_tool fixture DIR | pick W H T\n");
    return 2;
}
