/* iplimit.c - connections, connection rate and authentication failures
 * per source address, in a hash map of entries. */
#include "cloud/iplimit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hmap.h"
#include "common/list.h"

/* How often idle entries are looked for, at most. */
#define SWEEP_EVERY_MS 1000

/* Bucket contents in thousandths of a connection, so that a refill of
 * `rate` per second is `rate` thousandths per millisecond. */
#define MILLI 1000

struct iplimit_entry {
    struct netlist_addr key;  /* the address, an IPv6 one cut to its /64 */
    unsigned conns;           /* open connections counted here */
    int64_t tokens;           /* new connections left, in thousandths */
    int64_t refilled_ms;      /* when tokens were last refilled */
    int64_t window_ms;        /* start of the failure window (when failures > 0) */
    unsigned failures;        /* in that window */
    int64_t banned_until_ms;  /* 0: not banned */
    struct list idle;         /* on iplimit.idle while conns == 0 */
};

struct iplimit {
    struct iplimit_config cfg;
    struct hmap *entries;     /* key -> struct iplimit_entry */
    struct list idle;         /* entries without open connections */
    int64_t swept_ms;
};

static const struct iplimit_entry *lookup(const struct iplimit *l, const struct netlist_addr *key)
{
    return hmap_get(l->entries, key, sizeof *key);
}

/* The entry's key for address a: IPv6 addresses count per /64. */
static struct netlist_addr key_of(const struct netlist_addr *a)
{
    struct netlist_addr k = *a;
    if (k.family == AF_INET6)
        memset(k.addr + 8, 0, 8);
    else
        memset(k.addr + 4, 0, 12);
    return k;
}

struct iplimit *iplimit_new(const struct iplimit_config *cfg)
{
    struct iplimit *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->cfg = *cfg;
    list_init(&l->idle);
    if (!(l->entries = hmap_new())) {
        free(l);
        return NULL;
    }
    return l;
}

static bool free_entry(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    (void)arg;
    free(value);
    return true;
}

void iplimit_free(struct iplimit *l)
{
    if (!l)
        return;
    hmap_foreach(l->entries, free_entry, NULL);
    hmap_free(l->entries);
    free(l);
}

bool iplimit_exempt(const struct iplimit *l, const struct netlist_addr *a)
{
    return netlist_contains(l->cfg.exempt, a);
}

/* Tops up e's bucket for the time passed since its last refill. */
static void refill(const struct iplimit *l, struct iplimit_entry *e, int64_t now_ms)
{
    int64_t full = (int64_t)l->cfg.max_new_per_second * MILLI;
    int64_t elapsed = now_ms - e->refilled_ms;
    if (elapsed > 0) {
        /* Capped before multiplying: a long-idle entry cannot overflow. */
        e->tokens += (elapsed > 1000 ? 1000 : elapsed) * (int64_t)l->cfg.max_new_per_second;
        e->refilled_ms = now_ms;
    }
    if (e->tokens > full)
        e->tokens = full;
}

/* True when e remembers nothing that matters at now_ms: no connection,
 * a full bucket, no failure window, no ban. */
static bool forgettable(const struct iplimit *l, struct iplimit_entry *e, int64_t now_ms)
{
    if (e->conns)
        return false;
    refill(l, e, now_ms);
    bool full = e->tokens >= (int64_t)l->cfg.max_new_per_second * MILLI;
    bool window = e->failures && now_ms - e->window_ms < IPLIMIT_FAILURE_WINDOW_MS;
    return full && !window && e->banned_until_ms <= now_ms;
}

/* Frees idle entries with nothing left to remember, once a second at most. */
static void sweep(struct iplimit *l, int64_t now_ms)
{
    if (now_ms - l->swept_ms < SWEEP_EVERY_MS)
        return;
    l->swept_ms = now_ms;
    struct list *pos, *tmp;
    list_foreach_safe(pos, tmp, &l->idle) {
        struct iplimit_entry *e = list_entry(pos, struct iplimit_entry, idle);
        if (!forgettable(l, e, now_ms))
            continue;
        list_remove(&e->idle);
        hmap_remove(l->entries, &e->key, sizeof e->key);
        free(e);
    }
}

