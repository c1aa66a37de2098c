/* test_sendq.c - a connection's send queue (cloud/sendq.h): order, byte
 * accounting, the overflow rule, references, the ring, and batching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cloud/sendq.h"

/* A buffer holding the text s (one reference: the test's). */
static struct outbuf *msg(const char *s)
{
    struct outbuf *b = outbuf_new(s, strlen(s));
    assert_non_null(b);
    return b;
}

/* A buffer of len bytes of 'x'. */
static struct outbuf *msg_of(size_t len)
{
    static unsigned char x[70000];
    memset(x, 'x', sizeof(x));
    assert_true(len <= sizeof(x));
    struct outbuf *b = outbuf_new(x, len);
    assert_non_null(b);
    return b;
}

/* Pops the oldest message, checks its text, and drops the reference the
 * queue handed over. */
static void expect_pop(struct sendq *q, const char *text)
{
    struct outbuf *b = sendq_pop(q);
    assert_non_null(b);
    assert_int_equal(b->len, strlen(text));
    assert_memory_equal(outbuf_payload(b), text, b->len);
    outbuf_unref(b);
}

static void test_new_queue_is_empty(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    assert_int_equal(sendq_count(&q), 0);
    assert_int_equal(sendq_bytes(&q), 0);
    assert_null(sendq_peek(&q));
    assert_null(sendq_pop(&q));
    unsigned char out[64];
    unsigned popped = 99;
    assert_int_equal(sendq_pop_frames(&q, out, sizeof(out), 16, &popped), 0);
    assert_int_equal(popped, 0);
    sendq_clear(&q);
}

static void test_zeroed_queue_is_an_empty_queue(void **state)
{
    (void)state;
    struct sendq q = {0};
    struct outbuf *a = msg("a");
    assert_int_equal(sendq_push(&q, a, 100), 0);
    expect_pop(&q, "a");
    outbuf_unref(a);
    sendq_clear(&q);
}

static void test_pop_returns_messages_in_push_order(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    const char *texts[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        struct outbuf *b = msg(texts[i]);
        assert_int_equal(sendq_push(&q, b, 1000), 0);
        outbuf_unref(b);
    }
    assert_int_equal(sendq_count(&q), 3);
    assert_memory_equal(outbuf_payload(sendq_peek(&q)), "one", 3);
    assert_int_equal(sendq_count(&q), 3); /* peek takes nothing */
    expect_pop(&q, "one");
    expect_pop(&q, "two");
    expect_pop(&q, "three");
    assert_null(sendq_pop(&q));
    sendq_clear(&q);
}

static void test_bytes_count_the_payloads_queued(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *a = msg_of(5), *b = msg_of(10), *c = msg_of(20);
    sendq_push(&q, a, 1000);
    sendq_push(&q, b, 1000);
    sendq_push(&q, c, 1000);
    assert_int_equal(sendq_bytes(&q), 35);
    outbuf_unref(sendq_pop(&q));
    assert_int_equal(sendq_bytes(&q), 30);
    sendq_clear(&q);
    assert_int_equal(sendq_bytes(&q), 0);
    outbuf_unref(a);
    outbuf_unref(b);
    outbuf_unref(c);
}

static void test_push_takes_a_reference_and_pop_hands_it_over(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *a = msg("a");
    assert_int_equal(sendq_push(&q, a, 100), 0);
    assert_int_equal(a->refs, 2);
    struct outbuf *got = sendq_pop(&q);
    assert_ptr_equal(got, a);
    assert_int_equal(a->refs, 2); /* the queue's reference is now ours */
    outbuf_unref(got);
    assert_int_equal(a->refs, 1);
    outbuf_unref(a);
    sendq_clear(&q);
}

static void test_limit_refuses_a_message_past_max_bytes(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *ten = msg_of(10), *one = msg_of(1);
    assert_int_equal(sendq_push(&q, ten, 20), 0);
    assert_int_equal(sendq_push(&q, ten, 20), 0); /* exactly at the limit */
    assert_int_equal(sendq_push(&q, one, 20), -1);
    /* Refused: the queue and the buffer are as they were. */
    assert_int_equal(sendq_count(&q), 2);
    assert_int_equal(sendq_bytes(&q), 20);
    assert_int_equal(one->refs, 1);
    /* Room again once the peer has read. */
    outbuf_unref(sendq_pop(&q));
    assert_int_equal(sendq_push(&q, one, 20), 0);
    sendq_clear(&q);
    outbuf_unref(ten);
    outbuf_unref(one);
}

