/* test_registry.c - unit tests of the in-memory presence store (registry_mem). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/registry.h"

/* A record as the router would hold it: the id is a field of the record. */
struct record {
    char id[32];
    int visits;
};

#define MANY 10000

static int setup(void **state)
{
    struct registry *reg = calloc(1, sizeof(*reg));
    if (!reg || registry_mem_new(reg) != 0) {
        free(reg);
        return -1;
    }
    *state = reg;
    return 0;
}

static int teardown(void **state)
{
    struct registry *reg = *state;
    registry_free(reg);
    free(reg);
    return 0;
}

static bool count_visit(void *record, void *arg)
{
    struct record *r = record;
    r->visits++;
    (*(size_t *)arg)++;
    return true;
}

static bool stop_at_first(void *record, void *arg)
{
    (void)record;
    (*(size_t *)arg)++;
    return false;
}

static void test_new_store_is_empty_for_every_kind(void **state)
{
    struct registry *reg = *state;
    for (int k = 0; k < REG__KINDS; k++)
        assert_int_equal(registry_count(reg, (enum registry_kind)k), 0);
}

static void test_added_robot_is_found_by_id(void **state)
{
    struct registry *reg = *state;
    struct record r = {.id = "robot-1"};
    assert_int_equal(registry_add(reg, REG_ROBOT, r.id, &r), 0);
    assert_ptr_equal(registry_find(reg, REG_ROBOT, "robot-1"), &r);
}

static void test_added_client_is_found_by_id(void **state)
{
    struct registry *reg = *state;
    struct record r = {.id = "viewer-7"};
    assert_int_equal(registry_add(reg, REG_CLIENT, r.id, &r), 0);
    assert_ptr_equal(registry_find(reg, REG_CLIENT, "viewer-7"), &r);
}

static void test_added_session_is_found_by_id(void **state)
{
    struct registry *reg = *state;
    struct record r = {.id = "q1w2e3r4t5y6u7i8o9p0-_"};
    assert_int_equal(registry_add(reg, REG_SESSION, r.id, &r), 0);
    assert_ptr_equal(registry_find(reg, REG_SESSION, "q1w2e3r4t5y6u7i8o9p0-_"), &r);
}

static void test_find_of_absent_id_returns_null(void **state)
{
    struct registry *reg = *state;
    struct record r = {.id = "robot-1"};
    assert_int_equal(registry_add(reg, REG_ROBOT, r.id, &r), 0);
    assert_null(registry_find(reg, REG_ROBOT, "robot-2"));
    assert_null(registry_find(reg, REG_ROBOT, "robot-"));
    assert_null(registry_find(reg, REG_ROBOT, "robot-10"));
}

static void test_add_counts_only_in_its_kind(void **state)
{
    struct registry *reg = *state;
    struct record a = {.id = "a"}, b = {.id = "b"};
    assert_int_equal(registry_add(reg, REG_CLIENT, a.id, &a), 0);
    assert_int_equal(registry_add(reg, REG_CLIENT, b.id, &b), 0);
    assert_int_equal(registry_count(reg, REG_CLIENT), 2);
    assert_int_equal(registry_count(reg, REG_ROBOT), 0);
    assert_int_equal(registry_count(reg, REG_SESSION), 0);
}

static void test_same_id_in_two_kinds_names_two_records(void **state)
{
    struct registry *reg = *state;
    struct record robot = {.id = "lab-1"}, client = {.id = "lab-1"};
    assert_int_equal(registry_add(reg, REG_ROBOT, robot.id, &robot), 0);
    assert_int_equal(registry_add(reg, REG_CLIENT, client.id, &client), 0);
    assert_ptr_equal(registry_find(reg, REG_ROBOT, "lab-1"), &robot);
    assert_ptr_equal(registry_find(reg, REG_CLIENT, "lab-1"), &client);
    assert_null(registry_find(reg, REG_SESSION, "lab-1"));
}

static void test_remove_from_one_kind_keeps_the_other(void **state)
{
    struct registry *reg = *state;
    struct record robot = {.id = "lab-1"}, client = {.id = "lab-1"};
    assert_int_equal(registry_add(reg, REG_ROBOT, robot.id, &robot), 0);
    assert_int_equal(registry_add(reg, REG_CLIENT, client.id, &client), 0);
    assert_ptr_equal(registry_remove(reg, REG_ROBOT, "lab-1"), &robot);
    assert_null(registry_find(reg, REG_ROBOT, "lab-1"));
    assert_ptr_equal(registry_find(reg, REG_CLIENT, "lab-1"), &client);
    assert_int_equal(registry_count(reg, REG_CLIENT), 1);
}

static void test_duplicate_add_returns_1_and_keeps_first_record(void **state)
{
    struct registry *reg = *state;
    struct record first = {.id = "robot-1"}, second = {.id = "robot-1"};
    assert_int_equal(registry_add(reg, REG_ROBOT, first.id, &first), 0);
    assert_int_equal(registry_add(reg, REG_ROBOT, second.id, &second), 1);
    assert_ptr_equal(registry_find(reg, REG_ROBOT, "robot-1"), &first);
    assert_int_equal(registry_count(reg, REG_ROBOT), 1);
}

static void test_remove_returns_the_record_and_forgets_it(void **state)
{
    struct registry *reg = *state;
    struct record r = {.id = "robot-1"};
    assert_int_equal(registry_add(reg, REG_ROBOT, r.id, &r), 0);
    assert_ptr_equal(registry_remove(reg, REG_ROBOT, "robot-1"), &r);
    assert_null(registry_find(reg, REG_ROBOT, "robot-1"));
    assert_int_equal(registry_count(reg, REG_ROBOT), 0);
}

