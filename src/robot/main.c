/* main.c - porthole-robot: streams a depth camera to viewers through
 * porthole-cloud. Exit status: 0 after SIGINT/SIGTERM, 1 when it cannot
 * start (camera, GStreamer plugins), 2 for a bad flag or variable. With
 * --list: 0 when it listed a device, 1 when none or the backend cannot. */
#include <glib-unix.h>
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "robot/camera.h"
#include "common/log.h"
#include "robot/config.h"
#include "robot/robot.h"

/* glibc's malloc starts by giving blocks of 128 KiB and more their own
 * mappings, and raises that threshold to the size of any such block freed
 * (the trim threshold to twice that). libvpx's VP8 encoder allocates about
 * 14 MB when it starts (at 640x480: a 7.4 MB token buffer and ten 574 KB
 * frame buffers) and frees it when it stops, so the first encoder stopped
 * raised the threshold to 7.4 MB and the trim threshold to 14.8 MB: every
 * later encoder's 14 MB came from the malloc arena of whichever GStreamer
 * pool thread started it, and an arena gives memory back only from its top
 * and only past the trim threshold, which 14 MB does not reach. Each arena
 * an encoder had ever started in kept about 11 MB resident; with viewers
 * coming and going, up to a dozen did (issue #15, docs/PERFORMANCE.md).
 * Setting the threshold keeps glibc's starting value and turns the raise
 * off: an encoder's big blocks are mapped and unmapped with it. The blocks
 * reused per frame (media_convert.c's I420 frames, GStreamer's buffer
 * pools) are allocated once, so the mapping costs nothing per frame. */
static void malloc_setup(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

static gboolean on_signal(gpointer data)
{
    log_info("stopping");
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    struct robot_config cfg;
    robot_config_defaults(&cfg);
    char err[512];
    switch (robot_config_parse(&cfg, argc, argv, err, sizeof err)) {
    case ROBOT_CONFIG_OK:
        break;
    case ROBOT_CONFIG_HELP: {
        struct robot_config defaults;
        robot_config_defaults(&defaults);
        robot_config_help(stdout, &defaults);
        return 0;
    }
    case ROBOT_CONFIG_VERSION:
        printf("porthole-robot %s\ncamera backends: %s\n", PORTHOLE_VERSION,
               camera_backends_text());
        return 0;
    case ROBOT_CONFIG_ERROR:
        fprintf(stderr, "porthole-robot: %s\n", err);
        return 2;
    }
    log_setup(cfg.log_level, cfg.log_format, "robot");
    if (cfg.list_devices) {
        int n = camera_list_devices(cfg.camera, stdout, err, sizeof err);
        if (n < 0)
            fprintf(stderr, "porthole-robot: --list: %s\n", err);
        else if (n == 0)
            fprintf(stderr, "porthole-robot: --list: no %s device found\n", cfg.camera);
        return n > 0 ? 0 : 1;
    }
    malloc_setup();
    gst_init(NULL, NULL);

    struct cam_mode mode = {(int)cfg.width, (int)cfg.height, (int)cfg.fps};
    struct camera *cam = camera_new(cfg.camera, &mode, err, sizeof err);
    if (!cam) {
        log_error("camera: %s", err);
        return 1;
    }
    const struct cam_mode *got = camera_mode(cam);
    if (got->width != mode.width || got->height != mode.height || got->fps != mode.fps)
        log_info("camera: the source delivers %dx%d at %d fps; --width, --height and --fps do "
                 "not apply to it", got->width, got->height, got->fps);
    /* webrtcbin makes its DTLS certificate on first use, which delays the
     * first viewer's offer by up to a second; one dtlsdec made now caches
     * the certificate for the whole process. */
    GstElement *dtls_warmup = gst_element_factory_make("dtlsdec", NULL);
    if (dtls_warmup)
        gst_object_ref_sink(dtls_warmup);

    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    struct robot *robot = robot_new(&cfg, cam, g_main_loop_get_context(loop), err, sizeof err);
    int status = 0;
    if (!robot) {
        log_error("%s", err);
        status = 1;
    } else {
        g_unix_signal_add(SIGINT, on_signal, loop);
        g_unix_signal_add(SIGTERM, on_signal, loop);
        robot_start(robot);
        g_main_loop_run(loop);
        robot_free(robot);
    }
    g_main_loop_unref(loop);
    if (dtls_warmup)
        gst_object_unref(dtls_warmup);
    camera_free(cam);
    gst_deinit();
    return status;
}
