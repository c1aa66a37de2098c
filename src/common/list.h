/* list.h - an intrusive, circular doubly linked list (in the manner of libuv's queue.h).
 *
 * A struct that can sit on a list embeds one `struct list` per list it can
 * be on; the list itself is a `struct list` head. Both are the same type:
 * the head is a node that belongs to no element, and the list is circular
 * through it, so insertion and removal need no branches and an element can
 * take itself off a list without knowing the head.
 *
 * Ownership: nothing is allocated or freed here. The element owns its
 * nodes; the owner of the head decides when elements come and go.
 *
 * Contract: a head or node is initialized with list_init() before use. A
 * node is on at most one list at a time; list_remove() re-initializes it,
 * so list_linked() tells whether it is on a list and removing twice is
 * harmless. Not thread-safe. Every function here is O(1) and can't fail. */
#ifndef PORTHOLE_COMMON_LIST_H
#define PORTHOLE_COMMON_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list {
    struct list *prev, *next;
};

/* The element that contains node `ptr` as its field `member`. */
#define list_entry(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Walks the elements of head in order. The body must not remove `pos`. */
#define list_foreach(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* Walks the elements of head in order; the body may remove `pos` (but no
 * other node). `tmp` is a `struct list *` the macro uses. */
#define list_foreach_safe(pos, tmp, head) \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

static inline void list_init(struct list *l)
{
    l->prev = l;
    l->next = l;
}

static inline bool list_empty(const struct list *head)
{
    return head->next == head;
}

/* True when node is on some list (it was inserted and not removed since). */
static inline bool list_linked(const struct list *node)
{
    return node->next != node;
}

/* Puts node right after pos (pos may be the head: node becomes first). */
static inline void list_insert_after(struct list *pos, struct list *node)
{
    node->prev = pos;
    node->next = pos->next;
    pos->next->prev = node;
    pos->next = node;
}

/* Puts node right before pos (pos may be the head: node becomes last). */
static inline void list_insert_before(struct list *pos, struct list *node)
{
    list_insert_after(pos->prev, node);
}

static inline void list_insert_head(struct list *head, struct list *node)
{
    list_insert_after(head, node);
}

static inline void list_insert_tail(struct list *head, struct list *node)
{
    list_insert_before(head, node);
}

/* Takes node off its list and re-initializes it; on a node that is on no
 * list it does nothing. */
static inline void list_remove(struct list *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    list_init(node);
}

/* The first and last nodes of head, or NULL when it is empty. */
static inline struct list *list_first(const struct list *head)
{
    return head->next == head ? NULL : head->next;
}

static inline struct list *list_last(const struct list *head)
{
    return head->prev == head ? NULL : head->prev;
}

/* The node after (before) node on head, or NULL at the end (start). */
static inline struct list *list_next(const struct list *head, const struct list *node)
{
    return node->next == head ? NULL : node->next;
}

static inline struct list *list_prev(const struct list *head, const struct list *node)
{
    return node->prev == head ? NULL : node->prev;
}

#endif
