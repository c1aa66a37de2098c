/* test_icegate.c - unit tests of a session's remote candidate gate
 * (src/robot/icegate.c): the address classes refused by default, the
 * ICE allow-list that may name them, mDNS names, the cap per session, the
 * counts, and that what is admitted is the canonical text. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/log.h"
#include "robot/candidate.h"
#include "robot/icegate.h"

#define LINE(addr) "candidate:1 1 udp 2122260223 " addr " 40000 typ host"

/* The class of a textual address (NULL: an ordinary one). */
static const char *class_of(const char *text)
{
    uint8_t b[16] = {0};
    int family = strchr(text, ':') ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(family, text, b), 1);
    return icegate_address_class(family, b);
}

static const struct {
    const char *addr;
    const char *cls; /* NULL: a viewer may name it */
} classes[] = {
    {"127.0.0.1", "loopback"},        {"127.255.255.254", "loopback"},
    {"0.0.0.0", "unspecified"},       {"0.1.2.3", "unspecified"},
    {"169.254.169.254", "link-local"}, {"224.0.0.251", "multicast"},
    {"239.255.255.250", "multicast"}, {"255.255.255.255", "broadcast"},
    {"240.0.0.1", "reserved"},        {"254.1.1.1", "reserved"},
    {"::", "unspecified"},            {"::1", "loopback"},
    {"::ffff:127.0.0.1", "IPv4-mapped"}, {"::ffff:8.8.8.8", "IPv4-mapped"},
    {"::127.0.0.1", "IPv4-compatible"}, {"fe80::1", "link-local"},
    {"febf::1", "link-local"},        {"fec0::1", "site-local"},
    {"ff02::fb", "multicast"},        {"100::1", "discard-only"},
    /* Ordinary: public and private unicast, CGNAT, ULA. */
    {"8.8.8.8", NULL},                {"10.1.2.3", NULL},
    {"172.16.0.1", NULL},             {"192.168.1.5", NULL},
    {"100.64.0.1", NULL},             {"203.0.113.7", NULL},
    {"1.0.0.0", NULL},                {"223.255.255.255", NULL},
    {"128.0.0.1", NULL},              {"169.253.1.1", NULL},
    {"2001:db8::5", NULL},            {"fd00::1", NULL},
    {"fc00::1", NULL},                {"fe7f::1", NULL},
    {"::2:0:0", NULL},                {"101::1", NULL},
};

static void test_address_classes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        const char *got = class_of(classes[i].addr);
        if ((got == NULL) != (classes[i].cls == NULL) ||
            (got && strcmp(got, classes[i].cls) != 0))
            fail_msg("%s: class %s, want %s", classes[i].addr, got ? got : "none",
                     classes[i].cls ? classes[i].cls : "none");
    }
}

static struct netlist list(const char *text)
{
    struct netlist l;
    char err[128];
    if (netlist_parse(text, &l, err, sizeof err) != 0)
        fail_msg("netlist '%s': %s", text, err);
    return l;
}

/* What the gate says about line: the verdict, and why (or the text out). */
static enum icegate_verdict admit(struct icegate *g, const char *line, char *out)
{
    char why[256] = "", text[CANDIDATE_TEXT_MAX] = "";
    enum icegate_verdict v = icegate_admit(g, line, text, sizeof text, why, sizeof why);
    snprintf(out, 256, "%s", v == ICEGATE_ADMIT ? text : why);
    return v;
}

#define EXPECT(g, line, verdict, needle)                                                   \
    do {                                                                                   \
        char got_[256];                                                                    \
        enum icegate_verdict v_ = admit((g), (line), got_);                                \
        if (v_ != (verdict) || !strstr(got_, (needle)))                                    \
            fail_msg("%s: verdict %d \"%s\", want %d with \"%s\"", (line), v_, got_,        \
                     (verdict), (needle));                                                 \
    } while (0)

static void test_without_a_list_special_addresses_are_refused(void **state)
{
    (void)state;
    struct icegate g;
    icegate_init(&g, NULL, 0, "s1");
    assert_int_equal(g.max, ICEGATE_DEFAULT_MAX);
    EXPECT(&g, LINE("127.0.0.1"), ICEGATE_REFUSED, "loopback");
    EXPECT(&g, LINE("::1"), ICEGATE_REFUSED, "loopback");
    EXPECT(&g, LINE("::ffff:127.0.0.1"), ICEGATE_REFUSED, "IPv4-mapped");
    EXPECT(&g, LINE("169.254.169.254"), ICEGATE_REFUSED, "link-local");
    EXPECT(&g, LINE("224.0.0.251"), ICEGATE_REFUSED, "multicast");
    EXPECT(&g, LINE("255.255.255.255"), ICEGATE_REFUSED, "broadcast");
    EXPECT(&g, LINE("0.0.0.0"), ICEGATE_REFUSED, "unspecified");
    EXPECT(&g, LINE("240.0.0.1"), ICEGATE_REFUSED, "--ice-allow");
    assert_int_equal(g.refused, 8);
    assert_int_equal(g.admitted, 0);
    assert_true(g.told);
    /* Ordinary addresses and mDNS names go through, canonical. */
    EXPECT(&g, LINE("192.168.1.5"), ICEGATE_ADMIT,
           "candidate:1 1 UDP 2122260223 192.168.1.5 40000 typ host");
    EXPECT(&g, LINE("2001:DB8::5"), ICEGATE_ADMIT, " 2001:db8::5 ");
    EXPECT(&g, LINE("abc.local"), ICEGATE_ADMIT, " abc.local ");
    assert_int_equal(g.admitted, 3);
    /* An empty list is no list. */
    struct netlist empty = list("");
    icegate_init(&g, &empty, 0, "s2");
    EXPECT(&g, LINE("127.0.0.1"), ICEGATE_REFUSED, "loopback");
    EXPECT(&g, LINE("x.local"), ICEGATE_ADMIT, "x.local");
}

