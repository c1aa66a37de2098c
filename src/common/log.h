/* log.h - leveled logging to stderr, one line per event, as text or JSON.
 *
 * Logging is the one piece of process-wide state: it is configured once by
 * log_setup() at start-up, before any other thread exists, and only read
 * after that. Every function here is safe to call from any thread. */
#ifndef PORTHOLE_COMMON_LOG_H
#define PORTHOLE_COMMON_LOG_H

#include <stdbool.h>

enum log_level { LOGL_ERROR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

/* Sets the threshold, the line format and the component name printed in
 * each line ("cloud", "robot"). The name must outlive the process. */
void log_setup(enum log_level level, enum log_format format, const char *component);

/* True when a message at this level would be printed: lets callers skip
 * building expensive arguments. */
bool log_enabled(enum log_level level);

/* Prints one line: time, level, component, message. In JSON format the
 * message is escaped into {"ts":..,"level":..,"component":..,"msg":..}. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) \
    do { if (log_enabled(LOGL_DEBUG)) log_msg(LOGL_DEBUG, __VA_ARGS__); } while (0)

/* Names accepted by the parsers below, for --help texts and option tables. */
extern const char *const log_level_names[];  /* "error" "warn" "info" "debug" NULL */
extern const char *const log_format_names[]; /* "text" "json" NULL */

/* Parse a name from the lists above. Return 0, or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);
int log_format_parse(const char *name, enum log_format *out);

#endif
