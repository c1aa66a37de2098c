/* test_http_static.c - unit tests of request path to web-root file mapping. */
#include <ftw.h>
#include <limits.h>
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

#include "cloud/http_static.h"

/* The tree, built once for the group:
 *   base/x, base/secret.txt           files outside the root
 *   base/www-evil/secret.txt          outside, in a sibling sharing the root's prefix
 *   base/www/                         the web root
 *     index.html, app.js
 *     sub/index.html, sub/x.css
 *     empty/                          a directory without index.html
 *     link-out -> base/secret.txt     escapes the root
 *     link-evil -> base/www-evil/secret.txt
 *     link-in.css -> base/www/sub/x.css */
static char base[PATH_MAX];
static char root[PATH_MAX + 16];
static char out[PATH_MAX];

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int make_dir(const char *dir, const char *name)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return mkdir(path, 0755);
}

static int make_link(const char *target_dir, const char *target, const char *name)
{
    char from[PATH_MAX * 2], to[PATH_MAX * 2];
    snprintf(to, sizeof to, "%s/%s", target_dir, target);
    snprintf(from, sizeof from, "%s/%s", root, name);
    return symlink(to, from);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int remove_tree(void)
{
    if (!base[0])
        return 0;
    int rc = nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    base[0] = '\0';
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/porthole-static-XXXXXX";
    if (!mkdtemp(tmpl) || !realpath(tmpl, base))
        return -1;
    char evil[PATH_MAX + 16];
    snprintf(root, sizeof root, "%s/www", base);
    snprintf(evil, sizeof evil, "%s/www-evil", base);
    int rc = 0;
    rc |= write_file(base, "x", "outside\n");
    rc |= write_file(base, "secret.txt", "outside\n");
    rc |= make_dir(base, "www-evil");
    rc |= write_file(evil, "secret.txt", "outside\n");
    rc |= make_dir(base, "www");
    rc |= write_file(root, "index.html", "<!doctype html>\n");
    rc |= write_file(root, "app.js", "console.log(1);\n");
    rc |= make_dir(root, "sub");
    rc |= make_dir(root, "empty");
    char sub[PATH_MAX + 32];
    snprintf(sub, sizeof sub, "%s/sub", root);
    rc |= write_file(sub, "index.html", "<!doctype html>\n");
    rc |= write_file(sub, "x.css", "body{}\n");
    rc |= make_link(base, "secret.txt", "link-out");
    rc |= make_link(evil, "secret.txt", "link-evil");
    rc |= make_link(sub, "x.css", "link-in.css");
    if (rc != 0) {
        remove_tree();
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return remove_tree();
}

/* Resolves uri under the root into out. */
static int resolve(const char *uri)
{
    memset(out, 0, sizeof out);
    return http_static_resolve(root, uri, out, sizeof out);
}

/* Asserts uri resolves to root/rel. */
static void assert_serves(const char *uri, const char *rel)
{
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "%s/%s", root, rel);
    int rc = resolve(uri);
    if (rc != 0)
        fail_msg("'%s': expected %s, got %d", uri, want, rc);
    assert_string_equal(out, want);
}

static void assert_not_found(const char *uri)
{
    int rc = resolve(uri);
    if (rc != 404)
        fail_msg("'%s': expected 404, got %d (%s)", uri, rc, out);
}

/* ---- what is served ------------------------------------------------------ */

static void test_root_path_serves_index_html(void **state)
{
    (void)state;
    assert_serves("/", "index.html");
}

static void test_directory_path_with_slash_serves_its_index_html(void **state)
{
    (void)state;
    assert_serves("/sub/", "sub/index.html");
}

static void test_file_path_serves_the_file(void **state)
{
    (void)state;
    assert_serves("/sub/x.css", "sub/x.css");
}

static void test_query_string_is_ignored(void **state)
{
    (void)state;
    assert_serves("/app.js?v=1", "app.js");
}

static void test_query_string_after_slash_is_ignored(void **state)
{
    (void)state;
    assert_serves("/?v=1", "index.html");
}

static void test_percent_encoded_name_is_decoded(void **state)
{
    (void)state;
    assert_serves("/app%2Ejs", "app.js");
}

static void test_lowercase_percent_escape_is_decoded(void **state)
{
    (void)state;
    assert_serves("/%61pp.js", "app.js");
}

static void test_symlink_to_file_inside_root_serves_its_target(void **state)
{
    (void)state;
    assert_serves("/link-in.css", "sub/x.css");
}

/* ---- what is refused ----------------------------------------------------- */

static void test_dot_dot_segment_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/../x");
}

static void test_encoded_dot_dot_segment_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/%2e%2e/x");
}

static void test_encoded_dot_dot_and_slash_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/%2E%2E%2Fx");
}

static void test_dot_dot_climbing_out_of_subdirectory_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/sub/../../x");
}

static void test_dot_dot_staying_inside_root_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/sub/../app.js");
}

static void test_dot_segment_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/./app.js");
}

static void test_encoded_nul_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/%00");
}

static void test_encoded_nul_before_extension_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/app.js%00.html");
}

