/* test_sdpfrag.c - unit tests of the SDP fragment reader (sdpfrag.h, RFC
 * 8840): credentials, candidates with their m-line and mid, the end of
 * candidates, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "robot/sdpfrag.h"

static struct sdpfrag frag;

static void expect_refused(const char *text, size_t len, const char *want)
{
    char err[160] = "";
    assert_int_equal(sdpfrag_parse(text, len, &frag, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_a_whep_clients_fragment_is_read(void **state)
{
    (void)state;
    static const char text[] =
        "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=group:BUNDLE 0 1\r\n"
        "m=audio 9 RTP/AVP 0\r\na=mid:0\r\n"
        "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n"
        "m=video 9 RTP/AVP 0\r\na=mid:1\r\n"
        "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host\r\n"
        "a=end-of-candidates\r\n";
    char err[160];
    assert_int_equal(sdpfrag_parse(text, strlen(text), &frag, err, sizeof err), 0);
    assert_string_equal(frag.ufrag, "EsAw");
    assert_string_equal(frag.pwd, "P2uYro0UCOQ4zxjKXaWCBui1");
    assert_int_equal(frag.ncandidates, 2);
    assert_int_equal(frag.candidates[0].mline, 0);
    assert_string_equal(frag.candidates[0].mid, "0");
    assert_int_equal(frag.candidates[1].mline, 1);
    assert_string_equal(frag.candidates[1].mid, "1");
    assert_int_equal(frag.candidates[1].len,
                     strlen("candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host"));
    assert_memory_equal(frag.candidates[1].line, "candidate:3471623853", 20);
    assert_true(frag.end_of_candidates);
}

static void test_lf_lines_and_candidates_before_any_m_line(void **state)
{
    (void)state;
    static const char text[] = "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\n\n";
    char err[160];
    assert_int_equal(sdpfrag_parse(text, strlen(text), &frag, err, sizeof err), 0);
    assert_int_equal(frag.ncandidates, 1);
    assert_int_equal(frag.candidates[0].mline, 0);
    assert_string_equal(frag.candidates[0].mid, "");
    assert_string_equal(frag.ufrag, "");
    assert_false(frag.end_of_candidates);
}

static void test_bad_fragments_are_refused(void **state)
{
    (void)state;
    expect_refused("hello\r\n", 7, "line 1 of the fragment is not an SDP line");
    expect_refused("a=mid:0\r\n=x\r\n", 12, "line 2 of the fragment is not an SDP line");
    expect_refused("a=mid:0\0x", 9, "NUL byte");
    char line[SDPFRAG_LINE_MAX + 8];
    memset(line, 'x', sizeof line);
    memcpy(line, "a=", 2);
    expect_refused(line, sizeof line, "longer than 1024 bytes");
    char mid[64] = "a=mid:";
    memset(mid + 6, '1', 40);
    expect_refused(mid, 46, "too long");
    GString *many = g_string_new(NULL);
    for (int i = 0; i <= SDPFRAG_MAX_CANDIDATES; i++)
        g_string_append(many, "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n");
    expect_refused(many->str, many->len, "more than 64 candidates");
    g_string_free(many, TRUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_whep_clients_fragment_is_read),
        cmocka_unit_test(test_lf_lines_and_candidates_before_any_m_line),
        cmocka_unit_test(test_bad_fragments_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
