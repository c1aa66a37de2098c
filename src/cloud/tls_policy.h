/* tls_policy.h - the TLS versions and cipher suites porthole-cloud
 * offers: by default TLS 1.2 with ECDHE key exchange and AEAD ciphers
 * only (no CBC, no RSA key exchange: every suite has forward secrecy),
 * and TLS 1.3 (whose suites all do). --tls-ciphers replaces the TLS 1.2
 * list (OpenSSL cipher-list syntax); --tls-min-version 1.3 drops 1.2.
 *
 * OpenSSL (libssl) only; the SSL_CTX is passed as void * so that callers
 * need no OpenSSL headers. */
#ifndef PORTHOLE_CLOUD_TLS_POLICY_H
#define PORTHOLE_CLOUD_TLS_POLICY_H

#include <stddef.h>

/* Mozilla's "intermediate" TLS 1.2 suites without the DHE ones. */
#define TLS_POLICY_DEFAULT_CIPHERS                                                        \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                          \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                          \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* The values --tls-min-version accepts (NULL-terminated). */
extern const char *const tls_policy_versions[];

/* Restricts the server context ssl_ctx (an SSL_CTX *) to min_version
 * ("1.2" or "1.3") and up, and its TLS 1.2 suites to ciphers. Returns 0,
 * or -1 with err saying what OpenSSL refused (an unknown version, a
 * cipher list that selects nothing). */
int tls_policy_apply(void *ssl_ctx, const char *ciphers, const char *min_version, char *err,
                     size_t errlen);

/* Checks ciphers and min_version on a throwaway context, as
 * tls_policy_apply() would use them. Returns 0, or -1 with err. */
int tls_policy_check(const char *ciphers, const char *min_version, char *err, size_t errlen);

#endif