static void test_empty_queue_takes_one_message_over_the_limit(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *big = msg_of(100), *one = msg_of(1);
    assert_int_equal(sendq_push(&q, big, 10), 0);
    assert_int_equal(sendq_push(&q, one, 10), -1);
    assert_int_equal(sendq_count(&q), 1);
    sendq_clear(&q);
    outbuf_unref(big);
    outbuf_unref(one);
}

static void test_clear_releases_every_reference(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *a = msg("a"), *b = msg("b");
    sendq_push(&q, a, 1000);
    sendq_push(&q, b, 1000);
    sendq_push(&q, a, 1000); /* one buffer queued twice: two references */
    assert_int_equal(a->refs, 3);
    assert_int_equal(b->refs, 2);
    sendq_clear(&q);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    assert_int_equal(sendq_count(&q), 0);
    assert_int_equal(sendq_bytes(&q), 0);
    assert_null(q.ring); /* no memory held */
    sendq_clear(&q);     /* twice is harmless */
    outbuf_unref(a);
    outbuf_unref(b);
}

/* Pushes the one-letter messages of s, dropping the test's references. */
static void push_letters(struct sendq *q, const char *s)
{
    for (; *s; s++) {
        char t[2] = {*s, '\0'};
        struct outbuf *b = msg(t);
        assert_int_equal(sendq_push(q, b, 1000), 0);
        outbuf_unref(b);
    }
}

static void test_ring_wraps_around_without_growing(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    push_letters(&q, "abc");
    expect_pop(&q, "a");
    expect_pop(&q, "b");
    push_letters(&q, "def"); /* c d | e f: the tail wraps to slot 0 */
    assert_int_equal(q.cap, SENDQ_INITIAL);
    expect_pop(&q, "c");
    expect_pop(&q, "d");
    expect_pop(&q, "e");
    expect_pop(&q, "f");
    sendq_clear(&q);
}

static void test_ring_grows_keeping_order_when_wrapped(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    push_letters(&q, "abcd");
    expect_pop(&q, "a");
    expect_pop(&q, "b");
    push_letters(&q, "ef"); /* full, and wrapped */
    assert_int_equal(q.cap, SENDQ_INITIAL);
    push_letters(&q, "g");
    assert_int_equal(q.cap, 2 * SENDQ_INITIAL);
    for (const char *s = "cdefg"; *s; s++) {
        char t[2] = {*s, '\0'};
        expect_pop(&q, t);
    }
    assert_int_equal(sendq_count(&q), 0);
    sendq_clear(&q);
}

static void test_ring_grows_by_doubling(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *b = msg("m");
    for (int i = 0; i < 100; i++)
        assert_int_equal(sendq_push(&q, b, 1000), 0);
    assert_int_equal(q.cap, 128);
    assert_int_equal(sendq_count(&q), 100);
    assert_int_equal(b->refs, 101);
    sendq_clear(&q);
    assert_int_equal(b->refs, 1);
    outbuf_unref(b);
}

/* Idle connections are the many: a queue of one message, or an emptied
 * one, holds no ring. */
static void test_one_message_holds_no_ring(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    push_letters(&q, "a");
    assert_int_equal(q.cap, 0);
    assert_int_equal(sendq_count(&q), 1);
    assert_memory_equal(outbuf_payload(sendq_peek(&q)), "a", 1);
    expect_pop(&q, "a");
    push_letters(&q, "b");
    assert_int_equal(q.cap, 0);
    sendq_clear(&q);
    assert_int_equal(q.cap, 0);
    assert_null(q.ring);
}

static void test_second_message_makes_a_ring_freed_when_empty(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    push_letters(&q, "ab");
    assert_int_equal(q.cap, SENDQ_INITIAL);
    expect_pop(&q, "a");
    assert_int_equal(q.cap, SENDQ_INITIAL); /* not empty yet */
    expect_pop(&q, "b");
    assert_int_equal(q.cap, 0);
    assert_null(q.ring);
    assert_int_equal(sendq_bytes(&q), 0);
    push_letters(&q, "cd"); /* a burst again */
    expect_pop(&q, "c");
    expect_pop(&q, "d");
    assert_null(sendq_pop(&q));
    assert_null(q.ring);
}

static void test_refuses_a_message_past_max_messages(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *empty = outbuf_new(NULL, 0);
    assert_non_null(empty);
    for (unsigned i = 0; i < SENDQ_MAX_MESSAGES; i++)
        assert_int_equal(sendq_push(&q, empty, 1000), 0);
    assert_int_equal(sendq_push(&q, empty, 1000), -1);
    assert_int_equal(sendq_count(&q), SENDQ_MAX_MESSAGES);
    sendq_clear(&q);
    assert_int_equal(empty->refs, 1);
    outbuf_unref(empty);
}

