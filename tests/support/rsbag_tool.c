/* rsbag_tool.c - writes a RealSense .bag of the simulated scene (rsbag.h)
 * from the command line, for trying the robot's realsense-file backend by
 * hand: rsbag-tool OUT.bag [WIDTH HEIGHT FPS FRAMES]. */
#include <stdio.h>
#include <stdlib.h>

#include "rsbag.h"

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 6) {
        fprintf(stderr, "usage: %s OUT.bag [WIDTH HEIGHT FPS FRAMES]\n", argv[0]);
        return 2;
    }
    struct rsbag_spec spec = {.path = argv[1], .width = 640, .height = 480, .fps = 30,
                              .frames = 15};
    if (argc == 6) {
        spec.width = atoi(argv[2]);
        spec.height = atoi(argv[3]);
        spec.fps = atoi(argv[4]);
        spec.frames = atoi(argv[5]);
    }
    char err[512];
    if (rsbag_write(&spec, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 1;
    }
    printf("%s: %dx%d at %d fps, %d framesets\n", spec.path, spec.width, spec.height, spec.fps,
           spec.frames);
    return 0;
}
