/* peer_candidates.c - a peer's candidates: the viewer's, through the gate
 * (and relayed ones held back a moment), and ours, spliced into the offer
 * for REST clients that cannot trickle. */
#include "robot/peer_internal.h"

#include <nice/agent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/candidate.h"

/* A viewer's relayed candidates wait this long (hold_relayed, hold_until),
 * looked at every PEER_RELAY_POLL_MS meanwhile (poll_held: the end can
 * move while they wait). */
#define PEER_RELAY_HOLD_MS 250
#define PEER_RELAY_POLL_MS 10

/* Adds the held candidates now (the timer's or release_now's). */
static void add_held(struct peer *p)
{
    for (guint i = 0; !p->closed && i < p->held->len; i++) {
        const char *s = g_ptr_array_index(p->held, i);
        g_signal_emit_by_name(p->webrtc, "add-ice-candidate", (guint)strtoul(s, NULL, 10),
                              strchr(s, '\n') + 1);
    }
    g_ptr_array_set_size(p->held, 0);
}

/* When the hold ends at the latest: PEER_RELAY_HOLD_MS after both sides'
 * direct candidates are out: the viewer's first one, our first one and our
 * srflx one (a direct path through two NATs needs both sides'). On a
 * loaded machine the lab's browser-srflx case was relayed when the hold
 * counted from the viewer's candidate alone: our srflx candidate (libnice
 * resolves the STUN server on its own context) came 250 ms after our host
 * one, and once all of ours came 900 ms after the viewer's, so the hold
 * ended before the viewer could check the direct path. Until our first
 * candidate is out, the hold goes on (for 4 holds at most: a robot that
 * gathers nothing must not hold for ever). */
static gint64 hold_until(const struct peer *p)
{
    if (!p->local_first_us)
        return p->direct_since_us + 4 * PEER_RELAY_HOLD_MS * 1000;
    gint64 base = MAX(p->direct_since_us, MAX(p->local_first_us, p->srflx_sent_us));
    return base + PEER_RELAY_HOLD_MS * 1000;
}

/* The hold's timer, every PEER_RELAY_POLL_MS: the held candidates go in
 * once hold_until has passed. */
static gboolean poll_held(gpointer data)
{
    struct peer *p = data;
    if (!p->closed && g_get_monotonic_time() < hold_until(p) && p->held->len)
        return G_SOURCE_CONTINUE;
    g_source_unref(p->hold);
    p->hold = NULL;
    add_held(p);
    return G_SOURCE_REMOVE;
}

/* "IP PORT" of a candidate line, or NULL. */
static char *candidate_address(const char *candidate)
{
    gchar **f = g_strsplit(candidate, " ", 8);
    char *addr = g_strv_length(f) >= 6 ? g_strdup_printf("%s %s", f[4], f[5]) : NULL;
    g_strfreev(f);
    return addr;
}

static bool same_ip(const char *a, const char *b)
{
    size_t n = strcspn(a, " ");
    return n == strcspn(b, " ") && strncmp(a, b, n) == 0;
}

/* A viewer behind a symmetric NAT (one public port per destination) has no
 * direct path through a port-restricted NAT or another symmetric one, so
 * holding its relayed candidates only delays the session (PERFORMANCE.md:
 * up to 250 ms of the relay path's first frame). libnice learns the
 * address its NAT mapped towards us from the viewer's checks (a
 * peer-reflexive candidate, directly or through our TURN relay); when that
 * address has the IP of one of the viewer's srflx candidates (the mapping
 * towards its STUN server) and none of their ports, the NAT is symmetric:
 * release the held candidates at once. Behind a cone NAT the two mappings
 * are one, so nothing changes there (a check that arrives before the srflx
 * candidate is judged when it comes). */
static void release_if_symmetric(struct peer *p)
{
    if (!p->held->len)
        return;
    for (guint i = 0; i < p->prflx->len; i++) {
        const char *pr = g_ptr_array_index(p->prflx, i);
        bool ip_known = false, port_known = false;
        for (guint j = 0; j < p->srflx->len; j++) {
            const char *sr = g_ptr_array_index(p->srflx, j);
            if (same_ip(pr, sr)) {
                ip_known = true;
                port_known = port_known || strcmp(pr, sr) == 0;
            }
        }
        if (ip_known && !port_known) {
            log_info("peer %s: the viewer's NAT is symmetric (%s): its relayed candidates go in now",
                      p->session_id, pr);
            add_held(p);
            return;
        }
    }
}

