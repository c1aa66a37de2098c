/* peer_candidates.c - a peer's candidates: the viewer's, through the gate
 * (and relayed ones held back a moment), and ours, spliced into the offer
 * for REST clients that cannot trickle. */
#include "robot/peer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/candidate.h"

/* A viewer's relayed candidates wait this long after its first direct one
 * (hold_relayed). */
#define PEER_RELAY_HOLD_MS 250

static gboolean release_held(gpointer data)
{
    struct peer *p = data;
    g_source_unref(p->hold);
    p->hold = NULL;
    for (guint i = 0; !p->closed && i < p->held->len; i++) {
        const char *s = g_ptr_array_index(p->held, i);
        g_signal_emit_by_name(p->webrtc, "add-ice-candidate", (guint)strtoul(s, NULL, 10),
                              strchr(s, '\n') + 1);
    }
    g_ptr_array_set_size(p->held, 0);
    return G_SOURCE_REMOVE;
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
 * (symmetric NATs). So a viewer's relayed candidates wait until
 * PEER_RELAY_HOLD_MS after its first direct one; a viewer that sends only
 * relayed ones (forced relay) waits for nothing. Returns true when
 * candidate was held; release_held adds it. */
static bool hold_relayed(struct peer *p, unsigned mline, const char *candidate)
{
    gint64 now = g_get_monotonic_time();
    if (!strstr(candidate, " typ relay")) {
        if (!p->direct_since_us)
            p->direct_since_us = now;
        return false;
    }
    gint64 until = p->direct_since_us + PEER_RELAY_HOLD_MS * 1000;
    if (!p->direct_since_us || now >= until)
        return false;
    g_ptr_array_add(p->held, g_strdup_printf("%u\n%s", mline, candidate));
    if (!p->hold) {
        p->hold = g_timeout_source_new((guint)((until - now + 999) / 1000));
        g_source_set_callback(p->hold, release_held, peer__ref(p), peer__unref);
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
