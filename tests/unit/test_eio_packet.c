/* test_eio_packet.c - a Socket.IO peer's packets as the cloud reads them
 * (eio_packet.h): every Engine.IO and Socket.IO kind, the parts pointed
 * at, the malformed ones, a polling payload's split, and the session's
 * token put into a registration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/eio_packet.h"

static struct eio_in_packet parse(const char *text)
{
    struct eio_in_packet p;
    eio_packet_parse(text, strlen(text), &p);
    return p;
}

static void assert_part(const char *at, size_t len, const char *want)
{
    assert_non_null(at);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(at, want, len);
}

static void test_engine_io_kinds(void **state)
{
    (void)state;
    assert_int_equal(parse("1").kind, EIO_IN_CLOSE);
    assert_int_equal(parse("3").kind, EIO_IN_PONG);
    assert_int_equal(parse("6").kind, EIO_IN_NOOP);
    assert_int_equal(parse("bAAEC").kind, EIO_IN_BINARY);
    struct eio_in_packet p = parse("2probe");
    assert_int_equal(p.kind, EIO_IN_PING);
    assert_part(p.data, p.len, "probe");
    p = parse("2");
    assert_int_equal(p.kind, EIO_IN_PING);
    assert_int_equal(p.len, 0);
}

static void test_malformed_engine_io_packets_say_why(void **state)
{
    (void)state;
    struct eio_in_packet p;
    eio_packet_parse("", 0, &p);
    assert_int_equal(p.kind, EIO_IN_MALFORMED);
    assert_string_equal(p.error, "empty Engine.IO packet");
    const char *bad[] = {"0", "5", "7", "x", "{}", "\x1e"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = parse(bad[i]);
        assert_int_equal(p.kind, EIO_IN_MALFORMED);
        assert_string_equal(p.error, "malformed Engine.IO packet");
    }
    /* The pong echoes the payload: at most EIO_PING_PAYLOAD_MAX bytes. */
    assert_int_equal(parse("2123456789").kind, EIO_IN_PING);
    p = parse("21234567890");
    assert_int_equal(p.kind, EIO_IN_MALFORMED);
    assert_string_equal(p.error, "Engine.IO ping payload too long");
}

static void test_connect_with_and_without_auth(void **state)
{
    (void)state;
    struct eio_in_packet p = parse("40");
    assert_int_equal(p.kind, EIO_IN_CONNECT);
    assert_int_equal(p.len, 0);
    p = parse("40{\"token\":\"t\"}");
    assert_int_equal(p.kind, EIO_IN_CONNECT);
    assert_part(p.data, p.len, "{\"token\":\"t\"}");
    /* The main namespace written out. */
    p = parse("40/,{\"token\":\"t\"}");
    assert_int_equal(p.kind, EIO_IN_CONNECT);
    assert_part(p.data, p.len, "{\"token\":\"t\"}");
    p = parse("40/,");
    assert_int_equal(p.kind, EIO_IN_CONNECT);
    assert_int_equal(p.len, 0);
    p = parse("40/");
    assert_int_equal(p.kind, EIO_IN_CONNECT);
    assert_int_equal(p.len, 0);
}

static void test_other_namespaces_are_refused_by_name(void **state)
{
    (void)state;
    struct eio_in_packet p = parse("40/admin,{}");
    assert_int_equal(p.kind, EIO_IN_BAD_NAMESPACE);
    assert_part(p.ns, p.nslen, "/admin");
    p = parse("42/admin,[\"x\"]");
    assert_int_equal(p.kind, EIO_IN_BAD_NAMESPACE);
    assert_part(p.ns, p.nslen, "/admin");
    p = parse("40/chat");
    assert_int_equal(p.kind, EIO_IN_BAD_NAMESPACE);
    assert_part(p.ns, p.nslen, "/chat");
    /* Only CONNECT may name "/". */
    p = parse("42/,[\"x\"]");
    assert_int_equal(p.kind, EIO_IN_BAD_NAMESPACE);
    assert_part(p.ns, p.nslen, "/");
}

static void test_socket_io_kinds(void **state)
{
    (void)state;
    assert_int_equal(parse("41").kind, EIO_IN_DISCONNECT);
    assert_int_equal(parse("43").kind, EIO_IN_ACK);
    assert_int_equal(parse("4312[]").kind, EIO_IN_ACK);
    assert_int_equal(parse("451-[\"x\",{\"_placeholder\":true,\"num\":0}]").kind, EIO_IN_BINARY);
    assert_int_equal(parse("461-0[]").kind, EIO_IN_BINARY);
    struct eio_in_packet p = parse("4");
    assert_int_equal(p.kind, EIO_IN_MALFORMED);
    assert_string_equal(p.error, "empty Socket.IO packet");
    p = parse("47");
    assert_int_equal(p.kind, EIO_IN_MALFORMED);
    assert_string_equal(p.error, "unknown Socket.IO packet type");
}

