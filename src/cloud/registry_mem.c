/* registry_mem.c - the in-memory presence store: one hash map per kind. */
#include "cloud/registry.h"

#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"

struct mem_store {
    struct hmap *maps[REG__KINDS];
};

static int mem_add(void *self, enum registry_kind kind, const char *id, void *record)
{
    struct mem_store *s = self;
    return hmap_put(s->maps[kind], id, strlen(id), record);
}

static void *mem_find(void *self, enum registry_kind kind, const char *id)
{
    struct mem_store *s = self;
    return hmap_get(s->maps[kind], id, strlen(id));
}

static void *mem_remove(void *self, enum registry_kind kind, const char *id)
{
    struct mem_store *s = self;
    return hmap_remove(s->maps[kind], id, strlen(id));
}

static size_t mem_count(void *self, enum registry_kind kind)
{
    struct mem_store *s = self;
    return hmap_count(s->maps[kind]);
}

struct visit_adapter {
    registry_visit_fn fn;
    void *arg;
};

static bool visit_value(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    struct visit_adapter *a = arg;
    return a->fn(value, a->arg);
}

static void mem_foreach(void *self, enum registry_kind kind, registry_visit_fn fn, void *arg)
{
    struct mem_store *s = self;
    struct visit_adapter a = {fn, arg};
    hmap_foreach(s->maps[kind], visit_value, &a);
}

static void mem_free(void *self)
{
    struct mem_store *s = self;
    if (!s)
        return;
    for (int k = 0; k < REG__KINDS; k++)
        hmap_free(s->maps[k]);
    free(s);
}

static const struct registry_ops mem_ops = {
    .add = mem_add,
    .find = mem_find,
    .remove = mem_remove,
    .count = mem_count,
    .foreach = mem_foreach,
    .free = mem_free,
};

int registry_mem_new(struct registry *reg)
{
    struct mem_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    for (int k = 0; k < REG__KINDS; k++) {
        if (!(s->maps[k] = hmap_new())) {
            mem_free(s);
            return -1;
        }
    }
    reg->ops = &mem_ops;
    reg->self = s;
    return 0;
}
