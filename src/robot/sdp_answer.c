/* sdp_answer.c - checks a viewer's SDP answer and filters its candidates. */
#include "robot/sdp_answer.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "robot/candidate.h"

/* An attribute of the m-line, or else of the session. */
static const char *sdp_attr(const GstSDPMessage *sdp, const GstSDPMedia *media, const char *key)
{
    const char *v = gst_sdp_media_get_attribute_val(media, key);
    return v ? v : gst_sdp_message_get_attribute_val(sdp, key);
}

/* Checks m-line i of the answer against the offer's. Returns 0, or -1
 * with the reason in err. */
static int check_media(const struct sdp_answer_offer *offer, const GstSDPMessage *sdp, guint i,
                       char *err, size_t errlen)
{
    const GstSDPMedia *media = gst_sdp_message_get_media(sdp, i);
    const char *kind = gst_sdp_media_get_media(media);
    const char *want = i < SDP_ANSWER_MAX_MEDIA ? offer->kinds[i] : NULL;
    if (!kind || !want || strcmp(kind, want) != 0) {
        snprintf(err, errlen, "m-line %u of the answer is '%s'; the offer had '%s'", i,
                 kind ? kind : "", want ? want : "");
        return -1;
    }
    bool video = strcmp(kind, "video") == 0;
    if (gst_sdp_media_get_port(media) == 0 && video) {
        snprintf(err, errlen, "the answer rejects video m-line %u (port 0)", i);
        return -1;
    }
    if (!sdp_attr(sdp, media, "ice-ufrag") || !sdp_attr(sdp, media, "ice-pwd")) {
        snprintf(err, errlen, "m-line %u of the answer has no ICE credentials "
                 "(a=ice-ufrag, a=ice-pwd)", i);
        return -1;
    }
    if (!sdp_attr(sdp, media, "fingerprint")) {
        snprintf(err, errlen, "m-line %u of the answer has no DTLS fingerprint", i);
        return -1;
    }
    if (video && gst_sdp_media_formats_len(media) == 0) {
        snprintf(err, errlen, "video m-line %u of the answer lists no payload type", i);
        return -1;
    }
    return 0;
}

/* A value too long for line is cut, and then refused by the gate for its
 * length. */
void sdp_answer_filter_candidates(GstSDPMedia *media, struct icegate *gate)
{
    for (guint k = 0; k < gst_sdp_media_attributes_len(media);) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(media, k);
        if (!a->key || strcmp(a->key, "candidate") != 0) {
            k++;
            continue;
        }
        char line[CANDIDATE_LINE_MAX + 16], text[CANDIDATE_TEXT_MAX], why[192];
        snprintf(line, sizeof line, "candidate:%s", a->value ? a->value : "");
        if (icegate_admit(gate, line, text, sizeof text, why, sizeof why) != ICEGATE_ADMIT) {
            gst_sdp_media_remove_attribute(media, k);
            continue;
        }
        GstSDPAttribute canonical;
        gst_sdp_attribute_set(&canonical, "candidate", text + strlen("candidate:"));
        gst_sdp_media_replace_attribute(media, k, &canonical); /* takes canonical's strings */
        k++;
    }
}

GstSDPMessage *sdp_answer_check(const struct sdp_answer_offer *offer, const char *text,
                                size_t max_bytes, struct icegate *gate, char *err,
                                size_t errlen)
{
    if (offer->nmedia == 0) {
        snprintf(err, errlen, "no offer has been sent yet");
        return NULL;
    }
    size_t len = strlen(text);
    if (len > max_bytes) {
        snprintf(err, errlen, "the answer SDP is %zu bytes; at most %zu are accepted", len,
                 max_bytes);
        return NULL;
    }
    if (strncmp(text, "v=0", 3) != 0) {
        snprintf(err, errlen, "the answer is not SDP: it must start with 'v=0'");
        return NULL;
    }
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK) {
        /* GStreamer 1.22 parses any non-empty text; kept for later versions. */
        if (sdp)
            gst_sdp_message_free(sdp);
        snprintf(err, errlen, "the answer SDP cannot be parsed");
        return NULL;
    }
    guint n = gst_sdp_message_medias_len(sdp);
    if (n != offer->nmedia) {
        snprintf(err, errlen, "the answer has %u m-lines; the offer had %zu", n, offer->nmedia);
        gst_sdp_message_free(sdp);
        return NULL;
    }
    for (guint i = 0; i < n; i++) {
        if (check_media(offer, sdp, i, err, errlen) < 0) {
            gst_sdp_message_free(sdp);
            return NULL;
        }
    }
    for (guint i = 0; i < n; i++)
        sdp_answer_filter_candidates((GstSDPMedia *)gst_sdp_message_get_media(sdp, i), gate);
    return sdp;
}
