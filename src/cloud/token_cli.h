/* token_cli.h - `porthole-cloud token`: prints a token signed with the
 * configured HS256 secret, for deployments without an identity provider.
 *
 *   porthole-cloud token --role viewer --robots 'lab-*' --scope watch --ttl 1h
 *   porthole-cloud token --role robot --robot-id lab-7 --ttl 365d
 *
 * The secret comes as for the server (--auth-secret / AUTH_SECRET,
 * --auth-secret-file / AUTH_SECRET_FILE), and --auth-issuer /
 * --auth-audience add iss and aud, so the same cloud accepts the token
 * (token_mint.h). */
#ifndef PORTHOLE_CLOUD_TOKEN_CLI_H
#define PORTHOLE_CLOUD_TOKEN_CLI_H

#include <stdio.h>

/* Runs the subcommand: argv[0] is "token", the rest its flags. Prints the
 * token and a newline on out, errors on err. Returns the exit status: 0,
 * 1 when the token cannot be made (no secret, a claim token_mint refuses),
 * 2 for bad usage. */
int token_cli_main(int argc, char **argv, FILE *out, FILE *err);

#endif
