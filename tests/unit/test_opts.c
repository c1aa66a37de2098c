/* test_opts.c - unit tests of the flag and environment option parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/opts.h"

static const char *const level_choices[] = {"error", "warn", "info", "debug", NULL};

struct config {
    long port;
    const char *log_level;
    const char *name;
    long max_msg;
    double ratio;
    bool verbose;
};

static struct config cfg;
static char err[256];

static const char *const env_vars[] = {"PORT", "SIGNALING_PORT", "LOG_LEVEL", "MAX_MSG",
                                       "RATIO", "VERBOSE", "NAME"};

static const struct opt table[] = {
    {.name = "port", .short_name = 'p', .env = {"PORT", "SIGNALING_PORT", NULL},
     .type = OPT_INT, .target = &cfg.port, .min = 1, .max = 65535, .metavar = "PORT",
     .help = "TCP port to listen on"},
    {.name = "log-level", .env = {"LOG_LEVEL", NULL}, .type = OPT_STRING,
     .target = &cfg.log_level, .choices = level_choices, .metavar = "LEVEL",
     .help = "least severe level printed"},
    {.name = "name", .short_name = 'n', .env = {"NAME", NULL}, .type = OPT_STRING,
     .target = &cfg.name, .metavar = "NAME", .help = "display name"},
    {.name = "max-msg", .env = {"MAX_MSG", NULL}, .type = OPT_SIZE, .target = &cfg.max_msg,
     .min = 1024, .max = 1L << 30, .metavar = "BYTES", .help = "largest message accepted"},
    {.name = "ratio", .env = {"RATIO", NULL}, .type = OPT_DOUBLE, .target = &cfg.ratio,
     .dmin = 0.0, .dmax = 1.0, .metavar = "R", .help = "share of something"},
    {.name = "verbose", .short_name = 'v', .env = {"VERBOSE", NULL}, .type = OPT_BOOL,
     .target = &cfg.verbose, .help = "say more"},
};
#define NOPTS (sizeof table / sizeof table[0])

static enum opts_result parse_argv(int argc, char **argv)
{
    return opts_parse(table, NOPTS, argc, argv, err, sizeof err);
}

/* Runs opts_parse on argv = "prog" followed by the NULL-terminated args. */
static enum opts_result parse_list(const char *const *args)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    while (args[argc - 1] != NULL && argc < 16) {
        argv[argc] = (char *)args[argc - 1];
        argc++;
    }
    return parse_argv(argc, argv);
}

/* PARSE("--port", "80") parses "prog --port 80"; PARSE(NULL) just "prog". */
#define PARSE(...) parse_list((const char *const[]){__VA_ARGS__, NULL})

static int reset(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++)
        unsetenv(env_vars[i]);
    cfg = (struct config){.port = 3001, .log_level = "info", .name = NULL,
                          .max_msg = 65536, .ratio = 0.5, .verbose = false};
    memset(err, 0, sizeof err);
    return 0;
}

static void test_opts_defaults_stay_when_nothing_is_given(void **state)
{
    (void)state;
    char *argv[] = {"prog"};
    assert_int_equal(parse_argv(1, argv), OPTS_OK);
    assert_int_equal(cfg.port, 3001);
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.max_msg, 65536);
    assert_false(cfg.verbose);
}

static void test_opts_long_flag_takes_next_argument(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "8080"), OPTS_OK);
    assert_int_equal(cfg.port, 8080);
}

static void test_opts_long_flag_with_equals_sets_value(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port=8080", "--log-level=debug"), OPTS_OK);
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.log_level, "debug");
}

static void test_opts_short_flag_takes_next_argument(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-p", "9000", "-n", "lab"), OPTS_OK);
    assert_int_equal(cfg.port, 9000);
    assert_string_equal(cfg.name, "lab");
}

static void test_opts_short_flag_accepts_attached_value(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-p9000"), OPTS_OK);
    assert_int_equal(cfg.port, 9000);
}

static void test_opts_env_overrides_default(void **state)
{
    (void)state;
    setenv("PORT", "4000", 1);
    assert_int_equal(PARSE(NULL), OPTS_OK);
    assert_int_equal(cfg.port, 4000);
}