struct prflx_event {
    struct peer *p;
    char *addr; /* "IP PORT" */
};

static void prflx_event_free(gpointer data)
{
    struct prflx_event *ev = data;
    peer__unref(ev->p);
    g_free(ev->addr);
    g_free(ev);
}

static gboolean on_prflx_main(gpointer data)
{
    struct prflx_event *ev = data;
    struct peer *p = ev->p;
    if (!p->closed && p->prflx->len < 64) {
        g_ptr_array_add(p->prflx, ev->addr);
        ev->addr = NULL;
        release_if_symmetric(p);
    }
    return G_SOURCE_REMOVE;
}

/* libnice's "new-remote-candidate-full", on its own thread: a
 * peer-reflexive address goes to the main context (with a reference). */
static void on_remote_candidate(NiceAgent *agent, NiceCandidate *c, gpointer data)
{
    (void)agent;
    struct peer *p = data;
    if (c->type != NICE_CANDIDATE_TYPE_PEER_REFLEXIVE || p->closed)
        return;
    char ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&c->addr, ip);
    struct prflx_event *ev = g_new0(struct prflx_event, 1);
    ev->p = peer__ref(p);
    ev->addr = g_strdup_printf("%s %u", ip, nice_address_get_port(&c->addr));
    GSource *src = g_idle_source_new();
    g_source_set_callback(src, on_prflx_main, ev, prflx_event_free);
    g_source_attach(src, p->ctx);
    g_source_unref(src);
}

/* The handler's reference on the peer, dropped once it is disconnected
 * and no emission on libnice's thread is still running it. */
static void unref_notify(gpointer data, GClosure *closure)
{
    (void)closure;
    peer__unref(data);
}

