/* test_candidate.c - unit tests of the strict ICE candidate grammar
 * (src/robot/candidate.c): what it accepts and the canonical text it
 * writes, what it refuses and its words for why, including the lines that
 * the earlier allow-list check and libnice's own parser read differently
 * (the "differential" rows), and that the canonical text parses back to
 * itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "robot/candidate.h"

#define H "candidate:1 1 UDP 2122260223 " /* foundation component transport priority */
#define MDNS "3f2a9c1e-aaaa-bbbb-cccc-1234567890ab.local"

struct accepted {
    const char *line;
    const char *canonical; /* NULL: the line itself */
    int family;            /* of the address: AF_INET, AF_INET6, 0 for a name */
};

static const struct accepted accepted[] = {
    {.line = H "192.168.1.5 51234 typ host", .family = AF_INET},
    {.line = "a=" H "192.168.1.5 51234 typ host", .canonical = H "192.168.1.5 51234 typ host",
     .family = AF_INET},
    /* Chrome's shape: lower-case transport, Chrome's extensions. */
    {.line = "candidate:842163049 1 udp 1677729535 203.0.113.7 61107 typ srflx raddr 10.0.0.2 "
             "rport 61107 generation 0 ufrag abc network-id 1 network-cost 999",
     .canonical = "candidate:842163049 1 UDP 1677729535 203.0.113.7 61107 typ srflx raddr "
                  "10.0.0.2 rport 61107 generation 0 ufrag abc network-id 1 network-cost 999",
     .family = AF_INET},
    /* Extensions come out in one order whatever order they came in. */
    {.line = H "10.0.0.2 5000 typ host network-cost 10 ufrag x+/Y generation 3",
     .canonical = H "10.0.0.2 5000 typ host generation 3 ufrag x+/Y network-cost 10",
     .family = AF_INET},
    /* Firefox's: upper-case transport, nothing after the type. */
    {.line = "candidate:0 1 UDP 2122252543 192.168.1.5 51234 typ host", .family = AF_INET},
    {.line = "candidate:3 1 TCP 1015021823 10.0.0.2 9 typ host tcptype active",
     .family = AF_INET},
    {.line = "candidate:3 1 tcp 1015021823 10.0.0.2 9 typ host tcptype so",
     .canonical = "candidate:3 1 TCP 1015021823 10.0.0.2 9 typ host tcptype so",
     .family = AF_INET},
    {.line = "candidate:2 1 udp 2122262783 2001:db8::5 40000 typ host generation 0",
     .canonical = "candidate:2 1 UDP 2122262783 2001:db8::5 40000 typ host generation 0",
     .family = AF_INET6},
    /* IPv6 in its canonical form: lower case, zeros compressed. */
    {.line = H "2001:DB8:0:0:0:0:0:5 40000 typ host", .canonical = H "2001:db8::5 40000 typ host",
     .family = AF_INET6},
    /* Differential: an IPv4-mapped IPv6 address is well-formed; the gate
     * (test_icegate.c) refuses it by its class. */
    {.line = H "::ffff:127.0.0.1 40000 typ host", .family = AF_INET6},
    {.line = H "::FFFF:7F00:1 40000 typ host", .canonical = H "::ffff:127.0.0.1 40000 typ host",
     .family = AF_INET6},
    /* mDNS names, in lower case. */
    {.line = "candidate:1 1 udp 2113937151 " MDNS " 54400 typ host generation 0",
     .canonical = "candidate:1 1 UDP 2113937151 " MDNS " 54400 typ host generation 0",
     .family = 0},
    {.line = H "Robot-7.LOCAL 54400 typ host", .canonical = H "robot-7.local 54400 typ host",
     .family = 0},
    /* Browsers hide the related address as 0.0.0.0 port 0. */
    {.line = H "203.0.113.7 61107 typ relay raddr 0.0.0.0 rport 0", .family = AF_INET},
    {.line = H "203.0.113.7 61107 typ prflx raddr " MDNS " rport 9", .family = AF_INET},
    {.line = H "203.0.113.7 61107 typ srflx rport 9", .family = AF_INET},
    /* The edges of every number. */
    {.line = "candidate:1 256 udp 1 127.0.0.1 65535 typ host",
     .canonical = "candidate:1 256 UDP 1 127.0.0.1 65535 typ host", .family = AF_INET},
    {.line = "candidate:abcdefghijklmnopqrstuvwxyz012345 1 UDP 2147483647 1.2.3.4 1 typ host "
             "generation 4294967295",
     .family = AF_INET},
};

