/* token_test.h - helpers the token and keyset tests share: tokens signed
 * with a given secret from literal header and payload JSON, temporary key
 * files, and the fixture directory of Node-made keys and tokens. */
#ifndef PORTHOLE_TESTS_TOKEN_TEST_H
#define PORTHOLE_TESTS_TOKEN_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cloud/b64url.h"
#include "cloud/keyset.h"

/* A secret of 40 bytes, and another one. */
#define TOKEN_TEST_SECRET "porthole-unit-test-secret-0123456789abcd"
#define TOKEN_TEST_OTHER_SECRET "another-unit-test-secret-0123456789abcdef"

/* The directory of tests/unit/token-vectors.mjs's output:
 * $PORTHOLE_TOKEN_FIXTURES, or the committed tests/fixtures/token. */
static inline const char *token_test_fixtures(void)
{
    const char *env = getenv("PORTHOLE_TOKEN_FIXTURES");
    return env && *env ? env : PORTHOLE_TOKEN_FIXTURES_DIR;
}

/* dir/name into a static buffer (one at a time). */
static inline const char *token_test_fixture(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", token_test_fixtures(), name);
    return path;
}

/* Appends the base64url of len bytes at data to out (a malloc'd string). */
static inline char *token_test_append_b64(char *out, const void *data, size_t len)
{
    size_t have = out ? strlen(out) : 0;
    char *grown = realloc(out, have + B64URL_ENCODED_LEN(len) + 4);
    if (!grown)
        abort();
    b64url_encode(data, len, grown + have);
    return grown;
}

static inline char *token_test_append(char *out, const char *text)
{
    size_t have = out ? strlen(out) : 0;
    char *grown = realloc(out, have + strlen(text) + 1);
    if (!grown)
        abort();
    strcpy(grown + have, text);
    return grown;
}

/* header.payload.HMAC-SHA256(secret) from literal JSON texts: the test
 * decides every byte, valid or not. Free the result. */
static inline char *token_test_sign_hs256(const char *secret, const char *header, const char *payload)
{
    char err[200];
    struct keyset *ks = keyset_load(&(struct keyset_source){.secret = secret}, err, sizeof err);
    if (!ks)
        abort();
    char *tok = token_test_append_b64(NULL, header, strlen(header));
    tok = token_test_append(tok, ".");
    tok = token_test_append_b64(tok, payload, strlen(payload));
    unsigned char mac[32];
    if (keyset_sign_hs256(ks, (const unsigned char *)tok, strlen(tok), mac) != 0)
        abort();
    keyset_free(ks);
    tok = token_test_append(tok, ".");
    return token_test_append_b64(tok, mac, sizeof mac);
}

/* Writes text to a new temporary file; returns its path (free it, and
 * unlink the file, with token_test_unlink). */
static inline char *token_test_temp_file(const char *text)
{
    char *path = strdup("/tmp/porthole-token-test-XXXXXX");
    int fd = path ? mkstemp(path) : -1;
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len)
        abort();
    close(fd);
    return path;
}

static inline void token_test_unlink(char *path)
{
    unlink(path);
    free(path);
}

#endif
