/* bwe.c - one viewer's bandwidth estimate from TWCC reports (bwe.h). */
#include "robot/bwe.h"

#include <math.h>
#include <stddef.h>

/* GCC's constants (draft-ietf-rmcat-gcc-02, sections 5.5 and 6). */
#define DELAY_BETA 0.85          /* on overuse: 85% of the received rate */
#define DELAY_GROWTH 1.08        /* per second, far from the last drop */
#define DELAY_ADDITIVE_KBPS 40.0 /* per second, near it (about half a packet per 100 ms) */
#define NEAR_BAND 0.15           /* "near": within 15% of the rate at the last drop */
#define LOSS_HIGH_PCT 10.0
#define LOSS_LOW_PCT 2.0
#define LOSS_GROWTH 1.05         /* per second while loss stays under LOSS_LOW_PCT */
#define UP_MARGIN 1.15           /* the next layer must fit with 15% to spare */
#define DOWN_MARGIN 0.9          /* a layer is left when the estimate is 10% short of it:
                                  * GCC's drops land 15% under what arrives */
#define MAX_STEP_MS 1000         /* a longer gap between reports counts as one second */
#define RECV_ALPHA 0.3           /* smoothing of the received rate, per delay window */
#define APP_LIMIT 1.5            /* the estimate grows to at most 1.5 times what arrives */
#define PROBE_HEADROOM 1.3       /* an estimate this far above what arrives: try the next rung */
#define PROBE_TARGET 1.25        /* a padding probe aims at 1.25 times the next rung ... */
#define PROBE_SUCCESS 0.9        /* ... and worked when 90% of that arrived */
#define PROBE_GROWTH 1.5         /* at most this times the estimate */
#define PROBE_CAPPED 0.85        /* a probe window that received less than this share of
                                  * what it sent found the link's rate: what arrived */
#define PROBE_PROGRESS 1.1       /* a probe that fell short but carried this times the
                                  * estimate still showed room: the next comes soon */

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void bwe_init(struct bwe *b, double floor_kbps, double ceiling_kbps, double start_kbps)
{
    *b = (struct bwe){.floor_kbps = floor_kbps, .ceiling_kbps = ceiling_kbps,
                      .layer = BWE_MAX_LAYERS - 1, .up_hold_ms = BWE_UP_HOLD_MS,
                      .costly_hold_ms = BWE_UP_HOLD_COSTLY_MS,
                      .probe_end_ms = INT64_MIN / 2, .proven_ms = -1,
                      .failed_layer = BWE_MAX_LAYERS};
    b->delay_kbps = b->loss_kbps = clamp(start_kbps, floor_kbps, ceiling_kbps);
}

void bwe_set_bounds(struct bwe *b, double floor_kbps, double ceiling_kbps)
{
    b->floor_kbps = floor_kbps;
    b->ceiling_kbps = ceiling_kbps;
    b->delay_kbps = clamp(b->delay_kbps, floor_kbps, ceiling_kbps);
    b->loss_kbps = clamp(b->loss_kbps, floor_kbps, ceiling_kbps);
}

double bwe_estimate(const struct bwe *b)
{
    return clamp(fmin(b->delay_kbps, b->loss_kbps), b->floor_kbps, b->ceiling_kbps);
}

static bool report_valid(const struct bwe *b, const struct bwe_report *r)
{
    return r->packets_sent > 0 && r->now_ms >= b->last_ms && isfinite(r->sent_kbps) &&
           isfinite(r->recv_kbps) && isfinite(r->loss_pct) && r->sent_kbps >= 0 &&
           r->recv_kbps >= 0 && r->loss_pct >= 0 && r->loss_pct <= 100;
}