static void test_events_with_and_without_an_ack_id(void **state)
{
    (void)state;
    struct eio_in_packet p = parse("42[\"ice-candidate\",{}]");
    assert_int_equal(p.kind, EIO_IN_EVENT);
    assert_false(p.has_ack);
    assert_part(p.data, p.len, "[\"ice-candidate\",{}]");
    p = parse("4217[\"ice-candidate\",{}]");
    assert_int_equal(p.kind, EIO_IN_EVENT);
    assert_true(p.has_ack);
    assert_int_equal(p.ack, 17);
    assert_part(p.data, p.len, "[\"ice-candidate\",{}]");
    p = parse("42999999999[]");
    assert_int_equal(p.kind, EIO_IN_EVENT);
    assert_int_equal(p.ack, EIO_ACK_ID_MAX);
    p = parse("421000000000[]");
    assert_int_equal(p.kind, EIO_IN_MALFORMED);
    assert_string_equal(p.error, "Socket.IO acknowledgement id too long");
    /* Digits that never end are refused at the tenth, not read on. */
    char many[4096];
    memset(many, '9', sizeof many);
    many[0] = '4';
    many[1] = '2';
    eio_packet_parse(many, sizeof many, &p);
    assert_int_equal(p.kind, EIO_IN_MALFORMED);
    /* An event that is only its ack id: an empty array text, which the
     * codec then refuses. */
    p = parse("425");
    assert_int_equal(p.kind, EIO_IN_EVENT);
    assert_int_equal(p.len, 0);
}

/* The packets of body as "|"-joined text ("" for an empty packet). */
static void split(const char *body, size_t len, char *out, size_t outlen)
{
    const char *pos = body, *pkt;
    size_t n, used = 0;
    out[0] = 0;
    while (eio_payload_next(&pos, body + len, &pkt, &n))
        used += (size_t)snprintf(out + used, outlen - used, "%s%.*s", used ? "|" : "", (int)n,
                                 pkt);
}

static void test_a_polling_payload_splits_on_the_record_separator(void **state)
{
    (void)state;
    char got[128];
    split("", 0, got, sizeof got);
    assert_string_equal(got, "");
    split("42[1]", 5, got, sizeof got);
    assert_string_equal(got, "42[1]");
    split("42[1]\x1e" "3\x1e" "6", 9, got, sizeof got);
    assert_string_equal(got, "42[1]|3|6");
    /* A trailing separator ends the payload; two in a row make an empty
     * packet, which the parser then refuses. */
    split("3\x1e", 2, got, sizeof got);
    assert_string_equal(got, "3");
    split("3\x1e\x1e" "6", 4, got, sizeof got);
    assert_string_equal(got, "3||6");
    split("\x1e", 1, got, sizeof got);
    assert_string_equal(got, "");
}

static char *with_token(const char *text, const char *token)
{
    struct outbuf *b = eio_with_token(text, strlen(text), token);
    if (!b)
        return NULL;
    char *s = strndup((const char *)outbuf_payload(b), b->len);
    outbuf_unref(b);
    return s;
}

static void test_the_session_token_goes_into_a_registration_without_one(void **state)
{
    (void)state;
    char *s = with_token("42[\"client-register\",{\"clientId\":\"v1\"}]", "tok");
    assert_non_null(s);
    assert_non_null(strstr(s, "\"token\":\"tok\""));
    assert_non_null(strstr(s, "\"clientId\":\"v1\""));
    assert_true(strncmp(s, "42[\"client-register\",", 21) == 0);
    free(s);
    s = with_token("42[\"robot-register\",{\"robotId\":\"r1\"}]", "tok");
    assert_non_null(s);
    assert_non_null(strstr(s, "\"token\":\"tok\""));
    free(s);
    /* Its own token wins; other events and what does not decode are left
     * as they came (NULL: nothing to change). */
    assert_null(with_token("42[\"client-register\",{\"token\":\"mine\"}]", "tok"));
    assert_null(with_token("42[\"create-session\",{\"robotId\":\"r1\"}]", "tok"));
    assert_null(with_token("42[\"client-register\",", "tok"));
    assert_null(with_token("42", "tok"));
    /* A token that is not UTF-8 cannot become a JSON string. */
    assert_null(with_token("42[\"client-register\",{}]", "\xff"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_io_kinds),
        cmocka_unit_test(test_malformed_engine_io_packets_say_why),
        cmocka_unit_test(test_connect_with_and_without_auth),
        cmocka_unit_test(test_other_namespaces_are_refused_by_name),
        cmocka_unit_test(test_socket_io_kinds),
        cmocka_unit_test(test_events_with_and_without_an_ack_id),
        cmocka_unit_test(test_a_polling_payload_splits_on_the_record_separator),
        cmocka_unit_test(test_the_session_token_goes_into_a_registration_without_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
