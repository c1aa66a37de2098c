/* sdp_offer.c - checks a viewer's SDP offer and filters its candidates. */
#include "robot/sdp_offer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "robot/sdp_answer.h"

/* An attribute of the m-line, or else of the session. */
static const char *sdp_attr(const GstSDPMessage *sdp, const GstSDPMedia *media, const char *key)
{
    const char *v = gst_sdp_media_get_attribute_val(media, key);
    return v ? v : gst_sdp_message_get_attribute_val(sdp, key);
}

/* True when the m-line lets the viewer receive: a=recvonly or a=sendrecv
 * (the default when neither is given), on the m-line or the session. */
static bool receives(const GstSDPMessage *sdp, const GstSDPMedia *media)
{
    if (gst_sdp_media_get_attribute_val(media, "sendonly") ||
        gst_sdp_media_get_attribute_val(media, "inactive"))
        return false;
    if (gst_sdp_media_get_attribute_val(media, "recvonly") ||
        gst_sdp_media_get_attribute_val(media, "sendrecv"))
        return true;
    return !gst_sdp_message_get_attribute_val(sdp, "sendonly") &&
           !gst_sdp_message_get_attribute_val(sdp, "inactive");
}

/* The a=fmtp parameters of payload type pt on media, or "". */
static const char *fmtp_of(const GstSDPMedia *media, int pt)
{
    for (guint k = 0;; k++) {
        const char *v = gst_sdp_media_get_attribute_val_n(media, "fmtp", k);
        if (!v)
            return "";
        char *end;
        long n = strtol(v, &end, 10);
        if (end != v && n == pt && *end == ' ')
            return end + 1;
    }
}

/* How well payload type pt of media suits encoding: 0 not at all, 1 it is
 * the codec, 2 it is the codec as the robot sends it best (for H264:
 * constrained baseline). */
static int codec_score(const GstSDPMedia *media, int pt, const char *encoding)
{
    char want[32];
    snprintf(want, sizeof want, "%s/90000", encoding);
    for (guint k = 0;; k++) {
        const char *v = gst_sdp_media_get_attribute_val_n(media, "rtpmap", k);
        if (!v)
            return 0;
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v || n != pt || *end != ' ')
            continue;
        if (strcasecmp(end + 1, want) != 0)
            return 0;
        if (strcasecmp(encoding, "H264") != 0)
            return 2;
        const char *f = fmtp_of(media, pt);
        if (!strstr(f, "packetization-mode=1"))
            return 0;
        return strstr(f, "profile-level-id=42e0") || strstr(f, "profile-level-id=4200") ? 2 : 1;
    }
}

/* The payload type of media to send encoding with, or -1. */
static int choose_pt(const GstSDPMedia *media, const char *encoding)
{
    int best = -1, best_score = 0;
    for (guint f = 0; f < gst_sdp_media_formats_len(media); f++) {
        const char *fmt = gst_sdp_media_get_format(media, f);
        char *end;
        long pt = fmt ? strtol(fmt, &end, 10) : -1;
        if (!fmt || end == fmt || *end || pt < 0 || pt > 127)
            continue;
        int score = codec_score(media, (int)pt, encoding);
        if (score > best_score) {
            best = (int)pt;
            best_score = score;
        }
    }
    return best;
}

/* The id of "a=extmap:ID[/DIR] SDP_TWCC_URI" on media (1..14, the one-byte
 * form WebRTC uses), or 0. The answer must keep the offer's ids. */
static int twcc_id(const GstSDPMedia *media)
{
    for (guint k = 0; k < gst_sdp_media_attributes_len(media); k++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(media, k);
        if (!a->key || strcmp(a->key, "extmap") != 0 || !a->value)
            continue;
        char *end = NULL;
        long id = strtol(a->value, &end, 10);
        if (end == a->value || id < 1 || id > 14)
            continue;
        if (*end == '/')
            end += strcspn(end, " ");
        if (*end == ' ' && strncmp(end + 1, SDP_TWCC_URI, strlen(SDP_TWCC_URI)) == 0 &&
            (end[1 + strlen(SDP_TWCC_URI)] == '\0' || end[1 + strlen(SDP_TWCC_URI)] == ' '))
            return (int)id;
    }
    return 0;
}

/* True when media's mid is in an a=group:BUNDLE line other than as its
 * first (the tag, whose m-line carries the group's transport). */
static bool bundled_after_tag(const GstSDPMessage *sdp, const GstSDPMedia *media)
{
    const char *mid = gst_sdp_media_get_attribute_val(media, "mid");
    if (!mid || !*mid)
        return false;
    for (guint i = 0; i < gst_sdp_message_attributes_len(sdp); i++) {
        const GstSDPAttribute *a = gst_sdp_message_get_attribute(sdp, i);
        if (!a->key || strcmp(a->key, "group") != 0 || !a->value ||
            strncmp(a->value, "BUNDLE ", 7) != 0)
            continue;
        gchar **ids = g_strsplit(a->value + 7, " ", -1);
        bool found = false;
        for (guint k = 1; ids[0] && ids[k] && !found; k++)
            found = strcmp(ids[k], mid) == 0;
        g_strfreev(ids);
        if (found)
            return true;
    }
    return false;
}

