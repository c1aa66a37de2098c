/* credential.h - a secret the robot presents or checks: the robot's token
 * for porthole-cloud (ROBOT_TOKEN or --token-file) and the REST API's token
 * (--api-token, ROBOT_API_TOKEN or --api-token-file).
 *
 * A secret held in a file is read again at every credential_get, so a
 * rotated file is picked up without a restart. A file readable by its
 * group or by others gets one warning (per credential). A secret is never
 * logged and never appears in an error: errors name the file and what is
 * wrong with it. Not thread-safe: one thread per credential (the robot's
 * main thread). */
#ifndef PORTHOLE_ROBOT_CREDENTIAL_H
#define PORTHOLE_ROBOT_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

/* The longest secret accepted, in bytes (a JWT with a few claims is a few
 * hundred; the cloud refuses much less than this). */
#define CREDENTIAL_MAX 16384

struct credential;

/* A secret given as value (copied), or held in the file at path (copied),
 * or neither: a credential that is not configured. At most one of the two
 * may be non-NULL (config.c checks). what names it in logs and errors
 * ("--token-file", "the REST API token"). Never NULL. */
struct credential *credential_new(const char *value, const char *path, const char *what);

/* True when a value or a file was given. */
bool credential_configured(const struct credential *c);

/* True when the secret is held in a file (so it may change while the
 * robot runs). */
bool credential_in_file(const struct credential *c);

/* The secret now: the value, or the file read again (surrounding white
 * space and line ends trimmed). Returns a string owned by c, valid until
 * the next call or credential_free; NULL for a credential not configured
 * (err "") or when the file cannot be used (err says why: cannot be
 * opened, empty, larger than CREDENTIAL_MAX, holds anything but printable
 * ASCII without spaces). err may be NULL. */
const char *credential_get(struct credential *c, char *err, size_t errlen);

/* True when given equals want. Its time depends on the length of given
 * only, never on where the two differ or on want's length. */
bool credential_equal(const char *given, const char *want);

/* NULL is a no-op. */
void credential_free(struct credential *c);

#endif