/* The delay-based controller (GCC section 5.5), on one report's gradient. */
static void delay_update(struct bwe *b, const struct bwe_report *r)
{
    /* A window of reports, weighted by their packets: one feedback packet
     * covers a frame or two, whose packets leave in a burst and arrive at
     * the link's pace, so a single report's gradient is mostly that. */
    if (!b->win_packets)
        b->win_start_ms = b->last_ms ? b->last_ms : r->now_ms - 100;
    double n = r->packets_recv ? r->packets_recv : r->packets_sent;
    b->win_packets += n;
    b->win_dod += n * (double)r->delay_gradient_us;
    b->win_sent += n * r->sent_kbps;
    b->win_recv += n * r->recv_kbps;
    int64_t span = r->now_ms - b->win_start_ms;
    if (span < BWE_DELAY_WINDOW_MS || b->win_packets < BWE_DELAY_WINDOW_PACKETS)
        return;
    double dod = b->win_dod / b->win_packets, sent = b->win_sent / b->win_packets,
           recv = b->win_recv / b->win_packets;
    double secs = (double)(span > MAX_STEP_MS ? MAX_STEP_MS : span) / 1000.0;
    b->win_packets = b->win_dod = b->win_sent = b->win_recv = 0;
    b->recv_avg_kbps = b->recv_avg_kbps > 0 ? RECV_ALPHA * recv + (1 - RECV_ALPHA) * b->recv_avg_kbps
                                            : recv;
    /* The media's own rate: a probe's padding arrives up to a round trip
     * after it ends, so the window after it is left out too. A probe pads
     * up to its target from this, not from recv_avg_kbps, which the last
     * probe's padding still inflates. */
    if (!b->probing && b->win_start_ms >= b->probe_end_ms + BWE_DELAY_WINDOW_MS)
        b->media_avg_kbps = b->media_avg_kbps > 0
                                ? RECV_ALPHA * recv + (1 - RECV_ALPHA) * b->media_avg_kbps
                                : recv;
    if (b->probing && r->now_ms >= b->probe_start_ms + BWE_DELAY_WINDOW_MS) {
        /* What arrived while the padding ran (its first window still
         * carries the time before it). */
        b->probe_recv_sum += recv;
        b->probe_sent_sum += sent;
        b->probe_windows++;
        /* A queue that fills (or a policer) shows as less arriving than
         * was sent, before the delay gradient crosses its threshold. */
        if (recv < PROBE_CAPPED * sent)
            b->probe_capped = true;
    }
    /* Overuse: the delay grows over two windows in a row (one keyframe's
     * burst can fill one window). A policer that drops rather than queues
     * is the loss controller's. */
    b->overusing = dod > BWE_OVERUSE_US ? b->overusing + 1 : 0;
    if (b->overusing >= 2) {
        if (b->decreased && r->now_ms - b->decrease_ms < BWE_DECREASE_MS)
            return; /* the queue the old rate built: already acted on */
        double received = b->recv_avg_kbps > 0 ? b->recv_avg_kbps : b->delay_kbps;
        b->last_drop_kbps = received;
        b->delay_kbps = fmin(b->delay_kbps, DELAY_BETA * received);
        b->decreased = true;
        b->decrease_ms = r->now_ms;
        b->overuses++;
    } else if (dod >= -BWE_OVERUSE_US) {
        bool near = b->last_drop_kbps > 0 &&
                    fabs(b->delay_kbps - b->last_drop_kbps) <= NEAR_BAND * b->last_drop_kbps;
        double grown = near ? b->delay_kbps + DELAY_ADDITIVE_KBPS * secs
                            : b->delay_kbps * pow(DELAY_GROWTH, secs);
        /* GCC's bound: never more than 1.5 times what arrives. A sender
         * that sends less than its link carries (a viewer on a lower rung)
         * learns nothing above that; bwe_pick_layer probes instead. The
         * bound only stops growth, it never lowers the estimate. */
        double cap = APP_LIMIT * b->recv_avg_kbps;
        if (b->recv_avg_kbps > 0 && grown > cap)
            grown = fmax(b->delay_kbps, cap);
        b->delay_kbps = grown;
    } /* else a queue is draining: hold */
    b->delay_kbps = clamp(b->delay_kbps, b->floor_kbps, b->ceiling_kbps);
}

/* The loss-based controller (GCC section 6), once per loss window. A
 * report without packets-recv counts its packet-loss-pct. */
static void loss_update(struct bwe *b, const struct bwe_report *r)
{
    unsigned recv = r->packets_recv ? r->packets_recv
                                    : (unsigned)(r->packets_sent * (1.0 - r->loss_pct / 100.0));
    if (!b->loss_sent)
        b->loss_start_ms = r->now_ms;
    b->loss_sent += r->packets_sent;
    b->loss_recv += recv < r->packets_sent ? recv : r->packets_sent;
    int64_t span = r->now_ms - b->loss_start_ms;
    if (span < BWE_LOSS_WINDOW_MS)
        return;
    double loss = 100.0 * (double)(b->loss_sent - b->loss_recv) / (double)b->loss_sent;
    double secs = (double)(span > 2 * BWE_LOSS_WINDOW_MS ? 2 * BWE_LOSS_WINDOW_MS : span) / 1000.0;
    b->loss_sent = b->loss_recv = 0;
    if (loss > LOSS_HIGH_PCT) {
        b->loss_kbps *= 1.0 - 0.5 * loss / 100.0;
        b->loss_drops++;
    } else if (loss < LOSS_LOW_PCT) {
        b->loss_kbps *= pow(LOSS_GROWTH, secs);
    }
    b->loss_kbps = clamp(b->loss_kbps, b->floor_kbps, b->ceiling_kbps);
}

