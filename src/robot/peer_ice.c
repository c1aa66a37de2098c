/* peer_ice.c - a peer's webrtcbin ICE agent: servers, gathering addresses, restarts, consent. */
#include "robot/peer_ice.h"

#include <nice/agent.h>
#include <stdbool.h>
#include <string.h>

#include "common/log.h"

/* libnice's STUN timers. A connectivity check is sent up to
 * stun-max-retransmissions times, the second send after max(Ta x active
 * pairs, 500 ms) (the 500 is fixed in libnice 0.1.21), each later one after
 * twice the last wait, the final wait halved: 5 sends take 9.5 s, 3 take
 * 2 s, 2 take 0.75 s. Other requests (STUN and TURN while gathering, TURN
 * refreshes) count the same sends from stun-initial-timeout instead. */
#define ICE_CHECK_SENDS 2u      /* while checks run: a dead pair ends in 0.75 s */
#define ICE_CHECK_INITIAL 1000u /* ... and a TURN request begun then still gets 1.5 s */
#define ICE_SENDS 5u            /* otherwise: 5 sends, 100 ms apart at first, 1.9 s */
#define ICE_INITIAL 100u
#define NICE_STATE_CONNECTING 2u /* libnice's NICE_COMPONENT_STATE_CONNECTING */

/* libnice's "component-state-changed", on its own thread: fast-failing
 * checks while the component connects, patient requests otherwise (a TURN
 * refresh that gives up loses the relay). Touches only the agent, so it
 * needs no peer and may outlive one. */
static void on_ice_component_state(GObject *agent, guint stream, guint component, guint state,
                                   gpointer data)
{
    (void)stream;
    (void)component;
    (void)data;
    bool checking = state == NICE_STATE_CONNECTING;
    g_object_set(agent, "stun-max-retransmissions", checking ? ICE_CHECK_SENDS : ICE_SENDS,
                 "stun-initial-timeout", checking ? ICE_CHECK_INITIAL : ICE_INITIAL, NULL);
}

static void configure_agent(GstElement *webrtc, const struct peer_params *params)
{
    GObject *ice = NULL;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (!ice)
        return;
    /* Once an address is added, libnice gathers on that address only. */
    for (size_t i = 0; i < params->nlocal; i++) {
        gboolean ok = FALSE;
        g_signal_emit_by_name(ice, "add-local-ip-address", params->local_addrs[i], &ok);
        if (!ok)
            log_warn("peer %s: cannot gather on %s", params->session_id, params->local_addrs[i]);
    }
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "ice-tcp"))
        g_object_set(ice, "ice-tcp", FALSE, NULL);
    GObject *agent = NULL;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        g_object_get(ice, "agent", &agent, NULL);
    if (agent) {
        /* Debian's libnice sends SSDP multicast on every interface otherwise. */
        g_object_set(agent, "upnp", FALSE, NULL);
        /* Connectivity checks paced every 5 ms (RFC 8445's floor) instead of
         * 20: on loopback ICE+DTLS fell from ~75 to ~25 ms (medians). */
        g_object_set(agent, "stun-pacing-timer", 5u, "stun-initial-timeout", ICE_INITIAL,
                     "stun-max-retransmissions", ICE_SENDS, NULL);
        /* webrtcbin's agent uses regular nomination, and libnice's
         * controlling side (the robot, as offerer) nominates only once it
         * has a valid host-host pair, two valid pairs, or no pair left to
         * check. Through two NATs with STUN alone, the one valid pair
         * (srflx) so waited for the pair to the viewer's private host
         * address, which nothing answers, to give up: 9.5 s to first frame.
         * Two sends end such a pair in 0.75 s; a live pair whose sends
         * were lost is checked again as soon as the viewer's own check
         * arrives (a triggered check). */
        g_signal_connect(agent, "component-state-changed", G_CALLBACK(on_ice_component_state),
                         NULL);
        g_object_unref(agent);
    }
    g_object_unref(ice);
}

/* TURN servers: a comma-separated list of turn(s):// URLs. */
static void add_turn_servers(GstElement *webrtc, const struct peer_params *params)
{
    if (!params->turn_servers || !*params->turn_servers)
        return;
    gchar **urls = g_strsplit(params->turn_servers, ",", -1);
    for (gchar **u = urls; *u; u++) {
        gboolean ok = FALSE;
        g_strstrip(*u);
        if (**u)
            g_signal_emit_by_name(webrtc, "add-turn-server", *u, &ok);
        if (**u && !ok)
            log_warn("peer %s: TURN server refused by webrtcbin", params->session_id);
    }
    g_strfreev(urls);
}

void peer_ice_configure(GstElement *webrtc, const struct peer_params *params)
{
    if (params->stun_server && *params->stun_server)
        g_object_set(webrtc, "stun-server", params->stun_server, NULL);
    configure_agent(webrtc, params);
    add_turn_servers(webrtc, params);
}

/* ---- ICE restart ---- */

/* libnice numbers its streams from 1; webrtcbin makes one per transport
 * (one with max-bundle), and never very many. */
#define ICE_MAX_STREAM_ID 32

