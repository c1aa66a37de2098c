/* fdlimit.c - the open-file limit fitted to the server (fdlimit.h). */
#include "cloud/fdlimit.h"

#include <sys/resource.h>

uint64_t fdlimit_need(long max_connections, long sio_max_sessions)
{
    return (uint64_t)(max_connections > 0 ? max_connections : 0) +
           (uint64_t)(sio_max_sessions > 0 ? sio_max_sessions : 0) + FDLIMIT_RESERVE;
}

int fdlimit_fit(uint64_t need, struct fdlimit_change *out)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    uint64_t hard = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_max;
    uint64_t soft = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    *out = (struct fdlimit_change){.before = soft, .after = soft, .hard = hard,
                                   .capped = hard < need};
    uint64_t want = need < hard ? need : hard;
    if (want == soft)
        return 0;
    rl.rlim_cur = (rlim_t)want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    out->after = want;
    return 0;
}
