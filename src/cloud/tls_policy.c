/* tls_policy.c - TLS versions and cipher suites on an OpenSSL context. */
#include "cloud/tls_policy.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

const char *const tls_policy_versions[] = {"1.2", "1.3", NULL};

int tls_policy_apply(void *ssl_ctx, const char *ciphers, const char *min_version, char *err,
                     size_t errlen)
{
    SSL_CTX *ctx = ssl_ctx;
    int version = strcmp(min_version, "1.3") == 0   ? TLS1_3_VERSION
                  : strcmp(min_version, "1.2") == 0 ? TLS1_2_VERSION
                                                    : 0;
    if (!version) {
        snprintf(err, errlen, "--tls-min-version: '%.16s' is not 1.2 or 1.3", min_version);
        return -1;
    }
    if (SSL_CTX_set_min_proto_version(ctx, version) != 1) {
        snprintf(err, errlen, "OpenSSL refused TLS %s as the minimum version", min_version);
        return -1;
    }
    /* OpenSSL keeps its defaults (CBC suites among them) when a list
     * selects nothing; lws would not say so, hence the check here. */
    ERR_clear_error();
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "--tls-ciphers: '%.80s' selects no cipher suite OpenSSL knows",
                 ciphers);
        return -1;
    }
    return 0;
}

int tls_policy_check(const char *ciphers, const char *min_version, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "OpenSSL cannot create a TLS context");
        return -1;
    }
    int rc = tls_policy_apply(ctx, ciphers, min_version, err, errlen);
    SSL_CTX_free(ctx);
    return rc;
}