static void test_opts_flag_overrides_env(void **state)
{
    (void)state;
    setenv("PORT", "4000", 1);
    setenv("LOG_LEVEL", "warn", 1);
    assert_int_equal(PARSE("--port", "5000"), OPTS_OK);
    assert_int_equal(cfg.port, 5000);
    assert_string_equal(cfg.log_level, "warn");
}

static void test_opts_second_env_var_used_when_first_unset(void **state)
{
    (void)state;
    setenv("SIGNALING_PORT", "4100", 1);
    char *argv[] = {"prog"};
    assert_int_equal(parse_argv(1, argv), OPTS_OK);
    assert_int_equal(cfg.port, 4100);
}

static void test_opts_first_env_var_wins_when_both_set(void **state)
{
    (void)state;
    setenv("PORT", "4000", 1);
    setenv("SIGNALING_PORT", "4100", 1);
    char *argv[] = {"prog"};
    assert_int_equal(parse_argv(1, argv), OPTS_OK);
    assert_int_equal(cfg.port, 4000);
}

static void test_opts_empty_env_var_counts_as_unset(void **state)
{
    (void)state;
    setenv("PORT", "", 1);
    setenv("SIGNALING_PORT", "4100", 1);
    setenv("LOG_LEVEL", "", 1);
    char *argv[] = {"prog"};
    assert_int_equal(parse_argv(1, argv), OPTS_OK);
    assert_int_equal(cfg.port, 4100);
    assert_string_equal(cfg.log_level, "info");
}

static void test_opts_out_of_range_flag_names_flag_value_and_range(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "70000"), OPTS_ERROR);
    assert_string_equal(err, "--port: '70000' is out of range 1..65535");
}

static void test_opts_error_names_short_flag_as_given(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-p", "0"), OPTS_ERROR);
    assert_string_equal(err, "-p: '0' is out of range 1..65535");
}

static void test_opts_non_integer_env_names_variable(void **state)
{
    (void)state;
    setenv("PORT", "abc", 1);
    char *argv[] = {"prog"};
    assert_int_equal(parse_argv(1, argv), OPTS_ERROR);
    assert_string_equal(err, "PORT: 'abc' is not an integer");
}

static void test_opts_integer_with_trailing_junk_is_refused(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "80x"), OPTS_ERROR);
    assert_string_equal(err, "--port: '80x' is not an integer");
    assert_int_equal(PARSE("--port", " 80"), OPTS_ERROR);
    assert_string_equal(err, "--port: ' 80' is not an integer");
    assert_int_equal(PARSE("--port", ""), OPTS_ERROR);
    assert_string_equal(err, "--port: '' is not an integer");
}

static void test_opts_integer_overflow_is_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "99999999999999999999999"), OPTS_ERROR);
    assert_string_equal(err, "--port: '99999999999999999999999' is out of range 1..65535");
}

static void test_opts_unknown_choice_lists_choices(void **state)
{
    (void)state;
    setenv("LOG_LEVEL", "loud", 1);
    char *argv[] = {"prog"};
    assert_int_equal(parse_argv(1, argv), OPTS_ERROR);
    assert_string_equal(err, "LOG_LEVEL: 'loud' is not one of error, warn, info, debug");
}

static void test_opts_string_without_choices_accepts_any_value(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--name", "any thing"), OPTS_OK);
    assert_string_equal(cfg.name, "any thing");
}

static void test_opts_unknown_option_suggests_help(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--prot", "80"), OPTS_ERROR);
    assert_string_equal(err, "unknown option '--prot' (see --help)");
}

static void test_opts_unknown_option_with_equals_names_only_the_flag(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--prot=80"), OPTS_ERROR);
    assert_string_equal(err, "unknown option '--prot' (see --help)");
}

static void test_opts_unknown_short_option_is_error(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-x"), OPTS_ERROR);
    assert_string_equal(err, "unknown option '-x' (see --help)");
}

static void test_opts_missing_value_names_flag(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port"), OPTS_ERROR);
    assert_string_equal(err, "--port: missing value");
}

static void test_opts_positional_argument_is_error(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--port", "80", "extra"), OPTS_ERROR);
    assert_string_equal(err, "unexpected argument 'extra' (see --help)");
}

static void test_opts_argument_after_double_dash_is_positional(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--", "--port"), OPTS_ERROR);
    assert_string_equal(err, "unexpected argument '--port' (see --help)");
}