static void test_a_list_that_names_them_allows_them(void **state)
{
    (void)state;
    struct netlist l = list("127.0.0.1,::1,10.0.0.0/8");
    struct icegate g;
    icegate_init(&g, &l, 0, "s3");
    EXPECT(&g, LINE("127.0.0.1"), ICEGATE_ADMIT, "127.0.0.1");
    EXPECT(&g, LINE("::1"), ICEGATE_ADMIT, "::1");
    EXPECT(&g, LINE("10.9.8.7"), ICEGATE_ADMIT, "10.9.8.7");
    EXPECT(&g, LINE("127.0.0.2"), ICEGATE_REFUSED, "outside the ICE allow-list");
    EXPECT(&g, LINE("192.168.1.5"), ICEGATE_REFUSED, "outside the ICE allow-list");
    EXPECT(&g, LINE("::ffff:127.0.0.1"), ICEGATE_REFUSED, "outside the ICE allow-list");
    EXPECT(&g, LINE("abc.local"), ICEGATE_REFUSED, "mDNS");
    /* Differential forms of an allowed address are malformed, not allowed. */
    EXPECT(&g, LINE("127.1"), ICEGATE_MALFORMED, "'127.1'");
    EXPECT(&g, LINE("0177.0.0.1"), ICEGATE_MALFORMED, "'0177.0.0.1'");
    EXPECT(&g, "candidate:1 1 udp 2122260223  127.0.0.1 40000 typ host", ICEGATE_MALFORMED,
           "space");
    EXPECT(&g, "candidate:1 1 udp 2122260223 127.0.0.1 40000 TYP host", ICEGATE_MALFORMED,
           "'typ'");
    assert_int_equal(g.admitted, 3);
    assert_int_equal(g.refused, 8);
    /* Named explicitly, even a whole class. */
    struct netlist mapped = list("::ffff:0:0/96,224.0.0.0/4");
    icegate_init(&g, &mapped, 0, "s4");
    EXPECT(&g, LINE("::ffff:127.0.0.1"), ICEGATE_ADMIT, "::ffff:127.0.0.1");
    EXPECT(&g, LINE("239.1.2.3"), ICEGATE_ADMIT, "239.1.2.3");
}

static void test_the_cap_counts_admitted_candidates_only(void **state)
{
    (void)state;
    struct icegate g;
    icegate_init(&g, NULL, 3, "s5");
    EXPECT(&g, LINE("10.0.0.1"), ICEGATE_ADMIT, "10.0.0.1");
    EXPECT(&g, LINE("127.0.0.1"), ICEGATE_REFUSED, "loopback");
    EXPECT(&g, "garbage", ICEGATE_MALFORMED, "candidate:");
    EXPECT(&g, LINE("10.0.0.2"), ICEGATE_ADMIT, "10.0.0.2");
    EXPECT(&g, LINE("10.0.0.3"), ICEGATE_ADMIT, "10.0.0.3");
    EXPECT(&g, LINE("10.0.0.4"), ICEGATE_REFUSED, "already has 3 remote candidates");
    EXPECT(&g, LINE("10.0.0.1"), ICEGATE_REFUSED, "--max-remote-candidates");
    assert_int_equal(g.admitted, 3);
    assert_int_equal(g.refused, 4);
}

static void test_the_session_name_is_cut_to_fit(void **state)
{
    (void)state;
    char name[200];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    struct icegate g;
    icegate_init(&g, NULL, 0, name);
    assert_int_equal(strlen(g.name), sizeof g.name - 1);
    icegate_init(&g, NULL, 0, NULL);
    assert_string_equal(g.name, "?");
}

int main(void)
{
    log_setup(LOGL_WARN, LOG_FORMAT_TEXT, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_classes),
        cmocka_unit_test(test_without_a_list_special_addresses_are_refused),
        cmocka_unit_test(test_a_list_that_names_them_allows_them),
        cmocka_unit_test(test_the_cap_counts_admitted_candidates_only),
        cmocka_unit_test(test_the_session_name_is_cut_to_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