double bwe_update(struct bwe *b, const struct bwe_report *r)
{
    if (!report_valid(b, r))
        return bwe_estimate(b);
    b->reports++;
    delay_update(b, r);
    loss_update(b, r);
    b->last_ms = r->now_ms;
    return bwe_estimate(b);
}

/* Whether the step up to layer next waits for a padding probe: a costly
 * one always; a cheap one the estimate does not cover, when padding is
 * possible. */
static bool padded_step(const struct bwe *b, const double *rates_kbps, const bool *costly,
                        int next, double est)
{
    if (costly && costly[next])
        return true;
    return !b->no_padding && est < UP_MARGIN * rates_kbps[next];
}

/* A probe that worked carried layer next's rate (or the ceiling's) not
 * long ago: the step up may follow. */
static bool proven(const struct bwe *b, const double *rates_kbps, int next, int64_t now_ms)
{
    return b->proven_ms >= 0 && b->proven_layer == next && now_ms - b->proven_ms <= BWE_PROVEN_MS &&
           b->probe_got_kbps >= PROBE_SUCCESS * fmin(rates_kbps[next], b->ceiling_kbps);
}

static int64_t doubled(int64_t ms, int64_t max)
{
    return ms * 2 > max ? max : ms * 2;
}

int bwe_pick_layer(struct bwe *b, const double *rates_kbps, const bool *costly, int n,
                   int64_t now_ms)
{
    if (n <= 0)
        return 0;
    if (n > BWE_MAX_LAYERS)
        n = BWE_MAX_LAYERS;
    double est = bwe_estimate(b);
    int cur = b->layer < 0 ? 0 : b->layer >= n ? n - 1 : b->layer;
    bool failed = b->stepped_up && now_ms - b->up_at_ms < BWE_UP_FAILED_MS;
    if (b->stepped_up && !failed && b->layer >= b->failed_layer) {
        /* It held, at or above the layer that failed last: the next try
         * comes soon. (Holding a lower one says nothing about that one.) */
        b->up_hold_ms = BWE_UP_HOLD_MS;
        b->costly_hold_ms = BWE_UP_HOLD_COSTLY_MS;
        b->failed_layer = BWE_MAX_LAYERS;
    }
    if (cur > 0 && DOWN_MARGIN * rates_kbps[cur] > est) {
        int l = cur - 1;
        if (failed) {
            /* Back to the rung that worked, and wait longer next time. */
            b->failed_layer = cur;
            if (costly && costly[cur])
                b->costly_hold_ms = doubled(b->costly_hold_ms, BWE_UP_HOLD_COSTLY_MAX_MS);
            else
                b->up_hold_ms = doubled(b->up_hold_ms, BWE_UP_HOLD_MAX_MS);
        } else {
            while (l > 0 && DOWN_MARGIN * rates_kbps[l] > est)
                l--;
        }
        cur = l;
        b->up_pending = false;
        b->stepped_up = false;
        b->downs++;
    } else if (cur < n - 1 &&
               (est >= UP_MARGIN * rates_kbps[cur + 1] || proven(b, rates_kbps, cur + 1, now_ms) ||
                /* A probe by stepping up, where that is cheap (the same
                 * encoder: no keyframe) and small (the estimate covers
                 * it, or nothing can pad): the link shows room (the
                 * estimate stands well above what arrives) that only
                 * sending more can measure. Other steps are probed with
                 * padding first (bwe_probe). */
                (!padded_step(b, rates_kbps, costly, cur + 1, est) && b->recv_avg_kbps > 0 &&
                 est >= PROBE_HEADROOM * b->recv_avg_kbps))) {
        int64_t hold = b->up_hold_ms;
        if (!b->up_pending) {
            b->up_pending = true;
            b->up_since_ms = now_ms;
        }
        if (now_ms - b->up_since_ms >= hold) {
            cur++;
            /* A probe runs at the next layer's rate: the estimate is raised
             * to it, and the next overuse or loss (a queue the probe built)
             * brings it down and the layer with it. */
            double probe = fmin(rates_kbps[cur], b->ceiling_kbps);
            b->delay_kbps = fmax(b->delay_kbps, probe);
            b->loss_kbps = fmax(b->loss_kbps, probe);
            b->up_pending = false;
            b->stepped_up = true;
            b->up_at_ms = now_ms;
            b->ups++;
        }
    } else {
        b->up_pending = false;
    }
    b->layer = cur;
    return cur;
}

