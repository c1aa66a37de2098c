/* bwe.h - one viewer's bandwidth estimate from transport-wide congestion
 * control feedback, and the layer of the ladder it allows.
 *
 * The robot negotiates the TWCC header extension (draft-holmer-rmcat-
 * transport-wide-cc-extensions-01) with each viewer; GStreamer's rtpsession
 * turns each feedback packet of the viewer into a report (its "twcc-stats":
 * what was sent and received over the feedback's interval, the share lost
 * and the average change of the packets' one-way delay gradient). This
 * module runs the two controllers of Google's congestion control (draft-
 * ietf-rmcat-gcc-02) on those reports, coarsely, since it sees aggregates
 * rather than every packet:
 *
 *   - delay: over windows of BWE_DELAY_WINDOW_MS (a single report covers
 *     a frame or two, whose packets leave in a burst: its gradient is
 *     mostly that), a delay gradient above BWE_OVERUSE_US in two windows
 *     in a row means a queue is growing somewhere on the path (a link 1.3
 *     times overrun adds about 4 ms per 1,200-byte packet at 600 kbit/s):
 *     the estimate drops to 85% of what the viewer received
 *     (smoothed over windows), at most once every
 *     BWE_DECREASE_MS (the reports right after a drop still see the queue
 *     the old rate built); a gradient below -BWE_OVERUSE_US means a queue is
 *     draining: hold; otherwise grow by 8% a second (multiplicative, far
 *     from the last drop) or by about one packet per round trip near it;
 *   - loss: over windows of BWE_LOSS_WINDOW_MS (one report's loss is too
 *     noisy), above 10% lost the estimate drops by half the loss; below 2%
 *     it may grow; between them it holds (GCC section 6).
 *
 * The estimate is the smaller of the two, within [floor, ceiling].
 *
 * GCC's estimate never grows past 1.5 times what the viewer receives, so
 * a viewer held on a lower layer cannot learn that its link has room for
 * the next. Steps the estimate does not cover are probed with padding
 * (bwe_probe) unless nothing can pad (b->no_padding); for the others,
 * layer choice (bwe_pick_layer) probes by stepping up:
 * it steps down at once when the estimate falls 10% short of what the
 * current layer needs; it steps up when, for BWE_UP_HOLD_MS, the estimate has
 * covered the next layer with 15% to spare or stood 30% above what
 * arrives (room the link showed). A step up followed by a step down within
 * BWE_UP_FAILED_MS failed: it goes back to the layer that worked and the
 * wait before the next try doubles, up to BWE_UP_HOLD_MAX_MS; a step up
 * that holds brings the wait back to BWE_UP_HOLD_MS. So a slow link is
 * probed a few times a minute at most, and a link that opens is climbed
 * within seconds.
 *
 * Pure and single-threaded: the caller serialises calls on one estimator
 * and supplies the clock. */
#ifndef PORTHOLE_ROBOT_BWE_H
#define PORTHOLE_ROBOT_BWE_H

#include <stdbool.h>
#include <stdint.h>

#define BWE_OVERUSE_US 4000      /* delay-gradient threshold, microseconds per packet */
#define BWE_DELAY_WINDOW_MS 300  /* the delay controller judges windows of feedback ... */
#define BWE_DELAY_WINDOW_PACKETS 8 /* ... of at least this many packets */
#define BWE_DECREASE_MS 500     /* delay drops at most this often */
#define BWE_LOSS_WINDOW_MS 1000 /* loss is judged over this much feedback */
#define BWE_UP_HOLD_MS 2000      /* how long the next layer must fit before stepping up */
#define BWE_UP_FAILED_MS 3000    /* a step down this soon after a step up: it failed */
#define BWE_UP_HOLD_MAX_MS 6000  /* the longest wait before trying the next layer again */
#define BWE_UP_HOLD_COSTLY_MS 4000      /* the same, for a probe to a costly layer ... */
#define BWE_UP_HOLD_COSTLY_MAX_MS 8000 /* ... (one that needs a keyframe) */
#define BWE_PROBE_MS 1200         /* how long a padding probe runs */
#define BWE_PROBE_FOLLOWUP_MS 1000 /* the wait after a probe that worked */
#define BWE_PROVEN_MS 4000        /* how long a probe that worked allows the step up */
#define BWE_MAX_LAYERS 6

/* One TWCC report (rtpsession's "twcc-stats" structure). */
struct bwe_report {
    int64_t now_ms;             /* monotonic, when the report arrived */
    double sent_kbps;           /* "bitrate-sent" / 1000 */
    double recv_kbps;           /* "bitrate-recv" / 1000 */
    double loss_pct;            /* "packet-loss-pct", 0 to 100 */
    int64_t delay_gradient_us;  /* "avg-delta-of-delta" (ns) / 1000 */
    unsigned packets_sent;      /* "packets-sent" in the interval */
    unsigned packets_recv;      /* "packets-recv" in the interval */
};

