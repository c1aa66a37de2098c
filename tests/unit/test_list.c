/* test_list.c - the intrusive list of common/list.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/list.h"

struct item {
    int value;
    struct list node;
};

/* Writes the values on head as "1,2,3" into out, walking forwards, and
 * checks that walking backwards gives the same elements reversed. */
static void dump(const struct list *head, char *out, size_t outlen)
{
    const struct list *pos;
    int fwd[16], n = 0;
    out[0] = '\0';
    list_foreach(pos, head) {
        const struct item *it = list_entry(pos, const struct item, node);
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%d", n ? "," : "", it->value);
        assert_true(n < 16);
        fwd[n++] = it->value;
    }
    for (const struct list *p = list_last(head); p; p = list_prev(head, p))
        assert_int_equal(list_entry(p, const struct item, node)->value, fwd[--n]);
    assert_int_equal(n, 0);
}

static void items_init(struct item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        items[i].value = (int)i;
        list_init(&items[i].node);
    }
}

static void test_empty_list_has_no_first_or_last(void **state)
{
    (void)state;
    struct list head;
    list_init(&head);
    assert_true(list_empty(&head));
    assert_null(list_first(&head));
    assert_null(list_last(&head));
    char out[64];
    dump(&head, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_insert_head_and_tail_keep_order(void **state)
{
    (void)state;
    struct list head;
    struct item it[4];
    list_init(&head);
    items_init(it, 4);
    list_insert_tail(&head, &it[1].node);
    list_insert_tail(&head, &it[2].node);
    list_insert_head(&head, &it[0].node);
    list_insert_tail(&head, &it[3].node);
    char out[64];
    dump(&head, out, sizeof out);
    assert_string_equal(out, "0,1,2,3");
    assert_ptr_equal(list_first(&head), &it[0].node);
    assert_ptr_equal(list_last(&head), &it[3].node);
    assert_ptr_equal(list_next(&head, &it[0].node), &it[1].node);
    assert_null(list_next(&head, &it[3].node));
    assert_null(list_prev(&head, &it[0].node));
}

static void test_insert_before_and_after_a_member(void **state)
{
    (void)state;
    struct list head;
    struct item it[4];
    list_init(&head);
    items_init(it, 4);
    list_insert_tail(&head, &it[0].node);
    list_insert_tail(&head, &it[3].node);
    list_insert_after(&it[0].node, &it[1].node);
    list_insert_before(&it[3].node, &it[2].node);
    char out[64];
    dump(&head, out, sizeof out);
    assert_string_equal(out, "0,1,2,3");
}

static void test_remove_first_middle_last(void **state)
{
    (void)state;
    struct list head;
    struct item it[5];
    list_init(&head);
    items_init(it, 5);
    for (int i = 0; i < 5; i++)
        list_insert_tail(&head, &it[i].node);
    list_remove(&it[0].node);
    list_remove(&it[2].node);
    list_remove(&it[4].node);
    char out[64];
    dump(&head, out, sizeof out);
    assert_string_equal(out, "1,3");
    assert_false(list_linked(&it[2].node));
    assert_true(list_linked(&it[3].node));
}

static void test_remove_twice_is_harmless(void **state)
{
    (void)state;
    struct list head;
    struct item it[2];
    list_init(&head);
    items_init(it, 2);
    list_insert_tail(&head, &it[0].node);
    list_insert_tail(&head, &it[1].node);
    list_remove(&it[0].node);
    list_remove(&it[0].node);
    char out[64];
    dump(&head, out, sizeof out);
    assert_string_equal(out, "1");
    list_remove(&it[1].node);
    assert_true(list_empty(&head));
}

static void test_foreach_safe_allows_removing_the_current(void **state)
{
    (void)state;
    struct list head, *pos, *tmp;
    struct item it[6];
    list_init(&head);
    items_init(it, 6);
    for (int i = 0; i < 6; i++)
        list_insert_tail(&head, &it[i].node);
    list_foreach_safe(pos, tmp, &head) {
        if (list_entry(pos, struct item, node)->value % 2 == 0)
            list_remove(pos);
    }
    char out[64];
    dump(&head, out, sizeof out);
    assert_string_equal(out, "1,3,5");
}

static void test_moving_a_node_between_lists(void **state)
{
    (void)state;
    struct list a, b;
    struct item it[2];
    list_init(&a);
    list_init(&b);
    items_init(it, 2);
    list_insert_tail(&a, &it[0].node);
    list_insert_tail(&a, &it[1].node);
    list_remove(&it[0].node);
    list_insert_tail(&b, &it[0].node);
    char out[64];
    dump(&a, out, sizeof out);
    assert_string_equal(out, "1");
    dump(&b, out, sizeof out);
    assert_string_equal(out, "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_list_has_no_first_or_last),
        cmocka_unit_test(test_insert_head_and_tail_keep_order),
        cmocka_unit_test(test_insert_before_and_after_a_member),
        cmocka_unit_test(test_remove_first_middle_last),
        cmocka_unit_test(test_remove_twice_is_harmless),
        cmocka_unit_test(test_foreach_safe_allows_removing_the_current),
        cmocka_unit_test(test_moving_a_node_between_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
