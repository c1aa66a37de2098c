/* peer_ice.c - a peer's webrtcbin ICE agent, servers and gathering addresses. */
#include "peer_ice.h"

#include "common/log.h"

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
        /* Connectivity checks every 5 ms (RFC 8445's floor) and a first
         * retransmission after 100 ms instead of libnice's 20 ms and 500 ms:
         * on loopback ICE+DTLS fell from ~75 to ~25 ms (medians). Six
         * tries, doubling, still give a pair about 6 s to answer. */
        g_object_set(agent, "stun-pacing-timer", 5u, "stun-initial-timeout", 100u,
                     "stun-max-retransmissions", 5u, NULL);
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