struct bwe {
    double floor_kbps, ceiling_kbps;
    double delay_kbps, loss_kbps; /* the two controllers' estimates */
    double last_drop_kbps;        /* the received rate at the last delay drop, 0 before one */
    double recv_avg_kbps;         /* received rate, smoothed over windows (0: none yet) */
    double media_avg_kbps;        /* the same over windows clear of padding: what the
                                   * media alone takes (0: none yet) */
    int64_t win_start_ms;         /* the delay window: since then, weighted by packets, */
    double win_packets, win_dod, win_sent, win_recv; /* sums of gradient and rates */
    unsigned overusing;           /* windows in a row over the threshold */
    bool decreased;               /* a delay drop happened ... */
    int64_t decrease_ms;          /* ... at this time */
    int64_t loss_start_ms;        /* the loss window: since then ... */
    unsigned loss_sent, loss_recv;/* ... so many packets sent and received */
    int64_t last_ms;              /* the last report, 0 before the first */
    unsigned reports, overuses, loss_drops;
    /* layer choice */
    int layer;                    /* current, 0 = lowest; starts at the top */
    bool up_pending;              /* the next layer fits ... */
    int64_t up_since_ms;          /* ... since then */
    bool stepped_up;              /* the last change was a step up ... */
    int64_t up_at_ms;             /* ... at that time */
    int64_t up_hold_ms;           /* how long the next layer must fit: doubles
                                   * after a step up that failed within
                                   * BWE_UP_FAILED_MS, up to BWE_UP_HOLD_MAX_MS */
    int64_t costly_hold_ms;       /* the same for probes to costly layers */
    int failed_layer;             /* the last layer a step up to failed (BWE_MAX_LAYERS: none) */
    /* padding probes (bwe_probe) */
    bool no_padding;              /* set by the owner: the viewer negotiated no RTX, so
                                   * nothing can pad (every cheap step is then direct) */
    bool probing;
    int probe_layer;              /* the layer the running probe is for */
    int proven_layer;             /* the layer the last probe that worked carried ... */
    int64_t proven_ms;            /* ... when it ended (-1: none) */
    int64_t probe_start_ms, probe_end_ms;
    double probe_target_kbps, probe_kbps, probe_recv_sum;
    double probe_got_kbps;        /* what arrived during the last probe that ended */
    double probe_sent_sum;        /* what was sent during the running probe (window sum) */
    bool probe_capped;            /* a window of it arrived well short of what was sent */
    unsigned probe_windows, probes, probe_successes;
    unsigned ups, downs;
};

/* Starts at start_kbps (clamped to [floor, ceiling]), at the top layer. */
void bwe_init(struct bwe *b, double floor_kbps, double ceiling_kbps, double start_kbps);

/* Changes the bounds (the robot's --bitrate ceiling); the estimate is
 * clamped into them. */
void bwe_set_bounds(struct bwe *b, double floor_kbps, double ceiling_kbps);

/* Takes one report; returns the new estimate in kbit/s. Reports with no
 * packets, out of order or with absurd fields are ignored (the estimate is
 * returned unchanged). */
double bwe_update(struct bwe *b, const struct bwe_report *r);

double bwe_estimate(const struct bwe *b);

/* Picks the layer to forward: rates_kbps[0..n-1] are the bitrates the
 * layers need, lowest first (n <= BWE_MAX_LAYERS); costly (NULL: none)
 * marks the layers that cost a keyframe to step up to (another encoder's
 * size): probes to them, which fail on a slow link, wait
 * BWE_UP_HOLD_COSTLY_MS and back off to BWE_UP_HOLD_COSTLY_MAX_MS.
 * Returns the index. */
int bwe_pick_layer(struct bwe *b, const double *rates_kbps, const bool *costly, int n,
                   int64_t now_ms);

/* Padding probes: a layer that costs a keyframe is not stepped up to
 * blindly (on a slow link the keyframe alone would freeze the picture for
 * seconds), nor, unless b->no_padding, one of the same encoder whose rate
 * the estimate does not cover (full size from 15 to 30 fps doubles the
 * rate: stepping up behind a 1.5-Mbit/s link overran it for seconds every
 * few seconds, each time freezing the picture; padding that overruns it is
 * stopped within a window, and loses no media). Instead, when the estimate shows room it cannot confirm (it
 * stands 30% above what arrives, GCC's bound holding it), the caller sends
 * padding for BWE_PROBE_MS at the rate this returns (kbit/s on top of the
 * media; 0: none), so that together they reach 1.25 times the next layer,
 * or 1.5 times the estimate if that is less (several probes climb to it,
 * BWE_PROBE_FOLLOWUP_MS apart).
 * The first delay window over the threshold ends it (the queue it builds
 * delays the media too). If no overuse came and 95% of that arrived, the
 * estimate rises to what
 * arrived and bwe_pick_layer steps up on that evidence (for
 * BWE_PROVEN_MS, if it carried the next layer's rate); if not, the next
 * probe waits twice as long (BWE_UP_HOLD_COSTLY_MS to _MAX_MS). Call it
 * with each report, after bwe_pick_layer. */
double bwe_probe(struct bwe *b, const double *rates_kbps, const bool *costly, int n,
                 int64_t now_ms);

#endif
