/* registry.h - the presence and routing store seam: which robots, clients
 * and sessions exist, found in O(1) by id.
 *
 * The router owns the records; a store only indexes them by id and never
 * frees them. The store is in memory (registry_mem_new) and holds this
 * instance's records only: what other instances hold cannot be found
 * synchronously as a record, so several instances share presence and
 * routing through a second seam, struct router_cluster (router.h,
 * cluster.h on Redis).
 *
 * Ids are NUL-terminated strings that must stay valid while indexed
 * (normally a field of the record). Single-threaded: the event loop's. */
#ifndef PORTHOLE_CLOUD_REGISTRY_H
#define PORTHOLE_CLOUD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

enum registry_kind { REG_ROBOT = 0, REG_CLIENT, REG_SESSION, REG__KINDS };

typedef bool (*registry_visit_fn)(void *record, void *arg);

struct registry_ops {
    /* Indexes record under id. Returns 0, 1 when id is taken (nothing
     * changes), or -1 when out of memory. */
    int (*add)(void *self, enum registry_kind kind, const char *id, void *record);
    /* Returns the record under id, or NULL. */
    void *(*find)(void *self, enum registry_kind kind, const char *id);
    /* Forgets id. Returns its record, or NULL when absent. */
    void *(*remove)(void *self, enum registry_kind kind, const char *id);
    size_t (*count)(void *self, enum registry_kind kind);
    /* Visits each record of a kind until fn returns false; fn must not add
     * or remove records. */
    void (*foreach)(void *self, enum registry_kind kind, registry_visit_fn fn, void *arg);
    /* Frees the store (not the records). */
    void (*free)(void *self);
};

struct registry {
    const struct registry_ops *ops;
    void *self;
};

/* Fills reg with a new in-memory store. Returns 0, or -1 when out of memory. */
int registry_mem_new(struct registry *reg);

static inline int registry_add(struct registry *r, enum registry_kind k, const char *id, void *rec)
{ return r->ops->add(r->self, k, id, rec); }
static inline void *registry_find(struct registry *r, enum registry_kind k, const char *id)
{ return r->ops->find(r->self, k, id); }
static inline void *registry_remove(struct registry *r, enum registry_kind k, const char *id)
{ return r->ops->remove(r->self, k, id); }
static inline size_t registry_count(struct registry *r, enum registry_kind k)
{ return r->ops->count(r->self, k); }
static inline void registry_foreach(struct registry *r, enum registry_kind k, registry_visit_fn fn, void *arg)
{ r->ops->foreach(r->self, k, fn, arg); }
static inline void registry_free(struct registry *r)
{ if (r->ops) r->ops->free(r->self); }

#endif
