/* token_cli.c - `porthole-cloud token` (token_cli.h): flags to a
 * token_mint request, the configured secret, one line of output. */
#include "cloud/token_cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/keyset.h"
#include "cloud/token.h"
#include "cloud/token_mint.h"
#include "common/clock.h"
#include "common/opts.h"

struct token_cli {
    const char *role, *robots, *scope, *ttl, *sub, *robot_id;
    const char *secret, *secret_file, *issuer, *audience;
};

static const char *const roles[] = {"robot", "viewer", NULL};

enum { TOKEN_CLI_OPTIONS = 10 };

/* The table points into t, so it is built per call. */
static void option_table(struct token_cli *t, struct opt out[TOKEN_CLI_OPTIONS])
{
    const struct opt table[TOKEN_CLI_OPTIONS] = {
        {.name = "role", .type = OPT_STRING, .target = &t->role, .choices = roles,
         .metavar = "ROLE", .help = "robot (registers one robot id) or viewer"},
        {.name = "robot-id", .type = OPT_STRING, .target = &t->robot_id, .metavar = "ID",
         .help = "robots: the one robot id the token may register"},
        {.name = "robots", .type = OPT_STRING, .target = &t->robots, .metavar = "LIST",
         .help = "viewers: robot ids or patterns ('*', '?'), separated by commas or spaces"},
        {.name = "scope", .type = OPT_STRING, .target = &t->scope, .metavar = "SCOPE",
         .help = "viewers: watch, control (also the robots' API) or admin (also /metrics)"},
        {.name = "ttl", .type = OPT_STRING, .target = &t->ttl, .metavar = "TTL",
         .help = "lifetime: 30s, 15m, 1h, 7d (bare digits are seconds)"},
        {.name = "sub", .type = OPT_STRING, .target = &t->sub, .metavar = "NAME",
         .help = "who the token is for (default: the robot id, or \"viewer\")"},
        {.name = "auth-secret", .env = {"AUTH_SECRET"}, .type = OPT_STRING,
         .target = &t->secret, .metavar = "SECRET", .secret = true,
         .help = "the HS256 secret porthole-cloud verifies with"},
        {.name = "auth-secret-file", .env = {"AUTH_SECRET_FILE"}, .type = OPT_STRING,
         .target = &t->secret_file, .metavar = "FILE", .help = "a file holding that secret"},
        {.name = "auth-issuer", .env = {"AUTH_ISSUER"}, .type = OPT_STRING,
         .target = &t->issuer, .metavar = "ISS", .help = "\"iss\" of the token (empty: none)"},
        {.name = "auth-audience", .env = {"AUTH_AUDIENCE"}, .type = OPT_STRING,
         .target = &t->audience, .metavar = "AUD", .help = "\"aud\" of the token (empty: none)"},
    };
    memcpy(out, table, sizeof(table));
}

/* Fills req from t. Returns 0, or -1 with the reason in why. */
static int request_of(const struct token_cli *t, struct token_mint_request *req, char *why,
                      size_t whylen)
{
    *req = (struct token_mint_request){
        .role = token_role_parse(t->role),
        .sub = *t->sub ? t->sub : NULL,
        .robot_id = *t->robot_id ? t->robot_id : NULL,
        .robots = *t->robots ? t->robots : NULL,
    };
    if (req->role == TOKEN_ROLE_NONE) {
        snprintf(why, whylen, "--role robot or --role viewer is required");
        return -1;
    }
    if (*t->scope && (req->scope = token_scope_parse(t->scope)) == TOKEN_SCOPE_NONE) {
        snprintf(why, whylen, "--scope must be watch, control or admin");
        return -1;
    }
    if (token_ttl_parse(t->ttl, &req->ttl_s) != 0) {
        snprintf(why, whylen, "--ttl must be digits and one of s, m, h, d (1 s to 3650 d)");
        return -1;
    }
    return 0;
}

int token_cli_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct token_cli t = {.role = "", .robots = "", .scope = "", .ttl = "1h", .sub = "",
                          .robot_id = "", .secret = "", .secret_file = "", .issuer = "",
                          .audience = ""};
    struct opt table[TOKEN_CLI_OPTIONS];
    option_table(&t, table);
    char why[256];
    switch (opts_parse(table, TOKEN_CLI_OPTIONS, argc, argv, why, sizeof(why))) {
    case OPTS_OK:
        break;
    case OPTS_HELP:
        opts_print_help(out, "porthole-cloud token --role robot|viewer [OPTIONS]\n"
                        "Prints a token signed with the configured HS256 secret.",
                        table, TOKEN_CLI_OPTIONS);
        return 0;
    case OPTS_VERSION:
        fprintf(out, "porthole-cloud %s\n", PORTHOLE_VERSION);
        return 0;
    case OPTS_ERROR:
        fprintf(err, "porthole-cloud token: %s\n", why);
        return 2;
    }
    struct token_mint_request req;
    if (request_of(&t, &req, why, sizeof(why)) != 0) {
        fprintf(err, "porthole-cloud token: %s (see --help)\n", why);
        return 2;
    }
    const struct keyset_source src = {.secret = *t.secret ? t.secret : NULL,
                                      .secret_file = *t.secret_file ? t.secret_file : NULL};
    if (!src.secret && !src.secret_file) {
        fprintf(err, "porthole-cloud token: no secret: give --auth-secret or "
                "--auth-secret-file (or AUTH_SECRET, AUTH_SECRET_FILE), as for the server\n");
        return 1;
    }
    struct keyset *ks = keyset_load(&src, why, sizeof(why));
    if (!ks) {
        fprintf(err, "porthole-cloud token: %s\n", why);
        return 1;
    }
    struct token_config cfg;
    token_config_defaults(&cfg);
    cfg.issuer = *t.issuer ? t.issuer : NULL;
    cfg.audience = *t.audience ? t.audience : NULL;
    char *token = NULL;
    enum token_error e = token_mint(ks, &cfg, &req, clock_wall_ms() / 1000, &token, why,
                                    sizeof(why));
    keyset_free(ks);
    if (e != TOKEN_OK) {
        fprintf(err, "porthole-cloud token: %s (%s)\n", why, token_error_code(e));
        return 1;
    }
    fprintf(out, "%s\n", token);
    free(token);
    return 0;
}
