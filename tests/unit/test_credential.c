/* test_credential.c - unit tests of the robot's secrets
 * (src/robot/credential.c): a value, a file read again at every use (so a
 * rotated file is picked up), what a file may hold, the warning for a file
 * others may read, errors that never quote the secret, and the
 * constant-time comparison's answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "robot/credential.h"

static char dir[64];
static char path[128];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_credential.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/token", dir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static void write_file(const char *text, size_t len, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_none_configured(void **state)
{
    (void)state;
    struct credential *c = credential_new(NULL, NULL, "x");
    assert_false(credential_configured(c));
    char err[64] = "junk";
    assert_null(credential_get(c, err, sizeof err));
    assert_string_equal(err, "");
    credential_free(c);
    c = credential_new("", "", "x"); /* empty: none */
    assert_false(credential_configured(c));
    credential_free(c);
    credential_free(NULL);
}

static void test_a_value_is_itself(void **state)
{
    (void)state;
    struct credential *c = credential_new("eyJ.a.b", NULL, "ROBOT_TOKEN");
    assert_true(credential_configured(c));
    assert_false(credential_in_file(c));
    assert_string_equal(credential_get(c, NULL, 0), "eyJ.a.b");
    credential_free(c);
}

static void test_a_file_is_read_again_at_every_use(void **state)
{
    (void)state;
    write_file("  first.token.x\n", 16, 0600);
    struct credential *c = credential_new(NULL, path, "--token-file");
    assert_true(credential_configured(c));
    assert_true(credential_in_file(c));
    char err[256];
    assert_string_equal(credential_get(c, err, sizeof err), "first.token.x");
    write_file("second.token.y\r\n", 16, 0600); /* rotated */
    assert_string_equal(credential_get(c, err, sizeof err), "second.token.y");
    credential_free(c);
}

static void test_unusable_files_say_why_without_the_secret(void **state)
{
    (void)state;
    struct credential *c = credential_new(NULL, path, "--token-file");
    char err[256];
    static const struct {
        const char *text;
        const char *needle;
    } bad[] = {
        {"", "is empty"},
        {" \n\n", "is empty"},
        {"two words", "one token of printable ASCII"},
        {"tab\tin", "one token"},
        {"caf\xc3\xa9-secret", "one token"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(bad[i].text, strlen(bad[i].text), 0600);
        assert_null(credential_get(c, err, sizeof err));
        if (!strstr(err, bad[i].needle) || !strstr(err, path) || !strstr(err, "--token-file"))
            fail_msg("'%s': error \"%s\"", bad[i].text, err);
        assert_null(strstr(err, "secret"));
        assert_null(strstr(err, "words"));
    }
    char *big = malloc(CREDENTIAL_MAX + 10);
    memset(big, 'a', CREDENTIAL_MAX + 10);
    write_file(big, CREDENTIAL_MAX + 10, 0600);
    assert_null(credential_get(c, err, sizeof err));
    assert_non_null(strstr(err, "larger than 16 KiB"));
    write_file(big, CREDENTIAL_MAX, 0600); /* the limit itself is fine */
    const char *t = credential_get(c, err, sizeof err);
    assert_non_null(t);
    assert_int_equal(strlen(t), CREDENTIAL_MAX);
    free(big);
    unlink(path);
    assert_null(credential_get(c, err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(mkdir(path, 0700), 0);
    assert_null(credential_get(c, err, sizeof err));
    assert_non_null(strstr(err, "not a regular file"));
    rmdir(path);
    credential_free(c);
}

static void test_a_file_others_may_read_still_works(void **state)
{
    (void)state;
    /* The warning goes to the log (once); the token is still used. */
    write_file("loose.token", 11, 0644);
    struct credential *c = credential_new(NULL, path, "--token-file");
    assert_string_equal(credential_get(c, NULL, 0), "loose.token");
    assert_string_equal(credential_get(c, NULL, 0), "loose.token");
    credential_free(c);
}

static void test_equal_compares_whole_strings(void **state)
{
    (void)state;
    assert_true(credential_equal("abcdef", "abcdef"));
    assert_false(credential_equal("abcdeg", "abcdef"));
    assert_false(credential_equal("abcde", "abcdef"));
    assert_false(credential_equal("abcdefg", "abcdef"));
    assert_false(credential_equal("abcabc", "abc"));
    assert_false(credential_equal("", "abc"));
    assert_false(credential_equal("", ""));
    assert_false(credential_equal("x", ""));
}

int main(void)
{
    log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none_configured),
        cmocka_unit_test(test_a_value_is_itself),
        cmocka_unit_test(test_a_file_is_read_again_at_every_use),
        cmocka_unit_test(test_unusable_files_say_why_without_the_secret),
        cmocka_unit_test(test_a_file_others_may_read_still_works),
        cmocka_unit_test(test_equal_compares_whole_strings),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
