/* fuzz_whep.c - libFuzzer entry: what a WHEP player sends the robot, its
 * offer (sdp_offer.c) and its SDP fragments (sdpfrag.c). The first byte
 * picks the codec, the streams asked for (1 to 4), the ICE allow-list and
 * the size limit; the rest is the offer, read up to its first NUL as the
 * robot reads it, and, whole, a fragment. An accepted offer must keep the
 * promises of sdp_offer.h (enough usable video m-lines, in order, within
 * the offer, each with a payload type 0..127 that its m-line lists; no
 * candidate the gate did not admit); a refused one must carry a reason. A
 * fragment's candidates must lie inside the input and start with
 * "candidate:". Sanitizers catch the rest.
 * Build and run: make fuzz (clang, -fsanitize=fuzzer,address,undefined). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/icegate.h"
#include "robot/sdp_offer.h"
#include "robot/sdpfrag.h"

static const char *const allow_texts[] = {"127.0.0.1,::1", "", "10.0.0.0/8,fd00::/8", "192.0.2.7"};
static const size_t limits[] = {64 * 1024, 4096, 512, 64};

/* True when media lists payload type pt among its formats. */
static bool lists(const GstSDPMedia *media, int pt)
{
    for (guint f = 0; f < gst_sdp_media_formats_len(media); f++) {
        const char *fmt = gst_sdp_media_get_format(media, f);
        if (fmt && atoi(fmt) == pt)
            return true;
    }
    return false;
}

static void check_offer(const char *text, uint8_t pick)
{
    const char *enc = pick & 1 ? "H264" : "VP8";
    size_t nstreams = 1 + ((pick >> 1) & 3);
    struct netlist allow;
    char err[256];
    if (netlist_parse(allow_texts[(pick >> 3) & 3], &allow, err, sizeof err) != 0)
        abort();
    struct icegate gate;
    icegate_init(&gate, &allow, 4, "fuzz");
    struct sdp_offer_info info;
    err[0] = '\0';
    GstSDPMessage *sdp = sdp_offer_check(text, limits[(pick >> 5) & 3], enc, nstreams, &gate,
                                         &info, err, sizeof err);
    if (!sdp) {
        if (!err[0])
            abort(); /* a refusal always says why */
        return;
    }
    if (info.nusable < nstreams || info.nusable > SDP_OFFER_MAX_TRACKS ||
        info.nmedia != gst_sdp_message_medias_len(sdp) || info.nmedia > SDP_OFFER_MAX_MEDIA)
        abort();
    for (size_t i = 0; i < info.nusable; i++) {
        if (info.mline[i] < 0 || (size_t)info.mline[i] >= info.nmedia ||
            (i && info.mline[i] <= info.mline[i - 1]) || info.pt[i] < 0 || info.pt[i] > 127)
            abort();
        const GstSDPMedia *m = gst_sdp_message_get_media(sdp, (guint)info.mline[i]);
        if (strcmp(gst_sdp_media_get_media(m), "video") != 0 || !lists(m, info.pt[i]))
            abort();
    }
    size_t kept = 0;
    for (guint i = 0; i < info.nmedia; i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
        for (guint k = 0; gst_sdp_media_get_attribute_val_n(m, "candidate", k); k++)
            kept++;
    }
    if (kept != gate.admitted)
        abort(); /* only what the gate admitted reaches libnice */
    gst_sdp_message_free(sdp);
}

static void check_fragment(const char *data, size_t len)
{
    static struct sdpfrag f;
    char err[160] = "";
    if (sdpfrag_parse(data, len, &f, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        return;
    }
    if (f.ncandidates > SDPFRAG_MAX_CANDIDATES || strlen(f.ufrag) > SDPFRAG_CRED_MAX ||
        strlen(f.pwd) > SDPFRAG_CRED_MAX)
        abort();
    for (size_t i = 0; i < f.ncandidates; i++) {
        const struct sdpfrag_candidate *c = &f.candidates[i];
        if (c->line < data || c->line + c->len > data + len || c->len < 10 ||
            memcmp(c->line, "candidate:", 10) != 0 || c->mline < 0 ||
            strlen(c->mid) > SDPFRAG_MID_MAX)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "fuzz");
        ready = true;
    }
    if (size < 1)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    check_offer(text, data[0]);
    check_fragment((const char *)data + 1, size - 1);
    free(text);
    return 0;
}
