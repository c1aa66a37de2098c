/* cluster_internal.h - what cluster.c (the Redis connections, presence
 * keys, heartbeat) and cluster_bus.c (the messages between instances, the
 * caches and the stand-ins) share. Private to src/cloud/cluster*.c. */
#ifndef PORTHOLE_CLOUD_CLUSTER_INTERNAL_H
#define PORTHOLE_CLOUD_CLUSTER_INTERNAL_H

#include <hiredis/async.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "cloud/cluster.h"
#include "common/hmap.h"
#include "common/list.h"

/* A robot registered here. */
struct cl_robot {
    char *id;
    char *info;              /* deviceInfo, compact JSON */
    int64_t at_ms;           /* wall clock */
    char addr[48];           /* the connection's address, for people */
    unsigned sessions;       /* open sessions */
    bool sessions_dirty;     /* changed since last published */
};

/* A client registered here, and where its messages were forwarded: the
 * instances that hold a stand-in for it, its sessions there. */
struct cl_client {
    char *id;
    char addr[48];
    char **insts;            /* instances forwarded to */
    size_t ninsts;
    struct hmap *sids;       /* sessionId -> struct cl_sid, NULL until one */
};

struct cl_sid {
    char sid[48];
    char inst[];             /* the instance the session lives on */
};

/* A robot of another instance. */
struct cl_remote {
    char *id;
    char *inst;
    char *info;
    int64_t at_ms;
    unsigned sessions;       /* as its instance last published */
};

/* The stand-in of a client of another instance (router_remote_open). */
struct cl_proxy {
    struct cluster *cl;
    struct peer *peer;
    char *inst;
    char *client;
    bool closing;            /* on cl->closing: router_peer_closed is due */
    struct list close_node;
    char key[];              /* inst '\n' client: its key in cl->proxies */
};

/* An HTTP request another instance forwarded here (the robot's side):
 * the handle of its router_remote_http_open() asker. */
struct cl_http {
    struct cluster *cl;
    struct http_asker *asker;
    struct list close_node;      /* on cl->closing_http once answered */
    bool answered;
    char token[32];
    char inst[];
};

/* An HTTP request this instance forwarded (the asker's side). */
struct cl_http_out {
    char token[32];
    char inst[];
};

enum cl_state { CL_DOWN = 0, CL_CONNECTING, CL_UP };

struct cluster {
    struct cluster_config cfg;
    char host[256];
    int port, db;
    char inst[128];
    char chan_events[64], chan_self[256];
    struct router *router;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    redisAsyncContext *cmd, *sub;
    enum cl_state state;
    bool cmd_ok, sub_ok;
    int subscribed;          /* confirmations of SUBSCRIBE */
    bool ever_up, down_logged, leaving;
    int64_t up_since_ms;     /* monotonic */
    int64_t attempt_ms;      /* the current connect began */
    int64_t ping_sent_ms;    /* 0: no PING unanswered */
    unsigned pending;        /* commands sent, not answered */
    lws_sorted_usec_list_t beat;
    lws_sorted_usec_list_t close_timer;
    lws_sorted_usec_list_t counts_timer; /* session counts due (cluster_presence.c) */
    bool counts_due;
    struct list closing;     /* struct cl_proxy due for router_peer_closed */
    struct list closing_http; /* struct cl_http answered, due for router_http_closed */
    struct list open_http;   /* struct cl_http not answered yet */
    struct hmap *http_out;   /* token -> struct cl_http_out */
    struct hmap *robots;     /* id -> struct cl_robot */
    struct hmap *clients;    /* id -> struct cl_client */
    struct hmap *remotes;    /* id -> struct cl_remote */
    struct hmap *proxies;    /* key -> struct cl_proxy */
    struct hmap *insts;      /* other instances we know of: name -> char * (the name) */
    struct router_cluster seam;
    struct transport tx;
};

/* ---- cluster.c, for cluster_bus.c ---- */

/* Sends a command on the command connection when it is up (argv form,
 * binary-safe); does nothing otherwise. fn/priv as redisAsyncCommandArgv's,
 * priv freed with free() when fn is NULL. Returns true when queued. */
bool cl__command(struct cluster *cl, redisCallbackFn *fn, void *priv, int argc,
                 const char **argv, const size_t *lens);

/* PUBLISH channel payload (len bytes). */
bool cl__publish(struct cluster *cl, const char *channel, const char *payload, size_t len);

/* The channel of instance inst into out. */
void cl__inst_channel(const struct cluster *cl, const char *inst, char *out, size_t len);

/* ---- cluster_presence.c, for cluster.c ---- */

/* The seam's presence parts (router.h, struct router_cluster). */
void cl__robot_up(void *self, const char *id, const char *info, int64_t at_ms,
                  const char *addr, bool take_over);
void cl__robot_down(void *self, const char *id);
void cl__robot_sessions(void *self, const char *id, unsigned n);
void cl__client_up(void *self, const char *id, const char *addr);
void cl__client_down(void *self, const char *id);

