/* hmap.c - open-addressing hash map (linear probing, backward-shift
 * deletion) keyed by SipHash-2-4 under a random per-map key. */
#include "common/hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"

#define HMAP_MIN_CAP 8 /* a power of two, like every capacity */

/* A slot is empty when value is NULL: values are never NULL (hmap_put). */
struct hmap_slot {
    const void *key;
    size_t keylen;
    void *value;
    uint64_t hash; /* kept so that growing never rehashes keys */
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap; /* power of two */
    size_t count;
    uint8_t key[16];
};

/* ---- SipHash-2-4 (Aumasson and Bernstein), c = 2 rounds per message word,
 * d = 4 finalisation rounds. ---- */

static uint64_t hmap_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

/* Reads 8 bytes as a little-endian word, whatever the host byte order. */
static uint64_t hmap_load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

struct hmap_sip {
    uint64_t v0, v1, v2, v3;
};

static void hmap_sipround(struct hmap_sip *s)
{
    s->v0 += s->v1;
    s->v1 = hmap_rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = hmap_rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = hmap_rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = hmap_rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = hmap_rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = hmap_rotl(s->v2, 32);
}

static void hmap_sip_compress(struct hmap_sip *s, uint64_t m)
{
    s->v3 ^= m;
    hmap_sipround(s);
    hmap_sipround(s);
    s->v0 ^= m;
}

/* This function can't fail; data may be NULL when len is 0. */
uint64_t hmap_siphash(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = hmap_load_le64(key);
    uint64_t k1 = hmap_load_le64(key + 8);
    struct hmap_sip s = {
        .v0 = k0 ^ 0x736f6d6570736575ULL, /* "somepseudorandomlygeneratedbytes" */
        .v1 = k1 ^ 0x646f72616e646f6dULL,
        .v2 = k0 ^ 0x6c7967656e657261ULL,
        .v3 = k1 ^ 0x7465646279746573ULL,
    };
    size_t full = len - len % 8;
    for (size_t i = 0; i < full; i += 8)
        hmap_sip_compress(&s, hmap_load_le64(in + i));

    /* Last word: the remaining 0..7 bytes, and the length mod 256 in the
     * top byte. */
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)in[full + i] << (8 * i);
    hmap_sip_compress(&s, last);

    s.v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        hmap_sipround(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---- The map ---- */

static uint64_t hmap_hash(const struct hmap *map, const void *key, size_t keylen)
{
    return hmap_siphash(map->key, key, keylen);
}

static bool hmap_slot_matches(const struct hmap_slot *slot, uint64_t hash, const void *key,
                              size_t keylen)
{
    return slot->value != NULL && slot->hash == hash && slot->keylen == keylen &&
           (keylen == 0 || memcmp(slot->key, key, keylen) == 0);
}

/* Returns the index of key's slot, or SIZE_MAX when absent. */
static size_t hmap_find(const struct hmap *map, uint64_t hash, const void *key, size_t keylen)
{
    size_t mask = map->cap - 1;
    /* The table always has an empty slot (load <= 0.75), so this ends. */
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        const struct hmap_slot *slot = &map->slots[i];
        if (slot->value == NULL)
            return SIZE_MAX;
        if (hmap_slot_matches(slot, hash, key, keylen))
            return i;
    }
}

/* Places an entry known to be absent into slots (cap a power of two). */
static void hmap_place(struct hmap_slot *slots, size_t cap, const struct hmap_slot *entry)
{
    size_t mask = cap - 1;
    size_t i = (size_t)entry->hash & mask;
    while (slots[i].value != NULL)
        i = (i + 1) & mask;
    slots[i] = *entry;
}

/* Moves every entry into a new table of newcap slots. Returns 0, or -1
 * when out of memory (the map is unchanged). */
static int hmap_resize(struct hmap *map, size_t newcap)
{
    if (newcap > SIZE_MAX / sizeof(struct hmap_slot)) {
        errno = ENOMEM;
        return -1;
    }
    struct hmap_slot *slots = calloc(newcap, sizeof *slots);
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < map->cap; i++)
        if (map->slots[i].value != NULL)
            hmap_place(slots, newcap, &map->slots[i]);
    free(map->slots);
    map->slots = slots;
    map->cap = newcap;
    return 0;
}

struct hmap *hmap_new(void)
{
    struct hmap *map = calloc(1, sizeof *map);
    if (map == NULL)
        return NULL;
    if (ids_random_bytes(map->key, sizeof map->key) != 0) {
        free(map);
        return NULL;
    }
    map->cap = HMAP_MIN_CAP;
    map->slots = calloc(map->cap, sizeof *map->slots);
    if (map->slots == NULL) {
        free(map);
        return NULL;
    }
    return map;
}

void hmap_free(struct hmap *map)
{
    if (map == NULL)
        return;
    free(map->slots);
    free(map);
}

void *hmap_get(const struct hmap *map, const void *key, size_t keylen)
{
    size_t i = hmap_find(map, hmap_hash(map, key, keylen), key, keylen);
    return i == SIZE_MAX ? NULL : map->slots[i].value;
}

/* A NULL value is refused with -1 and errno EINVAL: NULL marks empty slots. */
int hmap_put(struct hmap *map, const void *key, size_t keylen, void *value)
{
    if (value == NULL) {
        errno = EINVAL;
        return -1;
    }
    uint64_t hash = hmap_hash(map, key, keylen);
    if (hmap_find(map, hash, key, keylen) != SIZE_MAX)
        return 1;
    /* Grow before the load factor would pass 3/4. */
    if ((map->count + 1) * 4 > map->cap * 3) {
        if (map->cap > SIZE_MAX / 2 || hmap_resize(map, map->cap * 2) != 0)
            return -1;
    }
    struct hmap_slot entry = {.key = key, .keylen = keylen, .value = value, .hash = hash};
    hmap_place(map->slots, map->cap, &entry);
    map->count++;
    return 0;
}

/* Backward-shift deletion: after emptying a slot, later entries of the same
 * probe run that could live earlier are moved into the hole, so no lookup
 * ever stops early at it and no tombstones accumulate. The table shrinks
 * when it falls below 1/8 full; if that allocation fails the map simply
 * stays larger. */
void *hmap_remove(struct hmap *map, const void *key, size_t keylen)
{
    size_t hole = hmap_find(map, hmap_hash(map, key, keylen), key, keylen);
    if (hole == SIZE_MAX)
        return NULL;
    void *value = map->slots[hole].value;
    size_t mask = map->cap - 1;
    for (size_t j = (hole + 1) & mask; map->slots[j].value != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)map->slots[j].hash & mask;
        /* The entry at j may move to the hole unless its home lies
         * cyclically in (hole, j]: then moving it would put it before its
         * home, where probes starting at home would never look. */
        size_t dist_entry = (j - home) & mask;
        size_t dist_hole = (j - hole) & mask;
        if (dist_entry >= dist_hole) {
            map->slots[hole] = map->slots[j];
            hole = j;
        }
    }
    map->slots[hole] = (struct hmap_slot){0};
    map->count--;
    if (map->cap > HMAP_MIN_CAP && map->count * 8 < map->cap)
        (void)hmap_resize(map, map->cap / 2);
    return value;
}

size_t hmap_count(const struct hmap *map)
{
    return map->count;
}

void hmap_foreach(const struct hmap *map, hmap_visit_fn fn, void *arg)
{
    for (size_t i = 0; i < map->cap; i++) {
        const struct hmap_slot *slot = &map->slots[i];
        if (slot->value != NULL && !fn(slot->key, slot->keylen, slot->value, arg))
            return;
    }
}