static void test_non_hex_escape_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/%zz");
}

static void test_truncated_escape_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/%2");
}

static void test_lone_percent_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/%");
}

static void test_empty_path_is_not_found(void **state)
{
    (void)state;
    assert_not_found("");
}

static void test_path_without_leading_slash_is_not_found(void **state)
{
    (void)state;
    assert_not_found("no-leading-slash");
    assert_not_found("app.js");
}

static void test_directory_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/sub");
}

static void test_directory_without_index_html_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/empty/");
}

static void test_missing_file_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/missing.js");
}

static void test_file_used_as_directory_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/app.js/");
}

static void test_symlink_to_file_outside_root_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/link-out");
}

static void test_symlink_to_sibling_sharing_root_prefix_is_not_found(void **state)
{
    (void)state;
    assert_not_found("/link-evil");
}

static void test_overlong_path_is_not_found(void **state)
{
    (void)state;
    char uri[PATH_MAX * 2];
    uri[0] = '/';
    memset(uri + 1, 'a', sizeof uri - 2);
    uri[sizeof uri - 1] = '\0';
    assert_not_found(uri);
}

/* ---- content types ------------------------------------------------------- */

static void test_mime_of_html(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("/srv/www/index.html"), "text/html; charset=utf-8");
}

static void test_mime_of_js(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("app.js"), "text/javascript; charset=utf-8");
}

static void test_mime_of_typescript_declarations(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("/srv/www/porthole.d.ts"),
                        "application/typescript; charset=utf-8");
}

static void test_mime_of_css(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("sub/x.css"), "text/css; charset=utf-8");
}

static void test_mime_of_json(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("data.json"), "application/json");
}

static void test_mime_of_svg(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("logo.svg"), "image/svg+xml");
}

static void test_mime_of_png(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("logo.png"), "image/png");
}

static void test_mime_of_unknown_extension_is_octet_stream(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("blob.xyz"), "application/octet-stream");
}

static void test_mime_without_extension_is_octet_stream(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("Makefile"), "application/octet-stream");
}

static void test_mime_ignores_dot_in_directory_name(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("/srv/site.html/README"), "application/octet-stream");
}

static void test_mime_of_uppercase_extension(void **state)
{
    (void)state;
    assert_string_equal(http_static_mime("INDEX.HTML"), "text/html; charset=utf-8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_path_serves_index_html),
        cmocka_unit_test(test_directory_path_with_slash_serves_its_index_html),
        cmocka_unit_test(test_file_path_serves_the_file),
        cmocka_unit_test(test_query_string_is_ignored),
        cmocka_unit_test(test_query_string_after_slash_is_ignored),
        cmocka_unit_test(test_percent_encoded_name_is_decoded),
        cmocka_unit_test(test_lowercase_percent_escape_is_decoded),
        cmocka_unit_test(test_symlink_to_file_inside_root_serves_its_target),

        cmocka_unit_test(test_dot_dot_segment_is_not_found),
        cmocka_unit_test(test_encoded_dot_dot_segment_is_not_found),
        cmocka_unit_test(test_encoded_dot_dot_and_slash_is_not_found),
        cmocka_unit_test(test_dot_dot_climbing_out_of_subdirectory_is_not_found),
        cmocka_unit_test(test_dot_dot_staying_inside_root_is_not_found),
        cmocka_unit_test(test_dot_segment_is_not_found),
        cmocka_unit_test(test_encoded_nul_is_not_found),
        cmocka_unit_test(test_encoded_nul_before_extension_is_not_found),
        cmocka_unit_test(test_non_hex_escape_is_not_found),
        cmocka_unit_test(test_truncated_escape_is_not_found),
        cmocka_unit_test(test_lone_percent_is_not_found),
        cmocka_unit_test(test_empty_path_is_not_found),
        cmocka_unit_test(test_path_without_leading_slash_is_not_found),
        cmocka_unit_test(test_directory_is_not_found),
        cmocka_unit_test(test_directory_without_index_html_is_not_found),
        cmocka_unit_test(test_missing_file_is_not_found),
        cmocka_unit_test(test_file_used_as_directory_is_not_found),
        cmocka_unit_test(test_symlink_to_file_outside_root_is_not_found),
        cmocka_unit_test(test_symlink_to_sibling_sharing_root_prefix_is_not_found),
        cmocka_unit_test(test_overlong_path_is_not_found),

        cmocka_unit_test(test_mime_of_html),
        cmocka_unit_test(test_mime_of_js),
        cmocka_unit_test(test_mime_of_typescript_declarations),
        cmocka_unit_test(test_mime_of_css),
        cmocka_unit_test(test_mime_of_json),
        cmocka_unit_test(test_mime_of_svg),
        cmocka_unit_test(test_mime_of_png),
        cmocka_unit_test(test_mime_of_unknown_extension_is_octet_stream),
        cmocka_unit_test(test_mime_without_extension_is_octet_stream),
        cmocka_unit_test(test_mime_ignores_dot_in_directory_name),
        cmocka_unit_test(test_mime_of_uppercase_extension),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
