/* token_mint_tool.c - prints a token minted by token_mint(), for
 * token-vectors.mjs to verify with Node's crypto (the C minting checked by
 * an independent implementation). The options are those planned for
 * `porthole-cloud token`.
 *
 * Usage: token_mint_tool SECRET_FILE --role robot|viewer [--robot-id ID]
 *        [--robots LIST] [--scope SCOPE] [--ttl TTL] [--sub SUB]
 *        [--iss ISS] [--aud AUD] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloud/keyset.h"
#include "cloud/token.h"
#include "cloud/token_mint.h"

static int usage(void)
{
    fprintf(stderr, "usage: token_mint_tool SECRET_FILE --role robot|viewer [--robot-id ID] "
                    "[--robots LIST] [--scope SCOPE] [--ttl TTL] [--sub SUB] [--iss ISS] "
                    "[--aud AUD]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    struct token_config cfg;
    token_config_defaults(&cfg);
    struct token_mint_request req = {.ttl_s = 3600};
    for (int i = 2; i < argc; i += 2) {
        const char *flag = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val)
            return usage();
        if (strcmp(flag, "--role") == 0)
            req.role = token_role_parse(val);
        else if (strcmp(flag, "--robot-id") == 0)
            req.robot_id = val;
        else if (strcmp(flag, "--robots") == 0)
            req.robots = val;
        else if (strcmp(flag, "--scope") == 0)
            req.scope = token_scope_parse(val);
        else if (strcmp(flag, "--sub") == 0)
            req.sub = val;
        else if (strcmp(flag, "--iss") == 0)
            cfg.issuer = val;
        else if (strcmp(flag, "--aud") == 0)
            cfg.audience = val;
        else if (strcmp(flag, "--ttl") != 0 || token_ttl_parse(val, &req.ttl_s) != 0)
            return usage();
    }
    char err[256];
    struct keyset *ks = keyset_load(&(struct keyset_source){.secret_file = argv[1]}, err,
                                    sizeof err);
    if (!ks) {
        fprintf(stderr, "token_mint_tool: %s\n", err);
        return 1;
    }
    char *token = NULL;
    enum token_error e = token_mint(ks, &cfg, &req, (int64_t)time(NULL), &token, err, sizeof err);
    keyset_free(ks);
    if (e != TOKEN_OK) {
        fprintf(stderr, "token_mint_tool: %s (%s)\n", err, token_error_code(e));
        return 1;
    }
    printf("%s\n", token);
    free(token);
    return 0;
}
