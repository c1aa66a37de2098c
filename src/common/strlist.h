/* strlist.h - walking comma-separated lists ("a, b,c") item by item, for
 * flags that take several values. */
#ifndef PORTHOLE_COMMON_STRLIST_H
#define PORTHOLE_COMMON_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist_item {
    const char *ptr; /* into the list; not NUL-terminated */
    size_t len;      /* 0 for an empty item ("a,,b") */
};

/* Stores the item at *cursor, without surrounding white space, in *item
 * and moves *cursor past its comma (to NULL after the last item). Returns
 * false, storing nothing, when *cursor is NULL: start with cursor = list.
 * "" is one empty item; "a," is "a" then an empty item. */
bool strlist_next(const char **cursor, struct strlist_item *item);

#endif