static void test_pop_frames_writes_text_frames_back_to_back(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *a = msg("ab"), *b = msg("cde");
    sendq_push(&q, a, 1000);
    sendq_push(&q, b, 1000);
    unsigned char out[64];
    unsigned popped;
    size_t used = sendq_pop_frames(&q, out, sizeof(out), 16, &popped);
    static const unsigned char want[] = {0x81, 2, 'a', 'b', 0x81, 3, 'c', 'd', 'e'};
    assert_int_equal(used, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(popped, 2);
    assert_int_equal(sendq_count(&q), 0);
    assert_int_equal(sendq_bytes(&q), 0);
    assert_int_equal(a->refs, 1); /* the queue's references are dropped */
    assert_int_equal(b->refs, 1);
    outbuf_unref(a);
    outbuf_unref(b);
    sendq_clear(&q);
}

static void test_pop_frames_uses_16_and_64_bit_lengths(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *mid = msg_of(126), *big = msg_of(65536);
    sendq_push(&q, mid, 1 << 20);
    sendq_push(&q, big, 1 << 20);
    static unsigned char out[70000];
    unsigned popped;
    size_t used = sendq_pop_frames(&q, out, sizeof(out), 16, &popped);
    assert_int_equal(popped, 2);
    assert_int_equal(used, 4 + 126 + 10 + 65536);
    static const unsigned char h16[] = {0x81, 126, 0x00, 126};
    assert_memory_equal(out, h16, sizeof(h16));
    static const unsigned char h64[] = {0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    assert_memory_equal(out + 4 + 126, h64, sizeof(h64));
    outbuf_unref(mid);
    outbuf_unref(big);
    sendq_clear(&q);
}

static void test_pop_frames_reserves_the_largest_header_per_message(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    push_letters(&q, "abc");
    /* Each frame takes 3 bytes, but fits only with SENDQ_FRAME_HEADER_MAX
     * + 1 bytes free: after "a" (3 bytes) 8 remain, less than 11. */
    unsigned char out[11];
    unsigned popped;
    size_t used = sendq_pop_frames(&q, out, sizeof(out), 16, &popped);
    assert_int_equal(used, 3);
    assert_int_equal(popped, 1);
    expect_pop(&q, "b");
    sendq_clear(&q);
}

static void test_pop_frames_stops_at_max_msgs(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    push_letters(&q, "abcde");
    unsigned char out[256];
    unsigned popped;
    size_t used = sendq_pop_frames(&q, out, sizeof(out), 3, &popped);
    assert_int_equal(popped, 3);
    assert_int_equal(used, 9);
    expect_pop(&q, "d");
    sendq_clear(&q);
}

static void test_pop_frames_takes_nothing_when_the_oldest_does_not_fit(void **state)
{
    (void)state;
    struct sendq q;
    sendq_init(&q);
    struct outbuf *big = msg_of(100);
    sendq_push(&q, big, 1000);
    unsigned char out[64];
    unsigned popped = 99;
    assert_int_equal(sendq_pop_frames(&q, out, sizeof(out), 16, &popped), 0);
    assert_int_equal(popped, 0);
    assert_int_equal(sendq_count(&q), 1);
    assert_int_equal(sendq_bytes(&q), 100);
    sendq_clear(&q);
    outbuf_unref(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_queue_is_empty),
        cmocka_unit_test(test_zeroed_queue_is_an_empty_queue),
        cmocka_unit_test(test_pop_returns_messages_in_push_order),
        cmocka_unit_test(test_bytes_count_the_payloads_queued),
        cmocka_unit_test(test_push_takes_a_reference_and_pop_hands_it_over),
        cmocka_unit_test(test_limit_refuses_a_message_past_max_bytes),
        cmocka_unit_test(test_empty_queue_takes_one_message_over_the_limit),
        cmocka_unit_test(test_clear_releases_every_reference),
        cmocka_unit_test(test_ring_wraps_around_without_growing),
        cmocka_unit_test(test_ring_grows_keeping_order_when_wrapped),
        cmocka_unit_test(test_ring_grows_by_doubling),
        cmocka_unit_test(test_one_message_holds_no_ring),
        cmocka_unit_test(test_second_message_makes_a_ring_freed_when_empty),
        cmocka_unit_test(test_refuses_a_message_past_max_messages),
        cmocka_unit_test(test_pop_frames_writes_text_frames_back_to_back),
        cmocka_unit_test(test_pop_frames_uses_16_and_64_bit_lengths),
        cmocka_unit_test(test_pop_frames_reserves_the_largest_header_per_message),
        cmocka_unit_test(test_pop_frames_stops_at_max_msgs),
        cmocka_unit_test(test_pop_frames_takes_nothing_when_the_oldest_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