static NiceAgent *nice_agent_of(GstElement *webrtc)
{
    GObject *ice = NULL, *agent = NULL;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (ice && g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        g_object_get(ice, "agent", &agent, NULL);
    if (ice)
        g_object_unref(ice);
    if (agent && !NICE_IS_AGENT(agent)) {
        g_object_unref(agent);
        return NULL;
    }
    return (NiceAgent *)agent;
}

/* peer_ice_restart and peer_ice_restart_remote (remote_ufrag NULL: the
 * robot's own restart). */
static int restart_stream(GstElement *webrtc, const char *ufrag, const char *remote_ufrag,
                          const char *remote_pwd, char **new_ufrag, char **new_pwd)
{
    NiceAgent *agent = nice_agent_of(webrtc);
    if (!agent || !ufrag)
        goto fail;
    for (guint id = 1; id <= ICE_MAX_STREAM_ID; id++) {
        /* libnice 0.1.21 returns TRUE for a stream it does not have, with
         * the out-parameters untouched: hence the NULL checks. */
        gchar *u = NULL, *pw = NULL;
        nice_agent_get_local_credentials(agent, id, &u, &pw);
        bool match = u && strcmp(u, ufrag) == 0;
        g_free(u);
        g_free(pw);
        if (!match)
            continue;
        u = pw = NULL;
        if (nice_agent_restart_stream(agent, id))
            nice_agent_get_local_credentials(agent, id, &u, &pw);
        if (!u || !pw ||
            (remote_ufrag && !nice_agent_set_remote_credentials(agent, id, remote_ufrag,
                                                                 remote_pwd))) {
            g_free(u);
            g_free(pw);
            goto fail;
        }
        *new_ufrag = u;
        *new_pwd = pw;
        g_object_unref(agent);
        return 0;
    }
fail:
    if (agent)
        g_object_unref(agent);
    return -1;
}

int peer_ice_restart(GstElement *webrtc, const char *ufrag, char **new_ufrag, char **new_pwd)
{
    return restart_stream(webrtc, ufrag, NULL, NULL, new_ufrag, new_pwd);
}

int peer_ice_restart_remote(GstElement *webrtc, const char *ufrag, const char *remote_ufrag,
                            const char *remote_pwd, char **new_ufrag, char **new_pwd)
{
    return restart_stream(webrtc, ufrag, remote_ufrag, remote_pwd, new_ufrag, new_pwd);
}

void peer_ice_set_credentials(GstSDPMessage *sdp, const char *ufrag, const char *pwd)
{
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
        GstSDPMedia *m = (GstSDPMedia *)gst_sdp_message_get_media(sdp, i);
        for (guint a = 0; a < gst_sdp_media_attributes_len(m); a++) {
            const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
            const char *value = NULL;
            if (g_strcmp0(attr->key, "ice-ufrag") == 0)
                value = ufrag;
            else if (g_strcmp0(attr->key, "ice-pwd") == 0)
                value = pwd;
            if (!value)
                continue;
            GstSDPAttribute repl;
            gst_sdp_attribute_set(&repl, attr->key, value);
            gst_sdp_media_replace_attribute(m, a, &repl); /* takes repl's contents */
        }
    }
}

void peer_ice_credentials(const GstSDPMessage *sdp, const char **ufrag, const char **pwd)
{
    *ufrag = *pwd = NULL;
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp) && !*ufrag; i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
        *ufrag = gst_sdp_media_get_attribute_val(m, "ice-ufrag");
        *pwd = gst_sdp_media_get_attribute_val(m, "ice-pwd");
    }
    if (!*ufrag) {
        *ufrag = gst_sdp_message_get_attribute_val(sdp, "ice-ufrag");
        *pwd = gst_sdp_message_get_attribute_val(sdp, "ice-pwd");
    }
}

char *peer_ice_offer_ufrag(const char *sdp_text)
{
    GstSDPMessage *sdp = NULL;
    if (!sdp_text || gst_sdp_message_new_from_text(sdp_text, &sdp) != GST_SDP_OK) {
        if (sdp)
            gst_sdp_message_free(sdp);
        return NULL;
    }
    const char *ufrag, *pwd;
    peer_ice_credentials(sdp, &ufrag, &pwd);
    char *copy = g_strdup(ufrag);
    gst_sdp_message_free(sdp);
    return copy;
}

/* ---- consent: what the viewer still sends ---- */

#define WATCHED_KEY "porthole-heard"

static GstPadProbeReturn on_received(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    (void)info;
    atomic_store_explicit((_Atomic int64_t *)data, g_get_monotonic_time(), memory_order_relaxed);
    return GST_PAD_PROBE_OK;
}

static void watch_one(const GValue *item, gpointer data)
{
    GstElement *src = g_value_get_object(item);
    if (g_object_get_data(G_OBJECT(src), WATCHED_KEY))
        return;
    GstPad *pad = gst_element_get_static_pad(src, "src");
    if (!pad)
        return;
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_received,
                      data, NULL);
    gst_object_unref(pad);
    g_object_set_data(G_OBJECT(src), WATCHED_KEY, data);
}

static void count_one(const GValue *item, gpointer data)
{
    if (g_object_get_data(G_OBJECT(g_value_get_object(item)), WATCHED_KEY))
        (*(unsigned *)data)++;
}

unsigned peer_ice_watch_receive(GstElement *webrtc, _Atomic int64_t *heard_us)
{
    unsigned n = 0;
    /* Recursive: each transport's nicesrc sits in a bin inside webrtcbin. */
    GstIterator *it = gst_bin_iterate_all_by_element_factory_name(GST_BIN(webrtc), "nicesrc");
    if (!it)
        return 0;
    while (gst_iterator_foreach(it, watch_one, heard_us) == GST_ITERATOR_RESYNC)
        gst_iterator_resync(it);
    gst_iterator_resync(it);
    while (gst_iterator_foreach(it, count_one, &n) == GST_ITERATOR_RESYNC) {
        n = 0;
        gst_iterator_resync(it);
    }
    gst_iterator_free(it);
    return n;
}
