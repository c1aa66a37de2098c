/* soak_record.h - what the soak driver (soak.c) records about the robot and
 * its sessions, and how it judges the record: samples of the robot's /proc,
 * counts of what happened, growth limits, log checks, the summary table and
 * the verdict.
 *
 * One struct soak_record per run, used on the driver's main thread only. A
 * failure is said on stderr when it is found and listed again at the end. */
#ifndef PORTHOLE_TESTS_SOAK_RECORD_H
#define PORTHOLE_TESTS_SOAK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One sample of the robot, every SOAK_SAMPLE_S seconds. */
#define SOAK_SAMPLE_S 10
struct soak_sample {
    int t_s;                   /* seconds since the driver started */
    long rss_kb, threads, fds; /* -1 when unreadable */
    int viewers;               /* the driver's viewers at that moment */
    int sessions;              /* the robot's (GET /api/webrtc/sessions), -1 unknown */
};

/* What happened, counted by the driver. */
struct soak_counts {
    unsigned joins, opened, opened_rest, closed, streamed, stalled, lost_to_cloud;
    unsigned leave_polite, leave_abrupt, leave_rest_delete, closed_by_robot;
    unsigned switches, switch_refused;
    unsigned api_calls, api_unanswered, api_unexpected;
    unsigned cloud_kills, cloud_restart_fail;
    int64_t reregister_ms_max;
    int64_t first_frame_ms_sum, first_frame_ms_max;
};

/* The robot with no session: the floor of a few samples. */
struct soak_idle {
    bool ok;     /* the robot reached zero sessions in time */
    int drain_s; /* how long that took */
    long threads, fds, rss_kb;
};

struct soak_record {
    struct soak_sample *samples; /* owned */
    size_t nsamples, cap;
    struct soak_counts n;
    char failures[2048];
};

/* How the run ended, for the summary. */
struct soak_outcome {
    unsigned long long seed;
    double minutes;
    const char *robot_id;
    bool robot_crashed;
    int robot_exit, cloud_exit; /* after SIGTERM at the end (as harness_stop()) */
    struct soak_idle base, end; /* after the warm-up, after the last viewer */
};

/* Records a failure (printf-style) and says it on stderr. */
void soak_record_fail(struct soak_record *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A "Key:" field of /proc/PID/status ("VmRSS:" in kB, "Threads:"), and the
 * number of open files of pid; -1 when unreadable. */
long soak_proc_status(pid_t pid, const char *key);
long soak_proc_fds(pid_t pid);

/* Samples pid's RSS, threads and open files (with the viewer and session
 * counts given), keeps the sample and prints it as a progress line. Exits
 * the process (status 2) when out of memory. */
void soak_record_sample(struct soak_record *r, pid_t pid, int t_s, int viewers, int sessions);

/* Growth, as judged here:
 *  - RSS: after a warm-up (the first fifth of the run, at least a minute:
 *    ASan's quarantine and allocator caches and GStreamer's pools fill),
 *    the median RSS of the last third of the samples may exceed that of
 *    the first third by at most 15 % or 48 MB, whichever is larger.
 *    Medians, since the number of viewers at each sample varies.
 *  - threads and open files: once every viewer has gone and the robot
 *    lists no session (within the drain time), the idle floor must be
 *    back within 4 threads (libnice and GLib worker threads come and go)
 *    and 8 files of the floor measured after the warm-up session.
 * Records a failure for each limit passed; only the RSS trend is judged
 * when the robot crashed. */
void soak_record_check_growth(struct soak_record *r, const struct soak_outcome *o,
                              int drain_s);

/* Scans a process's log (its stderr) for sanitizer reports (ASan, LSan,
 * UBSan), GLib errors, assertions and criticals (each a failure) and GLib
 * warnings (counted only); prints the counts. */
void soak_record_check_log(struct soak_record *r, const char *name, const char *path);

/* Sessions that never decoded a frame: a failure beyond 5 % (once at
 * least 20 were opened). */
void soak_record_check_sessions(struct soak_record *r);

/* Prints the table of samples (about 36 rows) and the summary. */
void soak_record_print(const struct soak_record *r, const struct soak_outcome *o);

/* Prints the verdict and the failures; returns the exit status (0 or 1).
 * Frees the samples. */
int soak_record_verdict(struct soak_record *r);

#endif
