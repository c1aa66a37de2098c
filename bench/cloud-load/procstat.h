/* procstat.h - what cloud-load reads of other processes in /proc: resident
 * memory and CPU time. Used by the parent for the server and its workers. */
#ifndef CLOUD_LOAD_PROCSTAT_H
#define CLOUD_LOAD_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

/* VmRSS of pid in kB, from /proc/PID/status; -1 when unreadable (no such
 * process, or pid <= 0). */
long procstat_rss_kb(pid_t pid);

/* User plus system CPU time of pid (all its threads) in microseconds, from
 * /proc/PID/stat (clock-tick resolution, 10 ms here); -1 when unreadable. */
int64_t procstat_cpu_us(pid_t pid);

/* CPU time the whole machine spent busy (all CPUs: user, nice, system,
 * irq, softirq, steal) in microseconds, from /proc/stat; -1 when
 * unreadable. Minus the server and the workers, it shows what else ran. */
int64_t procstat_host_busy_us(void);

#endif