double bwe_probe(struct bwe *b, const double *rates_kbps, const bool *costly, int n,
                 int64_t now_ms)
{
    if (n > BWE_MAX_LAYERS)
        n = BWE_MAX_LAYERS;
    int cur = b->layer < 0 ? 0 : b->layer >= n ? n - 1 : b->layer;
    if (b->probing) {
        /* A window over the threshold ends it at once: the queue it builds
         * delays the media too. */
        bool hurt = b->overusing > 0 || (b->decreased && b->decrease_ms >= b->probe_start_ms) ||
                    b->probe_capped;
        if (!hurt && now_ms < b->probe_start_ms + BWE_PROBE_MS)
            return b->probe_kbps;
        /* Done: it worked when nothing dropped the estimate meanwhile and
         * what arrived came near the rate probed for. */
        b->probing = false;
        b->probes++;
        double got = b->probe_windows ? b->probe_recv_sum / b->probe_windows : 0;
        double before = bwe_estimate(b);
        b->probe_got_kbps = got;
        if (b->probe_capped && got > 0) {
            /* The link carried got while more was sent: that is its rate
             * now, and growth from it is additive (GCC's "near"). Without
             * this the estimate grew back past the next rung within
             * seconds and the media stepped up into the full queue. */
            b->delay_kbps = clamp(fmin(b->delay_kbps, got), b->floor_kbps, b->ceiling_kbps);
            b->last_drop_kbps = got;
        }
        if (!hurt) {
            /* What arrived without a queue, the link carries (libwebrtc
             * takes a probe's result likewise), even short of the target. */
            b->delay_kbps = clamp(fmax(b->delay_kbps, got), b->floor_kbps, b->ceiling_kbps);
            b->loss_kbps = clamp(fmax(b->loss_kbps, got), b->floor_kbps, b->ceiling_kbps);
        }
        if (!hurt && got >= PROBE_SUCCESS * b->probe_target_kbps) {
            b->costly_hold_ms = BWE_PROBE_FOLLOWUP_MS; /* the next, higher, soon */
            b->proven_layer = b->probe_layer;
            b->proven_ms = now_ms;
            /* The link changed since cheap steps up last failed: they
             * need not wait out that backoff. */
            b->up_hold_ms = BWE_UP_HOLD_MS;
            b->failed_layer = BWE_MAX_LAYERS;
            b->probe_successes++;
        } else if (!hurt && got >= PROBE_PROGRESS * before) {
            b->costly_hold_ms = BWE_PROBE_FOLLOWUP_MS; /* short, but the link has room */
        } else {
            b->costly_hold_ms = b->costly_hold_ms < BWE_UP_HOLD_COSTLY_MS
                                    ? BWE_UP_HOLD_COSTLY_MS
                                    : doubled(b->costly_hold_ms, BWE_UP_HOLD_COSTLY_MAX_MS);
        }
        b->probe_end_ms = now_ms;
        return 0;
    }
    double est = bwe_estimate(b);
    if (cur >= n - 1 || b->recv_avg_kbps <= 0 || !padded_step(b, rates_kbps, costly, cur + 1, est) ||
        proven(b, rates_kbps, cur + 1, now_ms))
        return 0;
    double media = b->media_avg_kbps > 0 ? b->media_avg_kbps : b->recv_avg_kbps;
    /* Aim at the next layer, but at most half again above the estimate:
     * a link that has no room is overrun by a third, not by double, and
     * one that has climbs in a few probes (libwebrtc probes likewise);
     * never above the ceiling (the top layer's rate). */
    double target = fmin(fmin(PROBE_TARGET * rates_kbps[cur + 1], PROBE_GROWTH * est),
                         b->ceiling_kbps);
    if (est >= UP_MARGIN * rates_kbps[cur + 1] || est < PROBE_HEADROOM * media ||
        target < PROBE_HEADROOM * media || now_ms - b->probe_end_ms < b->costly_hold_ms ||
        (b->decreased && now_ms - b->decrease_ms < b->costly_hold_ms))
        return 0;
    b->probing = true;
    b->probe_layer = cur + 1;
    b->probe_start_ms = now_ms;
    b->probe_target_kbps = target;
    b->probe_kbps = target - media;
    b->probe_recv_sum = b->probe_sent_sum = 0;
    b->probe_capped = false;
    b->probe_windows = 0;
    return b->probe_kbps;
}
