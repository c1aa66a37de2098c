/* hmap.h - a hash map from byte-string keys to pointers, O(1) on average.
 *
 * Keys are hashed with SipHash-2-4 under a random per-map key, so that a
 * peer choosing ids cannot force collisions (hash flooding).
 *
 * Ownership: the map stores the key pointer, not a copy; the key bytes must
 * stay valid and unchanged while the entry is in the map (typically the key
 * is a field of the value). The map never frees keys or values.
 * Not thread-safe; one owner at a time. */
#ifndef PORTHOLE_COMMON_HMAP_H
#define PORTHOLE_COMMON_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap;

/* Returns an empty map, or NULL when out of memory or randomness. */
struct hmap *hmap_new(void);

/* Frees the map itself. NULL is allowed. */
void hmap_free(struct hmap *map);

/* Returns the value stored under key, or NULL. */
void *hmap_get(const struct hmap *map, const void *key, size_t keylen);

/* Inserts key -> value (value must not be NULL). Returns 0 when inserted,
 * 1 when the key is already present (the map is unchanged), -1 when out of
 * memory (the map is unchanged). */
int hmap_put(struct hmap *map, const void *key, size_t keylen, void *value);

/* Removes key and returns its value, or NULL when absent. */
void *hmap_remove(struct hmap *map, const void *key, size_t keylen);

size_t hmap_count(const struct hmap *map);

/* Calls fn for each entry in unspecified order until fn returns false.
 * fn must not insert into or remove from the map. */
typedef bool (*hmap_visit_fn)(const void *key, size_t keylen, void *value, void *arg);
void hmap_foreach(const struct hmap *map, hmap_visit_fn fn, void *arg);

/* SipHash-2-4 of data under a 16-byte key; exposed for its test vectors. */
uint64_t hmap_siphash(const uint8_t key[16], const void *data, size_t len);

#endif
