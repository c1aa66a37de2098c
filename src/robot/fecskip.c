/* fecskip.c - takes webrtcbin's idle FEC encoder out of each send path. */
#include "robot/fecskip.h"

#include <string.h>

#include "common/log.h"

/* Set on a FEC bin once it is out of the path (counted by fecskip_count). */
#define SKIPPED_KEY "porthole-fecskip"

/* True when bin holds an element made by the factory called name. */
static gboolean bin_has(GstBin *bin, const char *name)
{
    gboolean found = FALSE;
    GstIterator *it = gst_bin_iterate_elements(bin);
    GValue item = G_VALUE_INIT;
    for (GstIteratorResult r = GST_ITERATOR_OK; !found && r != GST_ITERATOR_DONE &&
                                                r != GST_ITERATOR_ERROR;) {
        r = gst_iterator_next(it, &item);
        if (r == GST_ITERATOR_RESYNC) {
            gst_iterator_resync(it);
        } else if (r == GST_ITERATOR_OK) {
            GstElementFactory *f = gst_element_get_factory(g_value_get_object(&item));
            found = f && strcmp(GST_OBJECT_NAME(f), name) == 0;
            g_value_reset(&item);
        }
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return found;
}

/* webrtcbin's thread, as it links the FEC bin's src to rtpbin (or to its
 * rtpfunnel), its sink already linked to the clocksync: no buffer can come
 * yet. Relinks clocksync -> peer; puts the bin back should that fail. */
static void on_fec_linked(GstPad *fec_src, GstPad *peer, gpointer data)
{
    GstElement *fec = data;
    g_signal_handlers_disconnect_by_func(fec_src, (gpointer)on_fec_linked, data);
    GstPad *fec_sink = gst_element_get_static_pad(fec, "sink");
    GstPad *up = fec_sink ? gst_pad_get_peer(fec_sink) : NULL;
    if (!up) {
        if (fec_sink)
            gst_object_unref(fec_sink);
        return;
    }
    gboolean ok = gst_pad_unlink(up, fec_sink) && gst_pad_unlink(fec_src, peer) &&
                  gst_pad_link(up, peer) == GST_PAD_LINK_OK;
    if (ok) {
        g_object_set_data(G_OBJECT(fec), SKIPPED_KEY, GINT_TO_POINTER(1));
        log_debug("a send path skips webrtcbin's FEC encoder (%s)", GST_OBJECT_NAME(fec));
    } else {
        log_warn("webrtcbin's FEC encoder stays in a send path: it could not be relinked");
        if (!gst_pad_is_linked(up))
            gst_pad_link(up, fec_sink);
        if (!gst_pad_is_linked(fec_src))
            gst_pad_link(fec_src, peer);
    }
    gst_object_unref(up);
    gst_object_unref(fec_sink);
}

/* webrtcbin's thread: a child was added; a FEC bin is added unlinked. */
static void on_element_added(GstBin *webrtc, GstElement *el, gpointer data)
{
    (void)webrtc;
    (void)data;
    if (!GST_IS_BIN(el) || !bin_has(GST_BIN(el), "rtpulpfecenc"))
        return;
    GstPad *src = gst_element_get_static_pad(el, "src");
    if (!src)
        return;
    /* el owns src, and the handler goes with its first call. */
    g_signal_connect(src, "linked", G_CALLBACK(on_fec_linked), el);
    gst_object_unref(src);
}

void fecskip_attach(GstElement *webrtc)
{
    g_signal_connect(webrtc, "element-added", G_CALLBACK(on_element_added), NULL);
}

unsigned fecskip_count(GstElement *webrtc)
{
    unsigned n = 0;
    GstIterator *it = gst_bin_iterate_elements(GST_BIN(webrtc));
    GValue item = G_VALUE_INIT;
    for (GstIteratorResult r = GST_ITERATOR_OK; r != GST_ITERATOR_DONE &&
                                                r != GST_ITERATOR_ERROR;) {
        r = gst_iterator_next(it, &item);
        if (r == GST_ITERATOR_RESYNC) {
            gst_iterator_resync(it);
            n = 0;
        } else if (r == GST_ITERATOR_OK) {
            if (g_object_get_data(g_value_get_object(&item), SKIPPED_KEY))
                n++;
            g_value_reset(&item);
        }
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return n;
}
