/* fdlimit.h - the process's open-file limit, fitted to what the server
 * may hold.
 *
 * Why: libwebsockets sizes its socket tables to the soft RLIMIT_NOFILE,
 * and Debian's build of lws 4.1.6 (compiled with _DEBUG) scans the whole
 * table at every close (sanity_assert_no_sockfd_traces): about 1 ns an
 * entry, so 20 µs a close at 20,000 and about 1 ms at the 1,048,576 that
 * containers and systemd units often set, where ten thousand robots that
 * drop at once would stall the event loop for seconds. A limit below what
 * the server may hold is the other way to fail: a stock soft limit of
 * 1024 refuses the 1,025th connection whatever --max-connections says.
 * So the soft limit is set to exactly the need: raised up to the hard
 * limit when it is lower, lowered when it is higher. */
#ifndef PORTHOLE_CLOUD_FDLIMIT_H
#define PORTHOLE_CLOUD_FDLIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Descriptors beyond the connections: listening sockets, the Redis links,
 * static files being served, HTTP requests answered 503 past the limits,
 * logs and the event loop's own. */
#define FDLIMIT_RESERVE 1024

struct fdlimit_change {
    uint64_t before, after; /* the soft limit */
    uint64_t hard;
    bool capped;            /* the hard limit is below the need */
};

/* The open files a server needs: its WebSockets (max_connections), its
 * Socket.IO polling connections (sio_max_sessions) and FDLIMIT_RESERVE. */
uint64_t fdlimit_need(long max_connections, long sio_max_sessions);

/* Sets the soft RLIMIT_NOFILE to need, or to the hard limit when that is
 * lower (capped). Returns 0 with *out filled (after == before when
 * nothing changed), or -1 when getrlimit or setrlimit failed (errno set;
 * the limit is then unchanged). */
int fdlimit_fit(uint64_t need, struct fdlimit_change *out);

#endif