struct refused {
    const char *line;
    const char *needle; /* in the error */
};

static char long_line[CANDIDATE_LINE_MAX + 2];
static char long_name[400];
static char long_ufrag[400];

static const struct refused refused[] = {
    {.line = NULL, .needle = "no candidate"},
    {.line = "", .needle = "'candidate:'"},
    {.line = "candidate:", .needle = "0 fields"},
    {.line = "1 1 UDP 2122252543 192.168.1.5 51234 typ host", .needle = "'candidate:'"},
    {.line = "b=candidate:1 1 UDP 2122252543 192.168.1.5 51234 typ host", .needle = "'candidate:'"},
    {.line = "Candidate:1 1 UDP 2122252543 192.168.1.5 51234 typ host", .needle = "'candidate:'"},
    {.line = H "192.168.1.5 51234 typ", .needle = "7 fields"},
    {.line = H "192.168.1.5 51234", .needle = "6 fields"},
    {.line = "this is not a candidate", .needle = "'candidate:'"},

    /* Differential: spacing the old check skipped and libnice's split on
     * single spaces reads as empty fields. */
    {.line = "candidate:1  1 UDP 2122260223 10.0.0.2 5000 typ host", .needle = "one space"},
    {.line = "candidate: 1 1 UDP 2122260223 10.0.0.2 5000 typ host", .needle = "one space"},
    {.line = H "10.0.0.2 5000 typ host ", .needle = "one space"},
    {.line = H "10.0.0.2 5000 typ  host", .needle = "one space"},
    {.line = "candidate:1\t1 UDP 2122260223 10.0.0.2 5000 typ host", .needle = "printable"},
    /* Differential: a trailing CRLF (the old check stopped there). */
    {.line = "candidate:3 1 TCP 1015021823 10.0.0.2 9 typ host tcptype active\r\n",
     .needle = "printable"},
    /* Differential: case. */
    {.line = H "10.0.0.2 5000 TYP host", .needle = "'typ'"},
    {.line = H "10.0.0.2 5000 Typ host", .needle = "'typ'"},
    {.line = H "10.0.0.2 5000 typ HOST", .needle = "the type 'HOST'"},
    {.line = H "10.0.0.2 5000 typ host RADDR 1.2.3.4", .needle = "unknown extension 'RADDR'"},
    /* Differential: libnice looks for "typ" anywhere after the port. */
    {.line = H "10.0.0.2 5000 generation 0 typ host", .needle = "'typ'"},
    {.line = H "10.0.0.2 5000 typ host typ relay", .needle = "unknown extension 'typ'"},
    /* Differential: numbers libnice's strtoul takes (leading zeros, signs,
     * overflow it would truncate). */
    {.line = H "10.0.0.2 080 typ host", .needle = "the port '080'"},
    {.line = H "10.0.0.2 +80 typ host", .needle = "the port '+80'"},
    {.line = H "10.0.0.2 -5 typ host", .needle = "the port '-5'"},
    {.line = H "10.0.0.2 65536 typ host", .needle = "1..65535"},
    {.line = H "10.0.0.2 99999999 typ host", .needle = "1..65535"},
    {.line = H "10.0.0.2 0 typ host", .needle = "the port '0'"},
    {.line = "candidate:1 01 UDP 2122260223 10.0.0.2 5000 typ host", .needle = "component '01'"},
    {.line = "candidate:1 0 UDP 2122260223 10.0.0.2 5000 typ host", .needle = "component '0'"},
    {.line = "candidate:1 257 UDP 2122260223 10.0.0.2 5000 typ host", .needle = "1..256"},
    {.line = "candidate:1 x UDP 2122260223 10.0.0.2 5000 typ host", .needle = "component 'x'"},
    {.line = "candidate:1 1 UDP 02122260223 10.0.0.2 5000 typ host", .needle = "priority"},
    {.line = "candidate:1 1 UDP 0 10.0.0.2 5000 typ host", .needle = "priority '0'"},
    {.line = "candidate:1 1 UDP 2147483648 10.0.0.2 5000 typ host", .needle = "2147483647"},
    {.line = H "10.0.0.2 5000 typ srflx raddr 1.2.3.4 rport 070", .needle = "rport '070'"},
    {.line = H "10.0.0.2 5000 typ host generation 4294967296", .needle = "generation"},
    {.line = H "10.0.0.2 5000 typ host network-cost 01", .needle = "network-cost '01'"},
    /* Differential: addresses inet_aton (libnice's getaddrinfo) reads as
     * loopback and the old inet_pton check did not. */
    {.line = H "127.1 5000 typ host", .needle = "the address '127.1'"},
    {.line = H "0177.0.0.1 5000 typ host", .needle = "the address '0177.0.0.1'"},
    {.line = H "127.000.000.001 5000 typ host", .needle = "the address"},
    {.line = H "2130706433 5000 typ host", .needle = "the address '2130706433'"},
    {.line = H "0x7f.0.0.1 5000 typ host", .needle = "the address '0x7f.0.0.1'"},
    {.line = H "1.2.3.4.5 5000 typ host", .needle = "the address"},
    {.line = H "fe80::1%eth0 5000 typ host", .needle = "the address 'fe80::1%eth0'"},
    {.line = H "[::1] 5000 typ host", .needle = "the address '[::1]'"},
    {.line = H "::ffff:127.000.0.1 5000 typ host", .needle = "the address"},
    {.line = H "example.com 5000 typ host", .needle = "mDNS name"},
    {.line = H "localhost 5000 typ host", .needle = "the address 'localhost'"},
    {.line = H ".local 5000 typ host", .needle = "the address"},
    {.line = H "a..local 5000 typ host", .needle = "the address"},
    {.line = H "-a.local 5000 typ host", .needle = "the address"},
    {.line = H "a-.local 5000 typ host", .needle = "the address"},
    {.line = H "a_b.local 5000 typ host", .needle = "the address"},
    {.line = long_name, .needle = "the address"},
    /* Trailing garbage. */
    {.line = H "10.0.0.2 5000 typ host garbage", .needle = "'garbage' has no value"},
    {.line = H "10.0.0.2 5000 typ host foo bar", .needle = "unknown extension 'foo'"},
    {.line = H "10.0.0.2 5000 typ host generation 0 generation 1", .needle = "twice"},
    {.line = H "10.0.0.2 5000 typ srflx generation 0 raddr 1.2.3.4 rport 1", .needle = "order"},
    {.line = H "10.0.0.2 5000 typ srflx rport 1 raddr 1.2.3.4", .needle = "order"},
    {.line = H "10.0.0.2 5000 typ srflx raddr 1.2.3 rport 1", .needle = "raddr '1.2.3'"},
    {.line = "candidate:1 1 UDP 2122260223 10.0.0.2 5000 typ host\xc3\xa9", .needle = "printable"},
    {.line = long_line, .needle = "1024"},
    /* Other fields. */
    {.line = "candidate:1 1 SCTP 2122260223 10.0.0.2 5000 typ host", .needle = "UDP or TCP"},
    {.line = "candidate:1 1 UDP/DTLS 2122260223 10.0.0.2 5000 typ host", .needle = "UDP or TCP"},
    {.line = "candidate:abcdefghijklmnopqrstuvwxyz0123456 1 UDP 1 1.2.3.4 1 typ host",
     .needle = "foundation"},
    {.line = "candidate:a-b 1 UDP 1 1.2.3.4 1 typ host", .needle = "foundation 'a-b'"},
    {.line = H "10.0.0.2 5000 typ local", .needle = "host, srflx, prflx or relay"},
    {.line = "candidate:3 1 TCP 1015021823 10.0.0.2 9 typ host", .needle = "needs a tcptype"},
    {.line = H "10.0.0.2 9 typ host tcptype active", .needle = "UDP candidate has no tcptype"},
    {.line = "candidate:3 1 TCP 1 10.0.0.2 9 typ host tcptype simultaneous", .needle = "tcptype"},
    {.line = H "10.0.0.2 5000 typ host ufrag a-b", .needle = "ufrag 'a-b'"},
    {.line = long_ufrag, .needle = "ufrag"},
};

