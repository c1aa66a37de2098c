/* main.c - porthole-cloud: flags and environment, then the server loop;
 * or `porthole-cloud token ...` (token_cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/config.h"
#include "cloud/server.h"
#include "cloud/token_cli.h"
#include "cloud/workers.h"
#include "common/log.h"

/* One server: a whole porthole-cloud, or one worker of several. */
static int serve(struct cloud_config *cfg, void (*ready)(void *), void *ready_arg)
{
    struct server *srv = server_new(cfg);
    if (!srv)
        return 1;
    if (ready)
        ready(ready_arg);
    int rc = server_run(srv);
    server_free(srv);
    log_info("stopped");
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return token_cli_main(argc - 1, argv + 1, stdout, stderr);
    struct cloud_config cfg;
    cloud_config_defaults(&cfg);
    char err[256];
    switch (cloud_config_parse(&cfg, argc, argv, err, sizeof(err))) {
    case OPTS_OK:
        break;
    case OPTS_HELP:
        cloud_config_help(&cfg, stdout);
        return 0;
    case OPTS_VERSION:
        printf("porthole-cloud %s\n", PORTHOLE_VERSION);
        return 0;
    case OPTS_ERROR:
        fprintf(stderr, "porthole-cloud: %s\n", err);
        return 2;
    }
    enum log_level level;
    enum log_format format;
    /* The option table restricts both to their choices already. */
    log_level_parse(cfg.log_level, &level);
    log_format_parse(cfg.log_format, &format);
    log_setup(level, format, "cloud");

    long workers = workers_count(&cfg);
    if (workers > 1)
        return workers_run(&cfg, workers, serve);
    return serve(&cfg, NULL, NULL);
}