/* SET porthole:inst:<inst> with the TTL. */
void cl__write_inst_key(struct cluster *cl);

/* Every key of this instance again, whole (Redis may have restarted
 * empty); a robot registered meanwhile on another instance with a newer
 * registration keeps it, and ours is closed. */
void cl__presence_rewrite(struct cluster *cl);

/* The heartbeat: robots' last-seen times and session counts, fresh TTLs
 * (one EXPIRE for all the clients). */
void cl__presence_heartbeat(struct cluster *cl);

/* Leaving cleanly: deletes the clients hash. */
void cl__presence_leave(struct cluster *cl);

/* Publishes "sessions" to channel: the robots whose count changed since
 * the last time, or (all) every robot. */
void cl__publish_counts(struct cluster *cl, const char *channel, bool all);

/* ---- cluster_bus.c, for cluster.c (and the stand-ins of cluster_proxy.c) ---- */

/* One message from a channel. */
void cl__on_message(struct cluster *cl, const char *payload, size_t len);

/* Publishes this instance's roster (its robots) to channel. */
void cl__publish_roster(struct cluster *cl, const char *channel);

/* Notes another instance's name (for the liveness checks). */
void cl__know_inst(struct cluster *cl, const char *inst);

/* inst is dead (or left: it said bye): sessions with its robots end, its
 * robots go, its clients' stand-ins close. */
void cl__inst_dead(struct cluster *cl, const char *inst, bool left);

/* Schedules proxy's router_peer_closed on the loop (never from inside a
 * router call). */
void cl__close_proxy_later(struct cluster *cl, struct cl_proxy *p);

/* Closes every stand-in now (shutdown). */
void cl__close_all_proxies(struct cluster *cl);

/* The seam's routing parts and the stand-ins' transport. */
bool cl__forward(void *self, const char *client_id, const struct token_claims *claims,
                 const char *robot_id, const char *sid, const char *text, size_t len);
bool cl__robot_elsewhere(void *self, const char *robot_id);
void cl__foreach_robot(void *self, router_remote_visit_fn fn, void *arg);
void cl__client_forget(struct cluster *cl, struct cl_client *c);
int cl__proxy_send(void *conn, struct outbuf *buf);
void cl__http_answer(void *http, unsigned status, struct outbuf *body);
bool cl__forward_http(void *self, const char *token, const char *robot_id, const char *method,
                      const char *path, json_t *body, const struct token_claims *caller);
void cl__forget_http(void *self, const char *token);
void cl__proxy_close(void *conn, int code, const char *reason);

/* A text that grows line by line (the roster, the session counts). */
struct cl_text {
    char *data; /* malloc'd, the caller frees it; not NUL-terminated */
    size_t len, cap;
    bool failed; /* out of memory: the text is incomplete */
};

/* Appends one printf-formatted line of at most `max` bytes; false (and
 * t->failed) when memory ran out. */
bool cl__text_add(struct cl_text *t, size_t max, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Publishes header + payload to channel. */
bool cl__send_to(struct cluster *cl, const char *channel, const char *header,
                 const char *payload, size_t len);

/* Forgets robot id of another instance, if cached; local clients hear
 * robot-unavailable. */
void cl__remote_forget(struct cluster *cl, const char *id);

/* Publishes header + payload to instance inst's channel. */
bool cl__send_to_inst(struct cluster *cl, const char *inst, const char *header,
                      const char *payload, size_t len);

/* Claims as JSON text for another instance (NULL without claims; caller
 * frees), and back (false, logged, when unusable). */
char *cl__claims_text(const struct token_claims *claims);
bool cl__claims_parse(const char *text, struct token_claims **out);

/* Runs the deferred closes (stand-ins, answered HTTP askers) soon. */
void cl__schedule_close(struct cluster *cl);

/* ---- cluster_proxy.c ---- */

/* A message of inst's client id (body: claims line, then the message). */
void cl__on_fwd(struct cluster *cl, const char *inst, const char *id, char *body, size_t len);

/* inst's client id went away: its stand-in closes. */
void cl__on_gone(struct cluster *cl, const char *inst, const char *id);

/* ---- cluster_http.c ---- */

void cl__on_http(struct cluster *cl, const char *inst, const char *token, char *body,
                 size_t len);
void cl__on_answer(struct cluster *cl, const char *token, unsigned status, const char *body,
                   size_t len);
void cl__http_inst_dead(struct cluster *cl, const char *inst);
void cl__http_reap(struct cluster *cl);
void cl__close_all_http(struct cluster *cl);

/* Frees every cache entry (cluster_free). */
void cl__free_caches(struct cluster *cl);

/* Calls fn for each value of map, collected first so that fn may remove
 * entries. */
void cl__each(struct hmap *map, void (*fn)(struct cluster *cl, void *value, void *arg),
              struct cluster *cl, void *arg);

#endif
