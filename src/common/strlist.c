/* strlist.c - walking comma-separated lists. */
#include "common/strlist.h"

#include <ctype.h>
#include <string.h>

bool strlist_next(const char **cursor, struct strlist_item *item)
{
    const char *p = *cursor;
    if (p == NULL)
        return false;
    const char *end = strchr(p, ',');
    if (end == NULL)
        end = p + strlen(p);
    const char *a = p, *b = end;
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    item->ptr = a;
    item->len = (size_t)(b - a);
    *cursor = *end == ',' ? end + 1 : NULL;
    return true;
}