static void test_opts_size_accepts_plain_bytes(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--max-msg", "65536"), OPTS_OK);
    assert_int_equal(cfg.max_msg, 65536);
}

static void test_opts_size_accepts_binary_suffixes(void **state)
{
    (void)state;
    static const struct { const char *text; long bytes; } cases[] = {
        {"64k", 64L << 10}, {"64K", 64L << 10}, {"64KiB", 64L << 10},
        {"2m", 2L << 20},   {"2M", 2L << 20},   {"2MiB", 2L << 20},
        {"1g", 1L << 30},   {"1G", 1L << 30},   {"1GiB", 1L << 30},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg.max_msg = 0;
        char *argv[] = {"prog", "--max-msg", (char *)cases[i].text};
        assert_int_equal(parse_argv(3, argv), OPTS_OK);
        assert_int_equal(cfg.max_msg, cases[i].bytes);
    }
}

static void test_opts_size_refuses_unknown_suffix(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--max-msg", "64kb"), OPTS_ERROR);
    assert_non_null(strstr(err, "--max-msg: '64kb' is not a size"));
    assert_int_equal(PARSE("--max-msg", "-1k"), OPTS_ERROR);
    assert_non_null(strstr(err, "--max-msg: '-1k' is not a size"));
}

static void test_opts_size_out_of_range_shows_range_in_units(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--max-msg", "2g"), OPTS_ERROR);
    assert_string_equal(err, "--max-msg: '2g' is out of range 1KiB..1GiB");
}

static void test_opts_size_overflow_is_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--max-msg", "9223372036854775807G"), OPTS_ERROR);
    assert_string_equal(err, "--max-msg: '9223372036854775807G' is out of range 1KiB..1GiB");
    assert_int_equal(PARSE("--max-msg", "99999999999999999999999"), OPTS_ERROR);
    assert_non_null(strstr(err, "is out of range"));
}

static void test_opts_bool_flag_alone_is_true(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--verbose"), OPTS_OK);
    assert_true(cfg.verbose);
}

static void test_opts_bool_short_flag_alone_is_true(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-v", "--port", "80"), OPTS_OK);
    assert_true(cfg.verbose);
    assert_int_equal(cfg.port, 80);
}

static void test_opts_bool_flag_with_false_is_false(void **state)
{
    (void)state;
    setenv("VERBOSE", "1", 1);
    assert_int_equal(PARSE("--verbose=false"), OPTS_OK);
    assert_false(cfg.verbose);
}

static void test_opts_bool_env_accepts_all_word_forms(void **state)
{
    (void)state;
    static const char *const yes[] = {"1", "true", "yes", "on", "TRUE", "Yes"};
    static const char *const no[] = {"0", "false", "no", "off", "OFF"};
    char *argv[] = {"prog"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        cfg.verbose = false;
        setenv("VERBOSE", yes[i], 1);
        assert_int_equal(parse_argv(1, argv), OPTS_OK);
        assert_true(cfg.verbose);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        cfg.verbose = true;
        setenv("VERBOSE", no[i], 1);
        assert_int_equal(parse_argv(1, argv), OPTS_OK);
        assert_false(cfg.verbose);
    }
}

static void test_opts_bool_refuses_other_words(void **state)
{
    (void)state;
    setenv("VERBOSE", "maybe", 1);
    char *argv[] = {"prog"};
    assert_int_equal(parse_argv(1, argv), OPTS_ERROR);
    assert_string_equal(err,
                        "VERBOSE: 'maybe' is not a boolean (true/false, yes/no, on/off or 1/0)");
}

static void test_opts_bool_flag_does_not_take_next_argument(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--verbose", "false"), OPTS_ERROR);
    assert_string_equal(err, "unexpected argument 'false' (see --help)");
}

static void test_opts_double_accepts_value_in_range(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--ratio", "0.25"), OPTS_OK);
    assert_true(cfg.ratio == 0.25);
}

static void test_opts_double_refuses_out_of_range_and_junk(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--ratio", "1.5"), OPTS_ERROR);
    assert_string_equal(err, "--ratio: '1.5' is out of range 0..1");
    assert_int_equal(PARSE("--ratio", "nan"), OPTS_ERROR);
    assert_string_equal(err, "--ratio: 'nan' is out of range 0..1");
    assert_int_equal(PARSE("--ratio", "0.5x"), OPTS_ERROR);
    assert_string_equal(err, "--ratio: '0.5x' is not a number");
}