void peer__watch_ice(struct peer *p)
{
    p->srflx = g_ptr_array_new_with_free_func(g_free);
    p->prflx = g_ptr_array_new_with_free_func(g_free);
    GObject *ice = NULL;
    g_object_get(p->webrtc, "ice-agent", &ice, NULL);
    if (ice && g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        g_object_get(ice, "agent", &p->nice, NULL);
    if (ice)
        g_object_unref(ice);
    /* libnice emits on its own thread, which outlives the pipeline's
     * stop (peer_free): a plain pointer could be freed under a running
     * handler, so the handler holds a reference. */
    if (p->nice)
        g_signal_connect_data(p->nice, "new-remote-candidate-full",
                              G_CALLBACK(on_remote_candidate), peer__ref(p), unref_notify, 0);
}

void peer__unwatch_ice(struct peer *p)
{
    if (p->nice) {
        g_signal_handlers_disconnect_by_data(p->nice, p);
        g_object_unref(p->nice);
        p->nice = NULL;
    }
}

void peer__forget_viewer(struct peer *p)
{
    g_ptr_array_set_size(p->held, 0);
    g_ptr_array_set_size(p->srflx, 0);
    g_ptr_array_set_size(p->prflx, 0);
    p->direct_since_us = 0;
}

/* libnice, controlling (we offer), nominates as soon as two pairs are
 * valid. A pair with the viewer's relayed candidate is valid within a round
 * trip (TURN permissions are per IP address), while a direct pair through
 * two port-restricted NATs waits until the viewer's own check has opened
 * its NAT. Chromium paces its checks about 50 ms apart, and so was relayed
 * in a quarter to half of the sessions through two cone NATs in the lab
 * (tests/netlab, browser-srflx) although the direct path worked; with its
 * relayed candidates held 150 ms, in 1 of 8; held 300 ms, in none of 8,
 * for about 100 ms more to the first frame of a session relayed anyway
 * (symmetric NATs). So a viewer's relayed candidates wait (hold_until:
 * PEER_RELAY_HOLD_MS after both sides' direct candidates are out; less
 * when release_if_symmetric sees a symmetric NAT); a viewer that
 * sends only relayed ones (forced relay) waits for nothing. Returns true
 * when candidate was held; poll_held adds it. */
static bool hold_relayed(struct peer *p, unsigned mline, const char *candidate)
{
    /* Answering (the viewer offered), libnice is the controlled agent: the
     * viewer nominates, at once and later a better pair (libwebrtc), so
     * holding would only slow the relayed path. */
    if (p->answering)
        return false;
    gint64 now = g_get_monotonic_time();
    if (!strstr(candidate, " typ relay")) {
        if (!p->direct_since_us)
            p->direct_since_us = now;
        char *addr = strstr(candidate, " typ srflx") && p->srflx->len < 16
                         ? candidate_address(candidate) : NULL;
        if (addr) {
            g_ptr_array_add(p->srflx, addr);
            release_if_symmetric(p);
        }
        return false;
    }
    if (!p->direct_since_us || now >= hold_until(p))
        return false;
    g_ptr_array_add(p->held, g_strdup_printf("%u\n%s", mline, candidate));
    if (!p->hold) {
        p->hold = g_timeout_source_new(PEER_RELAY_POLL_MS);
        g_source_set_callback(p->hold, poll_held, peer__ref(p), peer__unref);
        g_source_attach(p->hold, p->ctx);
    }
    return true;
}

int peer_add_candidate(struct peer *p, const char *candidate, int mline, const char *mid,
                       char *err, size_t errlen)
{
    if (!candidate || !*candidate)
        return 0;
    if (mline < 0 && mid) {
        for (size_t i = 0; i < p->nmedia; i++)
            if (p->mids[i] && strcmp(p->mids[i], mid) == 0)
                mline = (int)i;
    }
    if (mline < 0 || (p->nmedia && (size_t)mline >= p->nmedia) || mline >= PEER_MAX_MEDIA) {
        snprintf(err, errlen, "the candidate names no m-line of the offer (sdpMLineIndex %d, sdpMid '%s')",
                 mline, mid ? mid : "");
        return -1;
    }
    char text[CANDIDATE_TEXT_MAX], why[192];
    switch (icegate_admit(&p->gate, candidate, text, sizeof text, why, sizeof why)) {
    case ICEGATE_MALFORMED:
        snprintf(err, errlen, "malformed ICE candidate: %s", why);
        return -1;
    case ICEGATE_REFUSED:
        return 1;
    case ICEGATE_ADMIT:
        break;
    }
    if (!hold_relayed(p, (unsigned)mline, text))
        g_signal_emit_by_name(p->webrtc, "add-ice-candidate", (guint)mline, text);
    return 0;
}

void peer_candidate_counts(const struct peer *p, size_t *admitted, size_t *refused)
{
    *admitted = p->gate.admitted;
    *refused = p->gate.refused;
}

char *peer_offer_with_candidates(const struct peer *p, size_t *ncandidates)
{
    *ncandidates = p->local->len;
    if (!p->offer)
        return NULL;
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(p->offer, &sdp) != GST_SDP_OK)
        return g_strdup(p->offer);
    guint nmedia = gst_sdp_message_medias_len(sdp);
    for (guint i = 0; i < p->local->len; i++) {
        const struct local_candidate *c = &g_array_index(p->local, struct local_candidate, i);
        if (c->mline < nmedia && g_str_has_prefix(c->line, "candidate:"))
            gst_sdp_media_add_attribute((GstSDPMedia *)gst_sdp_message_get_media(sdp, c->mline),
                                        "candidate", c->line + strlen("candidate:"));
    }
    if (p->gathered)
        for (guint i = 0; i < nmedia; i++)
            gst_sdp_media_add_attribute((GstSDPMedia *)gst_sdp_message_get_media(sdp, i),
                                        "end-of-candidates", NULL);
    char *text = gst_sdp_message_as_text(sdp);
    gst_sdp_message_free(sdp);
    return text;
}

/* ---- our own candidates ---- */

/* Notes when our first candidate and our first srflx one went out
 * (hold_until counts from them). */
void peer__send_local(struct peer *p, unsigned mline, const char *candidate)
{
    gint64 now = g_get_monotonic_time();
    if (candidate && !p->local_first_us)
        p->local_first_us = now;
    if (candidate && strstr(candidate, " typ srflx") && !p->srflx_sent_us)
        p->srflx_sent_us = now;
    const char *mid = mline < p->nmedia ? p->mids[mline] : NULL;
    p->cb.on_candidate(p->user, p, mline, candidate ? mid : NULL, candidate);
}
