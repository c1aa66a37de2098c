/* ice_servers.c - STUN/TURN URL checks and TURN REST credentials (ice_servers.h). */
#include "cloud/ice_servers.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/iceurl.h"
#include "common/opts.h"
#include "common/strlist.h"

struct url_list {
    char *urls[ICE_SERVERS_MAX_URLS];
    size_t n;
};

struct ice_servers {
    struct url_list stun, turn;
    char *secret;
    long ttl_s;
};

/* Checks one URL of the given family (turn: or turns: when turn is true,
 * else stun: or stuns:). Returns NULL when it is valid, or what is wrong. */
static const char *url_problem(const char *url, bool turn)
{
    struct iceurl u;
    const char *why = iceurl_parse(url, &u);
    if (why)
        return why;
    if (iceurl_is_turn(&u) != turn)
        return turn ? "must start with turn: or turns:" : "must start with stun: or stuns:";
    return NULL;
}

static void list_clear(struct url_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->urls[i]);
    l->n = 0;
}

/* Splits a comma-separated list into l, checking each URL. */
static int list_parse(struct url_list *l, const char *text, bool turn, const char *flag,
                      char *err, size_t errlen)
{
    if (!text || !*text)
        return 0;
    const char *cursor = text;
    struct strlist_item it;
    while (strlist_next(&cursor, &it)) {
        char q[64];
        if (it.len == 0)
            continue;
        if (it.len >= ICEURL_MAX) {
            snprintf(err, errlen, "%s: a URL is longer than %d bytes", flag, ICEURL_MAX - 1);
            return -1;
        }
        if (l->n == ICE_SERVERS_MAX_URLS) {
            snprintf(err, errlen, "%s: more than %d URLs", flag, ICE_SERVERS_MAX_URLS);
            return -1;
        }
        char *url = strndup(it.ptr, it.len);
        if (!url) {
            snprintf(err, errlen, "%s: out of memory", flag);
            return -1;
        }
        const char *why = url_problem(url, turn);
        if (why) {
            opts_quote(url, q, sizeof q);
            snprintf(err, errlen, "%s: '%s' %s", flag, q, why);
            free(url);
            return -1;
        }
        l->urls[l->n++] = url;
    }
    return 0;
}

struct ice_servers *ice_servers_new(const struct ice_servers_config *cfg, char *err, size_t errlen)
{
    struct ice_servers *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->ttl_s = cfg->turn_ttl_s;
    if (list_parse(&s->stun, cfg->stun_urls, false, "--stun-urls", err, errlen) < 0 ||
        list_parse(&s->turn, cfg->turn_urls, true, "--turn-urls", err, errlen) < 0)
        goto fail;
    bool secret = cfg->turn_secret && *cfg->turn_secret;
    if (s->turn.n > 0 && !secret) {
        snprintf(err, errlen, "--turn-urls needs --turn-secret (the TURN server's static-auth-secret)");
        goto fail;
    }
    if (s->turn.n == 0 && secret) {
        snprintf(err, errlen, "--turn-secret is set but --turn-urls is empty");
        goto fail;
    }
    if (s->turn.n > 0 && s->ttl_s < 20) {
        snprintf(err, errlen, "--turn-ttl: %ld s is shorter than 20 s", s->ttl_s);
        goto fail;
    }
    if (secret && !(s->secret = strdup(cfg->turn_secret))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return s;
fail:
    ice_servers_free(s);
    return NULL;
}

void ice_servers_free(struct ice_servers *s)
{
    if (!s)
        return;
    list_clear(&s->stun);
    list_clear(&s->turn);
    if (s->secret) {
        OPENSSL_cleanse(s->secret, strlen(s->secret));
        free(s->secret);
    }
    free(s);
}

bool ice_servers_empty(const struct ice_servers *s)
{
    return !s || (s->stun.n == 0 && s->turn.n == 0);
}

bool ice_servers_has_turn(const struct ice_servers *s)
{
    return s && s->turn.n > 0;
}

long ice_servers_ttl(const struct ice_servers *s)
{
    return s ? s->ttl_s : 0;
}

int ice_servers_credential(const char *secret, const char *username,
                           char out[ICE_SERVERS_CREDENTIAL_LEN + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)username,
              strlen(username), mac, &maclen) ||
        maclen != 20)
        return -1;
    /* EVP_EncodeBlock writes 4 * ceil(20 / 3) = 28 characters and a NUL. */
    int n = EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
    OPENSSL_cleanse(mac, sizeof mac);
    return n == ICE_SERVERS_CREDENTIAL_LEN ? 0 : -1;
}

static json_t *urls_json(const struct url_list *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l->n; i++) {
        if (json_array_append_new(arr, json_string(l->urls[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *ice_servers_json(const struct ice_servers *s, const char *peer_id, int64_t now_s)
{
    json_t *out = json_array();
    if (!out || !s)
        return out;
    if (s->stun.n > 0 && json_array_append_new(out, json_pack("{s:o}", "urls", urls_json(&s->stun))) < 0)
        goto fail;
    if (s->turn.n > 0) {
        char username[32 + 128];
        char credential[ICE_SERVERS_CREDENTIAL_LEN + 1];
        snprintf(username, sizeof username, "%lld:%s", (long long)(now_s + s->ttl_s), peer_id);
        if (ice_servers_credential(s->secret, username, credential) < 0)
            goto fail;
        json_t *turn = json_pack("{s:o, s:s, s:s}", "urls", urls_json(&s->turn), "username",
                                 username, "credential", credential);
        OPENSSL_cleanse(credential, sizeof credential);
        if (json_array_append_new(out, turn) < 0)
            goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}