static void test_remove_of_absent_id_returns_null(void **state)
{
    struct registry *reg = *state;
    struct record r = {.id = "robot-1"};
    assert_int_equal(registry_add(reg, REG_ROBOT, r.id, &r), 0);
    assert_null(registry_remove(reg, REG_ROBOT, "robot-2"));
    assert_null(registry_remove(reg, REG_CLIENT, "robot-1"));
    assert_int_equal(registry_count(reg, REG_ROBOT), 1);
}

static void test_removed_id_can_be_added_again(void **state)
{
    struct registry *reg = *state;
    struct record old = {.id = "robot-1"}, fresh = {.id = "robot-1"};
    assert_int_equal(registry_add(reg, REG_ROBOT, old.id, &old), 0);
    assert_ptr_equal(registry_remove(reg, REG_ROBOT, "robot-1"), &old);
    assert_int_equal(registry_add(reg, REG_ROBOT, fresh.id, &fresh), 0);
    assert_ptr_equal(registry_find(reg, REG_ROBOT, "robot-1"), &fresh);
}

static void test_foreach_visits_every_record_of_its_kind_once(void **state)
{
    struct registry *reg = *state;
    struct record robots[5], client = {.id = "robot-0"};
    for (int i = 0; i < 5; i++) {
        robots[i] = (struct record){0};
        snprintf(robots[i].id, sizeof robots[i].id, "robot-%d", i);
        assert_int_equal(registry_add(reg, REG_ROBOT, robots[i].id, &robots[i]), 0);
    }
    assert_int_equal(registry_add(reg, REG_CLIENT, client.id, &client), 0);
    size_t seen = 0;
    registry_foreach(reg, REG_ROBOT, count_visit, &seen);
    assert_int_equal(seen, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(robots[i].visits, 1);
    assert_int_equal(client.visits, 0);
}

static void test_foreach_stops_when_visitor_returns_false(void **state)
{
    struct registry *reg = *state;
    struct record a = {.id = "a"}, b = {.id = "b"}, c = {.id = "c"};
    assert_int_equal(registry_add(reg, REG_SESSION, a.id, &a), 0);
    assert_int_equal(registry_add(reg, REG_SESSION, b.id, &b), 0);
    assert_int_equal(registry_add(reg, REG_SESSION, c.id, &c), 0);
    size_t seen = 0;
    registry_foreach(reg, REG_SESSION, stop_at_first, &seen);
    assert_int_equal(seen, 1);
}

static void test_foreach_of_empty_kind_visits_nothing(void **state)
{
    struct registry *reg = *state;
    size_t seen = 0;
    registry_foreach(reg, REG_CLIENT, count_visit, &seen);
    assert_int_equal(seen, 0);
}

static void test_ten_thousand_records_are_added_found_and_removed(void **state)
{
    struct registry *reg = *state;
    struct record *recs = calloc(MANY, sizeof(*recs));
    assert_non_null(recs);
    for (int i = 0; i < MANY; i++) {
        snprintf(recs[i].id, sizeof recs[i].id, "client-%d", i);
        assert_int_equal(registry_add(reg, REG_CLIENT, recs[i].id, &recs[i]), 0);
    }
    assert_int_equal(registry_count(reg, REG_CLIENT), MANY);

    for (int i = 0; i < MANY; i++) {
        char id[32];
        snprintf(id, sizeof id, "client-%d", i);
        assert_ptr_equal(registry_find(reg, REG_CLIENT, id), &recs[i]);
    }
    size_t seen = 0;
    registry_foreach(reg, REG_CLIENT, count_visit, &seen);
    assert_int_equal(seen, MANY);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(recs[i].visits, 1);

    for (int i = 0; i < MANY; i += 2)
        assert_ptr_equal(registry_remove(reg, REG_CLIENT, recs[i].id), &recs[i]);
    assert_int_equal(registry_count(reg, REG_CLIENT), MANY / 2);
    for (int i = 0; i < MANY; i++)
        assert_ptr_equal(registry_find(reg, REG_CLIENT, recs[i].id), i % 2 ? &recs[i] : NULL);

    for (int i = 1; i < MANY; i += 2)
        assert_ptr_equal(registry_remove(reg, REG_CLIENT, recs[i].id), &recs[i]);
    assert_int_equal(registry_count(reg, REG_CLIENT), 0);
    free(recs);
}

static void test_destroy_leaves_records_to_their_owner(void **state)
{
    (void)state;
    struct registry reg;
    assert_int_equal(registry_mem_new(&reg), 0);
    struct record *r = malloc(sizeof(*r));
    assert_non_null(r);
    *r = (struct record){.id = "robot-1"};
    assert_int_equal(registry_add(&reg, REG_ROBOT, r->id, r), 0);
    registry_free(&reg);
    /* Still ours: a store that freed it would make this a use after free. */
    assert_string_equal(r->id, "robot-1");
    free(r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_new_store_is_empty_for_every_kind),
        T(test_added_robot_is_found_by_id),
        T(test_added_client_is_found_by_id),
        T(test_added_session_is_found_by_id),
        T(test_find_of_absent_id_returns_null),
        T(test_add_counts_only_in_its_kind),
        T(test_same_id_in_two_kinds_names_two_records),
        T(test_remove_from_one_kind_keeps_the_other),
        T(test_duplicate_add_returns_1_and_keeps_first_record),
        T(test_remove_returns_the_record_and_forgets_it),
        T(test_remove_of_absent_id_returns_null),
        T(test_removed_id_can_be_added_again),
        T(test_foreach_visits_every_record_of_its_kind_once),
        T(test_foreach_stops_when_visitor_returns_false),
        T(test_foreach_of_empty_kind_visits_nothing),
        T(test_ten_thousand_records_are_added_found_and_removed),
        cmocka_unit_test(test_destroy_leaves_records_to_their_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
