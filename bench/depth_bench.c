/* depth_bench.c - what the depth channel's encoding costs: bytes per frame
 * of the simulated scene (640x480) for each way of coding the samples
 * (raw, LZ4, row deltas + LZ4 as sent, zstd level 1 for comparison) at
 * decimations 1, 2 and 4, and the CPU time of packing a frame with and
 * without aligned colour: with a packer kept from frame to frame, as the
 * robot's depth hub packs (pack_us, pack_color_us), and with a packer per
 * frame (depth_pack_frame: pack_once_us, pack_once_color_us). glibc's mmap
 * threshold is fixed at 128 KiB as porthole-robot fixes it (its main.c),
 * under which a packer per frame maps and unmaps its buffers every frame.
 * Prints one JSON line per figure; asserts nothing. */
#include <lz4.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "robot/camera.h"
#include "robot/depth_pack.h"
#include "robot/sim_scene.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static size_t lz4_size(const void *src, size_t n)
{
    int cap = LZ4_compressBound((int)n);
    char *dst = malloc((size_t)cap);
    int r = LZ4_compress_default(src, dst, (int)n, cap);
    free(dst);
    return r > 0 ? (size_t)r : 0;
}

static size_t zstd_size(const void *src, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    void *dst = malloc(cap);
    size_t r = ZSTD_compress(dst, cap, src, n, 1);
    free(dst);
    return ZSTD_isError(r) ? 0 : r;
}

int main(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    const int w = 640, h = 480, frames = 30;
    struct sim_scene *sc = sim_scene_new(w, h);
    uint16_t *depth = malloc((size_t)w * h * 2);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    double f = sim_scene_focal(w);
    struct cam_intrinsics in = {.width = w, .height = h, .ppx = w / 2.0, .ppy = h / 2.0, .fx = f,
                                .fy = f, .model = "brown-conrady"};
    struct cam_extrinsics id = {.rotation = {1, 0, 0, 0, 1, 0, 0, 0, 1}};
    const int decs[] = {1, 2, 4};
    for (size_t d = 0; d < 3; d++) {
        int dec = decs[d], dw = depth_pack_decimated(w, dec), dh = depth_pack_decimated(h, dec);
        size_t n = (size_t)dw * dh;
        uint16_t *mm = malloc(n * 2), *delta = malloc(n * 2);
        double raw = 0, lz4 = 0, dlz4 = 0, zstd = 0, dzstd = 0, packed = 0, packed_color = 0;
        double us = 0, us_color = 0, once = 0, once_color = 0;
        struct depth_packer pk = {0}, pk_color = {0};
        for (int k = 0; k < frames; k++) {
            struct sim_objects objs;
            sim_scene_objects_at(k * 0.5, &objs);
            sim_scene_render(sc, &objs, &(struct sim_render){.rgb = rgb, .rgb_stride = 3 * (size_t)w,
                             .depth = depth, .depth_stride = 2 * (size_t)w, .color_gain = 1,
                             .contrast = 50});
            struct cam_frame df = {.stream = CAM_DEPTH, .format = CAM_FORMAT_Z16, .width = w,
                                   .height = h, .stride = 2 * (size_t)w, .data = (uint8_t *)depth};
            struct cam_frame cf = {.stream = CAM_COLOR, .format = CAM_FORMAT_RGB8, .width = w,
                                   .height = h, .stride = 3 * (size_t)w, .data = rgb};
            depth_pack_decimate(&df, 0.001, dec, mm);
            for (int j = 0; j < dh; j++)
                for (int i = 0; i < dw; i++)
                    delta[j * dw + i] = (uint16_t)(mm[j * dw + i] - (i ? mm[j * dw + i - 1] : 0));
            raw += (double)n * 2;
            lz4 += (double)lz4_size(mm, n * 2);
            dlz4 += (double)lz4_size(delta, n * 2);
            zstd += (double)zstd_size(mm, n * 2);
            dzstd += (double)zstd_size(delta, n * 2);
            struct depth_pack_input pin = {.depth = &df, .depth_scale = 0.001, .din = &in};
            size_t len;
            double t0 = now_us();
            if (depth_packer_pack(&pk, &pin, dec, DEPTH_CODEC_DELTA_LZ4, &len))
                packed += (double)len;
            us += now_us() - t0;
            t0 = now_us();
            free(depth_pack_frame(&pin, dec, DEPTH_CODEC_DELTA_LZ4, &len));
            once += now_us() - t0;
            pin.color = &cf, pin.cin = &in, pin.d2c = &id;
            t0 = now_us();
            if (depth_packer_pack(&pk_color, &pin, dec, DEPTH_CODEC_DELTA_LZ4, &len))
                packed_color += (double)len;
            us_color += now_us() - t0;
            t0 = now_us();
            free(depth_pack_frame(&pin, dec, DEPTH_CODEC_DELTA_LZ4, &len));
            once_color += now_us() - t0;
        }
        printf("{\"bench\":\"depth-codec\",\"decimation\":%d,\"samples\":%zu,\"raw_bytes\":%.0f,"
               "\"lz4_bytes\":%.0f,\"delta_lz4_bytes\":%.0f,\"zstd1_bytes\":%.0f,"
               "\"delta_zstd1_bytes\":%.0f,\"frame_bytes\":%.0f,\"frame_color_bytes\":%.0f,"
               "\"pack_us\":%.0f,\"pack_color_us\":%.0f,\"pack_once_us\":%.0f,"
               "\"pack_once_color_us\":%.0f,\"frames\":%d}\n",
               dec, n, raw / frames, lz4 / frames, dlz4 / frames, zstd / frames, dzstd / frames,
               packed / frames, packed_color / frames, us / frames, us_color / frames,
               once / frames, once_color / frames, frames);
        depth_packer_free(&pk);
        depth_packer_free(&pk_color);
        free(mm);
        free(delta);
    }
    free(depth);
    free(rgb);
    sim_scene_free(sc);
    return 0;
}