static int setup(void **state)
{
    (void)state;
    memset(long_line, 'a', sizeof long_line - 1);
    memcpy(long_line, H, strlen(H));
    long_line[sizeof long_line - 1] = '\0';
    char name[300];
    memset(name, 'a', 250);
    memcpy(name + 250, ".local", 7); /* 256 characters: over 253 */
    snprintf(long_name, sizeof long_name, H "%s 5000 typ host", name);
    char ufrag[258];
    memset(ufrag, 'u', 257);
    ufrag[257] = '\0';
    snprintf(long_ufrag, sizeof long_ufrag, H "10.0.0.2 5000 typ host ufrag %s", ufrag);
    return 0;
}

static void test_accepted_lines_come_out_canonical(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        const struct accepted *a = &accepted[i];
        struct candidate c;
        char err[256] = "", text[CANDIDATE_TEXT_MAX];
        if (candidate_parse(a->line, &c, err, sizeof err) != 0)
            fail_msg("refused: %s\n  %s", err, a->line);
        int n = candidate_format(&c, text, sizeof text);
        const char *want = a->canonical ? a->canonical : a->line;
        if (n < 0 || strcmp(text, want) != 0 || (size_t)n != strlen(want))
            fail_msg("canonical text of\n  %s\nis\n  %s\nwant\n  %s", a->line, text, want);
        if (c.addr.family != a->family)
            fail_msg("%s: family %d, want %d", a->line, c.addr.family, a->family);
    }
}

