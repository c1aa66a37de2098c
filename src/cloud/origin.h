/* origin.h - which web pages may talk to porthole-cloud from a browser:
 * the --allowed-origins list, checked against the Origin header that
 * browsers send with WebSocket upgrades and cross-origin requests.
 *
 * Items (comma-separated, case-insensitive):
 *   self       the page came from this cloud: the Origin's host[:port]
 *              equals the request's Host header;
 *   loopback   the page came from this machine: the Origin's host is
 *              localhost, 127.0.0.0/8 or [::1] (a development server);
 *   *          any page;
 *   SCHEME://HOST[:PORT]  that origin exactly ("https://viewer.example.com";
 *              the scheme's default port may be given or left out).
 * A request without Origin was not made by a page (a robot, a CLI tool,
 * a server) and always passes: the check protects browsers' users from
 * pages of other sites, it does not authenticate anyone. */
#ifndef PORTHOLE_CLOUD_ORIGIN_H
#define PORTHOLE_CLOUD_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

struct origin_list;

/* Parses text into a new list (*out; free with origin_list_free). "" is
 * the empty list, which allows only requests without Origin. Returns 0,
 * or -1 with err naming the bad item and why (not an origin, a path, a
 * bad port, out of memory). */
int origin_list_parse(const char *text, struct origin_list **out, char *err, size_t errlen);

void origin_list_free(struct origin_list *l);

/* True when a request with the Origin header `origin` (NULL: none) and
 * the Host header `host` (NULL: none) may go on. Origin "null" (sandboxed
 * and file:// pages) and malformed Origins pass only with "*". */
bool origin_allowed(const struct origin_list *l, const char *origin, const char *host);

#endif
