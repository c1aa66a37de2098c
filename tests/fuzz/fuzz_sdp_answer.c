/* fuzz_sdp_answer.c - libFuzzer entry: the check of a viewer's SDP answer
 * (sdp_answer.c). The first byte of each input picks the offer (1 to 4
 * video m-lines and the data channel), the ICE allow-list and the size
 * limit; the rest is the answer, read up to its first NUL as the robot
 * reads it. An accepted answer must satisfy everything sdp_answer.h
 * promises (checked here again, independently), differ from the parsed text
 * only in its candidates, which must be exactly the canonical texts of those
 * a second, identical gate admits in the same order (icegate.h); a refused
 * one must carry a reason of the documented kinds. Sanitizers catch the
 * rest.
 * Build and run: make fuzz (clang, -fsanitize=fuzzer,address,undefined). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/candidate.h"
#include "robot/icegate.h"
#include "robot/sdp_answer.h"

static const char *const allow_texts[] = {"127.0.0.1,::1", "", "10.0.0.0/8,fd00::/8,::1",
                                          "192.0.2.7"};
static const size_t limits[] = {64 * 1024, 4096, 512, 64};

/* The reasons sdp_answer.h lists, by how they start. */
static const char *const reason_starts[] = {
    "no offer has been sent yet",     "the answer SDP is ", "the answer is not SDP",
    "the answer SDP cannot be parsed", "the answer has ",    "m-line ",
    "the answer rejects video m-line ", "video m-line ",
};

static const char *attr(const GstSDPMessage *sdp, const GstSDPMedia *m, const char *key)
{
    const char *v = gst_sdp_media_get_attribute_val(m, key);
    return v ? v : gst_sdp_message_get_attribute_val(sdp, key);
}

static bool is_candidate(const GstSDPAttribute *a)
{
    return a->key && strcmp(a->key, "candidate") == 0;
}

/* Same key and value (both may be NULL). */
static bool same_attr(const GstSDPAttribute *a, const GstSDPAttribute *b)
{
    return g_strcmp0(a->key, b->key) == 0 && g_strcmp0(a->value, b->value) == 0;
}

/* out is in with each candidate replaced by what replay (a gate in the
 * state the checked one had before this m-line) admits, or dropped. */
static void check_filtered(const GstSDPMedia *in, const GstSDPMedia *out, struct icegate *replay)
{
    guint j = 0, nout = gst_sdp_media_attributes_len(out);
    for (guint k = 0; k < gst_sdp_media_attributes_len(in); k++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(in, k);
        if (!is_candidate(a)) {
            if (j >= nout || !same_attr(a, gst_sdp_media_get_attribute(out, j)))
                abort(); /* something else than a candidate changed */
            j++;
            continue;
        }
        char line[CANDIDATE_LINE_MAX + 16], text[CANDIDATE_TEXT_MAX], why[192];
        snprintf(line, sizeof line, "candidate:%s", a->value ? a->value : "");
        if (icegate_admit(replay, line, text, sizeof text, why, sizeof why) != ICEGATE_ADMIT)
            continue; /* must be dropped */
        const GstSDPAttribute *o = j < nout ? gst_sdp_media_get_attribute(out, j) : NULL;
        if (!o || !is_candidate(o) || g_strcmp0(o->value, text + strlen("candidate:")) != 0)
            abort(); /* an admitted candidate not kept in its canonical text */
        j++;
    }
    if (j != nout)
        abort(); /* something added */
}

static void check_accepted(const struct sdp_answer_offer *offer, const char *text, size_t max,
                           const struct netlist *allow, size_t cap, const GstSDPMessage *sdp)
{
    if (strlen(text) > max || strncmp(text, "v=0", 3) != 0)
        abort();
    if (gst_sdp_message_medias_len(sdp) != offer->nmedia)
        abort();
    GstSDPMessage *plain = NULL;
    if (gst_sdp_message_new_from_text(text, &plain) != GST_SDP_OK)
        abort();
    if (gst_sdp_message_attributes_len(plain) != gst_sdp_message_attributes_len(sdp))
        abort(); /* the session level is never filtered */
    struct icegate replay;
    icegate_init(&replay, allow, cap, "replay");
    for (guint i = 0; i < offer->nmedia; i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
        const char *kind = gst_sdp_media_get_media(m);
        if (!kind || !offer->kinds[i] || strcmp(kind, offer->kinds[i]) != 0)
            abort();
        bool video = strcmp(kind, "video") == 0;
        if (video && (gst_sdp_media_get_port(m) == 0 || gst_sdp_media_formats_len(m) == 0))
            abort();
        if (!attr(sdp, m, "ice-ufrag") || !attr(sdp, m, "ice-pwd") || !attr(sdp, m, "fingerprint"))
            abort();
        check_filtered(gst_sdp_message_get_media(plain, i), m, &replay);
    }
    gst_sdp_message_free(plain);
}

static void check_refused(const char *err)
{
    for (size_t i = 0; i < sizeof reason_starts / sizeof reason_starts[0]; i++)
        if (strncmp(err, reason_starts[i], strlen(reason_starts[i])) == 0)
            return;
    abort(); /* an undocumented reason */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct netlist allows[sizeof allow_texts / sizeof allow_texts[0]];
    static int once;
    if (!once++) {
        log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "fuzz");
        char err[256];
        for (size_t i = 0; i < sizeof allows / sizeof allows[0]; i++)
            if (netlist_parse(allow_texts[i], &allows[i], err, sizeof err) != 0)
                abort();
    }
    if (size == 0)
        return 0;
    uint8_t pick = data[0];
    struct sdp_answer_offer offer = {.nmedia = 0};
    size_t videos = 1 + (pick & 3);
    for (size_t i = 0; i < videos; i++)
        offer.kinds[offer.nmedia++] = "video";
    offer.kinds[offer.nmedia++] = "application";
    const struct netlist *allow = &allows[(pick >> 2) & 3];
    size_t max = limits[(pick >> 4) & 3];
    if (pick & 0x40)
        offer.nmedia = 0; /* no offer sent yet */

    char *text = g_strndup((const char *)data + 1, size - 1); /* up to the first NUL */
    size_t cap = (pick & 0x80) ? 2 : 64; /* --max-remote-candidates */
    struct icegate gate;
    icegate_init(&gate, allow, cap, "fuzz");
    char err[256];
    memset(err, 0, sizeof err);
    GstSDPMessage *sdp = sdp_answer_check(&offer, text, max, &gate, err, sizeof err);
    if (sdp) {
        if (offer.nmedia == 0)
            abort();
        check_accepted(&offer, text, max, allow, cap, sdp);
        gst_sdp_message_free(sdp);
    } else {
        check_refused(err);
    }
    g_free(text);
    return 0;
}