/* Checks each m-line and notes the usable video ones in info. Returns 0,
 * or -1 with err. */
static int check_medias(const GstSDPMessage *sdp, const char *encoding,
                        struct sdp_offer_info *info, char *err, size_t errlen)
{
    for (guint i = 0; i < info->nmedia; i++) {
        const GstSDPMedia *media = gst_sdp_message_get_media(sdp, i);
        const char *kind = gst_sdp_media_get_media(media);
        /* Port 0 is an m-line the viewer rejected itself, unless it is
         * bundle-only (RFC 8843: GStreamer's max-bundle offers mark every
         * m-line after the first so), which rides on the BUNDLE group's
         * transport and may carry no transport attributes of its own. */
        bool bundle_only = gst_sdp_media_get_attribute_val(media, "bundle-only") != NULL;
        if (gst_sdp_media_get_port(media) == 0 && !bundle_only)
            continue;
        if (bundle_only && !bundled_after_tag(sdp, media)) {
            snprintf(err, errlen, "m-line %u of the offer is bundle-only but not in a BUNDLE "
                     "group after its first m-line", i);
            return -1;
        }
        if (!bundle_only &&
            (!sdp_attr(sdp, media, "ice-ufrag") || !sdp_attr(sdp, media, "ice-pwd"))) {
            snprintf(err, errlen, "m-line %u of the offer has no ICE credentials "
                     "(a=ice-ufrag, a=ice-pwd)", i);
            return -1;
        }
        if (!bundle_only && !sdp_attr(sdp, media, "fingerprint")) {
            snprintf(err, errlen, "m-line %u of the offer has no DTLS fingerprint", i);
            return -1;
        }
        if (kind && strcmp(kind, "application") == 0)
            info->application = true;
        if (!kind || strcmp(kind, "video") != 0 || !receives(sdp, media))
            continue;
        int pt = choose_pt(media, encoding);
        if (pt < 0 || info->nusable == SDP_OFFER_MAX_TRACKS)
            continue;
        info->mline[info->nusable] = (int)i;
        info->pt[info->nusable] = pt;
        info->twcc[info->nusable] = twcc_id(media);
        info->nusable++;
    }
    return 0;
}

GstSDPMessage *sdp_offer_check(const char *text, size_t max_bytes, const char *encoding,
                               size_t nstreams, struct icegate *gate,
                               struct sdp_offer_info *info, char *err, size_t errlen)
{
    *info = (struct sdp_offer_info){.nmedia = 0};
    size_t len = strlen(text);
    if (len > max_bytes) {
        snprintf(err, errlen, "the offer SDP is %zu bytes; at most %zu are accepted", len,
                 max_bytes);
        return NULL;
    }
    if (strncmp(text, "v=0", 3) != 0) {
        snprintf(err, errlen, "the offer is not SDP: it must start with 'v=0'");
        return NULL;
    }
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK) {
        if (sdp)
            gst_sdp_message_free(sdp);
        snprintf(err, errlen, "the offer SDP cannot be parsed");
        return NULL;
    }
    info->nmedia = gst_sdp_message_medias_len(sdp);
    if (info->nmedia == 0 || info->nmedia > SDP_OFFER_MAX_MEDIA) {
        if (info->nmedia == 0)
            snprintf(err, errlen, "the offer has no m-line");
        else
            snprintf(err, errlen, "the offer has %zu m-lines; at most %d are accepted",
                     info->nmedia, SDP_OFFER_MAX_MEDIA);
        gst_sdp_message_free(sdp);
        return NULL;
    }
    if (check_medias(sdp, encoding, info, err, errlen) < 0) {
        gst_sdp_message_free(sdp);
        return NULL;
    }
    if (info->nusable == 0 || info->nusable < nstreams) {
        if (info->nusable == 0)
            snprintf(err, errlen, "the offer has no video m-line the robot can send %s on "
                     "(a=recvonly or a=sendrecv, port not 0, listing %s/90000)", encoding,
                     encoding);
        else
            snprintf(err, errlen, "the offer has %zu video m-line%s the robot can send on; %zu "
                     "stream%s were asked for", info->nusable, info->nusable == 1 ? "" : "s",
                     nstreams, nstreams == 1 ? "" : "s");
        gst_sdp_message_free(sdp);
        return NULL;
    }
    for (guint i = 0; gate && i < info->nmedia; i++)
        sdp_answer_filter_candidates((GstSDPMedia *)gst_sdp_message_get_media(sdp, i), gate);
    return sdp;
}
