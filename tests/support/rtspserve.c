/* rtspserve.c - a tiny RTSP camera for the tests: serves one GStreamer
 * launch line (gst-rtsp-server) on 127.0.0.1.
 *
 * Usage: rtspserve PORT MOUNT 'LAUNCH'
 *   e.g. rtspserve 8554 /cam '( videotestsrc is-live=true ! x264enc ! rtph264pay name=pay0 )'
 * One media is shared by every client. Prints "ready" on stdout once it
 * listens; runs until SIGTERM or SIGINT (exit 0) or SIGKILL (what a test
 * does to a camera that drops). Exit 1 when it cannot listen, 2 for bad
 * arguments. */
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <stdio.h>
#include <stdlib.h>

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    if (argc != 4 || argv[2][0] != '/' || atoi(argv[1]) < 1 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: rtspserve PORT /MOUNT 'LAUNCH'\n");
        return 2;
    }
    gst_init(NULL, NULL);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    GstRTSPServer *server = gst_rtsp_server_new();
    g_object_set(server, "address", "127.0.0.1", "service", argv[1], NULL);
    GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory, argv[3]);
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
    gst_rtsp_mount_points_add_factory(mounts, argv[2], factory);
    g_object_unref(mounts);
    GError *gerr = NULL;
    GSource *source = gst_rtsp_server_create_source(server, NULL, &gerr);
    if (!source) {
        fprintf(stderr, "rtspserve: cannot listen on 127.0.0.1:%s: %s\n", argv[1],
                gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        g_object_unref(server);
        g_main_loop_unref(loop);
        return 1;
    }
    g_source_attach(source, NULL);
    g_source_unref(source);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    g_unix_signal_add(SIGINT, on_signal, loop);
    printf("ready\n");
    fflush(stdout);
    g_main_loop_run(loop);
    g_object_unref(server);
    g_main_loop_unref(loop);
    return 0;
}