/* The entry of a, created (idle, with a full bucket) when missing.
 * Returns NULL when out of memory. */
static struct iplimit_entry *get_or_add(struct iplimit *l, const struct netlist_addr *a,
                                        int64_t now_ms)
{
    struct netlist_addr key = key_of(a);
    struct iplimit_entry *e = hmap_get(l->entries, &key, sizeof key);
    if (e)
        return e;
    if (!(e = calloc(1, sizeof *e)))
        return NULL;
    e->key = key;
    e->tokens = (int64_t)l->cfg.max_new_per_second * MILLI;
    e->refilled_ms = now_ms;
    list_init(&e->idle);
    if (hmap_put(l->entries, &e->key, sizeof e->key, e) != 0) {
        free(e);
        return NULL;
    }
    list_insert_tail(&l->idle, &e->idle);
    return e;
}

static bool entry_banned(const struct iplimit_entry *e, int64_t now_ms)
{
    return e && e->banned_until_ms > now_ms;
}

enum iplimit_verdict iplimit_connect(struct iplimit *l, const struct netlist_addr *a,
                                     int64_t now_ms, struct iplimit_entry **entry)
{
    *entry = NULL;
    if (iplimit_exempt(l, a))
        return IPLIMIT_OK;
    sweep(l, now_ms);
    struct iplimit_entry *e = get_or_add(l, a, now_ms);
    if (!e)
        return IPLIMIT_OK;
    if (entry_banned(e, now_ms))
        return IPLIMIT_BANNED;
    if (l->cfg.max_connections && e->conns >= l->cfg.max_connections)
        return IPLIMIT_TOO_MANY;
    if (l->cfg.max_new_per_second) {
        refill(l, e, now_ms);
        if (e->tokens < MILLI)
            return IPLIMIT_TOO_FAST;
        e->tokens -= MILLI;
    }
    if (e->conns++ == 0)
        list_remove(&e->idle);
    *entry = e;
    return IPLIMIT_OK;
}

void iplimit_disconnect(struct iplimit *l, struct iplimit_entry *e, int64_t now_ms)
{
    (void)now_ms;
    if (!e || !e->conns)
        return;
    if (--e->conns == 0)
        list_insert_tail(&l->idle, &e->idle);
}

bool iplimit_auth_failure(struct iplimit *l, const struct netlist_addr *a, int64_t now_ms)
{
    if (!l->cfg.max_auth_failures || iplimit_exempt(l, a))
        return false;
    sweep(l, now_ms);
    struct iplimit_entry *e = get_or_add(l, a, now_ms);
    if (!e)
        return false;
    if (entry_banned(e, now_ms))
        return true;
    if (!e->failures || now_ms - e->window_ms >= IPLIMIT_FAILURE_WINDOW_MS) {
        e->window_ms = now_ms;
        e->failures = 0;
    }
    if (++e->failures <= l->cfg.max_auth_failures)
        return false;
    e->banned_until_ms = now_ms + (int64_t)l->cfg.ban_seconds * 1000;
    e->failures = 0;
    return true;
}

bool iplimit_banned(const struct iplimit *l, const struct netlist_addr *a, int64_t now_ms)
{
    if (iplimit_exempt(l, a))
        return false;
    struct netlist_addr key = key_of(a);
    return entry_banned(lookup(l, &key), now_ms);
}

size_t iplimit_count(const struct iplimit *l)
{
    return hmap_count(l->entries);
}

const char *iplimit_reason(enum iplimit_verdict v)
{
    switch (v) {
    case IPLIMIT_TOO_MANY: return "too many connections from this address";
    case IPLIMIT_TOO_FAST: return "too many new connections from this address";
    case IPLIMIT_BANNED: return "too many failed authentications from this address; retry later";
    case IPLIMIT_OK: break;
    }
    return "";
}