static void test_opts_help_flags_return_help(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--help"), OPTS_HELP);
    assert_int_equal(PARSE("-h"), OPTS_HELP);
    assert_int_equal(PARSE("--port", "80", "--help"), OPTS_HELP);
}

static void test_opts_version_flag_returns_version(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--version"), OPTS_VERSION);
}

static void test_opts_help_wins_over_bad_environment(void **state)
{
    (void)state;
    setenv("PORT", "abc", 1);
    assert_int_equal(PARSE("--help"), OPTS_HELP);
}

static void test_opts_long_values_are_shortened_in_errors(void **state)
{
    (void)state;
    char big[500];
    memset(big, '9', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[0] = 'x';
    char *argv[] = {"prog", "--port", big};
    assert_int_equal(parse_argv(3, argv), OPTS_ERROR);
    assert_true(strlen(err) < 120);
    assert_non_null(strstr(err, "...' is not an integer"));
}

static void test_opts_help_lists_flags_env_range_and_default(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    opts_print_help(f, "usage: prog [options]", table, NOPTS);
    fclose(f);
    assert_non_null(strstr(text, "usage: prog [options]\n"));
    assert_non_null(strstr(text, "-p, --port PORT"));
    assert_non_null(strstr(text, "TCP port to listen on"));
    assert_non_null(strstr(text, "env PORT, SIGNALING_PORT; 1..65535; default 3001"));
    assert_non_null(strstr(text, "one of error, warn, info, debug; default info"));
    assert_non_null(strstr(text, "1KiB..1GiB bytes; default 64KiB"));
    assert_non_null(strstr(text, "--verbose"));
    assert_non_null(strstr(text, "default false"));
    assert_non_null(strstr(text, "--help"));
    assert_non_null(strstr(text, "--version"));
    free(text);
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_opts_defaults_stay_when_nothing_is_given),
        T(test_opts_long_flag_takes_next_argument),
        T(test_opts_long_flag_with_equals_sets_value),
        T(test_opts_short_flag_takes_next_argument),
        T(test_opts_short_flag_accepts_attached_value),
        T(test_opts_env_overrides_default),
        T(test_opts_flag_overrides_env),
        T(test_opts_second_env_var_used_when_first_unset),
        T(test_opts_first_env_var_wins_when_both_set),
        T(test_opts_empty_env_var_counts_as_unset),
        T(test_opts_out_of_range_flag_names_flag_value_and_range),
        T(test_opts_error_names_short_flag_as_given),
        T(test_opts_non_integer_env_names_variable),
        T(test_opts_integer_with_trailing_junk_is_refused),
        T(test_opts_integer_overflow_is_out_of_range),
        T(test_opts_unknown_choice_lists_choices),
        T(test_opts_string_without_choices_accepts_any_value),
        T(test_opts_unknown_option_suggests_help),
        T(test_opts_unknown_option_with_equals_names_only_the_flag),
        T(test_opts_unknown_short_option_is_error),
        T(test_opts_missing_value_names_flag),
        T(test_opts_positional_argument_is_error),
        T(test_opts_argument_after_double_dash_is_positional),
        T(test_opts_size_accepts_plain_bytes),
        T(test_opts_size_accepts_binary_suffixes),
        T(test_opts_size_refuses_unknown_suffix),
        T(test_opts_size_out_of_range_shows_range_in_units),
        T(test_opts_size_overflow_is_out_of_range),
        T(test_opts_bool_flag_alone_is_true),
        T(test_opts_bool_short_flag_alone_is_true),
        T(test_opts_bool_flag_with_false_is_false),
        T(test_opts_bool_env_accepts_all_word_forms),
        T(test_opts_bool_refuses_other_words),
        T(test_opts_bool_flag_does_not_take_next_argument),
        T(test_opts_double_accepts_value_in_range),
        T(test_opts_double_refuses_out_of_range_and_junk),
        T(test_opts_help_flags_return_help),
        T(test_opts_version_flag_returns_version),
        T(test_opts_help_wins_over_bad_environment),
        T(test_opts_long_values_are_shortened_in_errors),
        T(test_opts_help_lists_flags_env_range_and_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