static void test_the_canonical_text_parses_to_itself(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        struct candidate c, again;
        char first[CANDIDATE_TEXT_MAX], second[CANDIDATE_TEXT_MAX];
        assert_int_equal(candidate_parse(accepted[i].line, &c, NULL, 0), 0);
        assert_true(candidate_format(&c, first, sizeof first) > 0);
        if (candidate_parse(first, &again, NULL, 0) != 0)
            fail_msg("the canonical text does not parse: %s", first);
        assert_true(candidate_format(&again, second, sizeof second) > 0);
        assert_string_equal(first, second);
        assert_memory_equal(&c.addr, &again.addr, sizeof c.addr);
        assert_int_equal(c.priority, again.priority);
        assert_int_equal(c.port, again.port);
    }
}

static void test_refused_lines_say_why(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const struct refused *r = &refused[i];
        struct candidate c;
        char err[256] = "";
        if (candidate_parse(r->line, &c, err, sizeof err) != -1)
            fail_msg("accepted: %.200s", r->line ? r->line : "(null)");
        if (!strstr(err, r->needle))
            fail_msg("%.200s\n  error \"%s\" does not say \"%s\"", r->line ? r->line : "(null)",
                     err, r->needle);
        if (strstr(err, "malformed"))
            fail_msg("the error leaves \"malformed\" to the caller: %s", err);
    }
}

static void test_errors_are_cut_to_the_buffer(void **state)
{
    (void)state;
    struct candidate c;
    char err[8];
    memset(err, 'x', sizeof err);
    assert_int_equal(candidate_parse(H "10.0.0.2 080 typ host", &c, err, sizeof err), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(candidate_parse(H "10.0.0.2 080 typ host", &c, NULL, 0), -1);
}

static void test_format_refuses_a_buffer_too_small(void **state)
{
    (void)state;
    struct candidate c;
    assert_int_equal(candidate_parse(H "10.0.0.2 5000 typ host", &c, NULL, 0), 0);
    char small[16];
    assert_int_equal(candidate_format(&c, small, sizeof small), -1);
    assert_string_equal(small, "");
    char exact[sizeof(H "10.0.0.2 5000 typ host")];
    assert_int_equal(candidate_format(&c, exact, sizeof exact), (int)sizeof exact - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_lines_come_out_canonical),
        cmocka_unit_test(test_the_canonical_text_parses_to_itself),
        cmocka_unit_test(test_refused_lines_say_why),
        cmocka_unit_test(test_errors_are_cut_to_the_buffer),
        cmocka_unit_test(test_format_refuses_a_buffer_too_small),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
