/* cluster.c - the Redis side of several instances (cluster.h): the two
 * connections (commands, and pub/sub), reconnecting and the degraded
 * state, the presence keys and their heartbeat, the liveness checks of
 * the other instances. The messages themselves are cluster_bus.c's. */
#include "cloud/cluster_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cloud/redis_lws.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

enum { CONNECT_TIMEOUT_MS = 2000, RETRY_MS = 1000 };

/* ---- the URL ---- */

bool cluster_url_is_redis(const char *url)
{
    return url && (strncmp(url, "redis://", 8) == 0 || strncmp(url, "unix://", 7) == 0);
}

/* Parses redis://host[:port][/db] into cl (or only checks, cl NULL). */
static bool parse_url(const char *url, struct cluster *cl, char *err, size_t errlen)
{
    /* unix:///path/to/redis.sock: the private store of --workers. */
    if (strncmp(url, "unix://", 7) == 0) {
        if (url[7] != '/' || strlen(url + 7) >= sizeof(cl->host)) {
            snprintf(err, errlen, "--store: expected unix:///path, got '%s'", url);
            return false;
        }
        if (cl) {
            snprintf(cl->host, sizeof cl->host, "%s", url + 7);
            cl->port = 0;
            cl->db = 0;
        }
        return true;
    }
    const char *h = url + 8, *end = h + strcspn(h, ":/");
    size_t hl = (size_t)(end - h);
    long port = 6379, db = 0;
    char *e;
    if (!hl || hl >= sizeof(cl->host) || strchr(h, '@')) {
        snprintf(err, errlen, "--store: expected redis://host[:port][/db] (no user or "
                 "password), got '%s'", url);
        return false;
    }
    if (*end == ':') {
        errno = 0;
        port = strtol(end + 1, &e, 10);
        if (errno || e == end + 1 || port < 1 || port > 65535 || (*e && *e != '/')) {
            snprintf(err, errlen, "--store: invalid port in '%s'", url);
            return false;
        }
        end = e;
    }
    if (*end == '/' && end[1]) {
        errno = 0;
        db = strtol(end + 1, &e, 10);
        if (errno || e == end + 1 || *e || db < 0 || db > 1000) {
            snprintf(err, errlen, "--store: invalid database number in '%s'", url);
            return false;
        }
    }
    if (cl) {
        memcpy(cl->host, h, hl);
        cl->host[hl] = '\0';
        cl->port = (int)port;
        cl->db = (int)db;
    }
    return true;
}

bool cluster_url_valid(const char *url, char *err, size_t errlen)
{
    if (!url || !*url || strcmp(url, "memory") == 0)
        return true;
    if (!cluster_url_is_redis(url)) {
        snprintf(err, errlen, "--store: expected 'memory' or redis://host[:port][/db], got "
                 "'%s'", url);
        return false;
    }
    struct cluster probe;
    return parse_url(url, &probe, err, errlen);
}

/* ---- commands ---- */

struct reply_ctx {
    struct cluster *cl;
    redisCallbackFn *fn;
    void *priv;
};

/* Counts the answer, then hands it on. A NULL reply is a dropped
 * connection: fn still runs (to free priv). */
static void counted_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct reply_ctx *rc = privdata;
    if (rc->cl->pending)
        rc->cl->pending--;
    if (rc->fn)
        rc->fn(ac, reply, rc->priv);
    else
        free(rc->priv);
    free(rc);
}

bool cl__command(struct cluster *cl, redisCallbackFn *fn, void *priv, int argc,
                 const char **argv, const size_t *lens)
{
    struct reply_ctx *rc = cl->cmd && cl->state == CL_UP ? malloc(sizeof(*rc)) : NULL;
    if (rc) {
        *rc = (struct reply_ctx){.cl = cl, .fn = fn, .priv = priv};
        if (redisAsyncCommandArgv(cl->cmd, counted_reply, rc, argc, argv, lens) == REDIS_OK) {
            cl->pending++;
            return true;
        }
        free(rc);
    }
    if (fn)
        fn(NULL, NULL, priv);
    else
        free(priv);
    return false;
}

bool cl__publish(struct cluster *cl, const char *channel, const char *payload, size_t len)
{
    const char *argv[] = {"PUBLISH", channel, payload};
    size_t lens[] = {7, strlen(channel), len};
    return cl__command(cl, NULL, NULL, 3, argv, lens);
}

void cl__inst_channel(const struct cluster *cl, const char *inst, char *out, size_t len)
{
    snprintf(out, len, "porthole:%d:inst:%s", cl->db, inst);
}

/* ---- the seam ---- */

static bool degraded(void *self)
{
    const struct cluster *cl = self;
    return cl->state != CL_UP;
}

/* ---- connections ---- */

static void drop_connections(struct cluster *cl, const char *why)
{
    redisAsyncContext *cmd = cl->cmd, *sub = cl->sub;
    cl->cmd = cl->sub = NULL;
    bool was_up = cl->state == CL_UP;
    cl->state = CL_DOWN;
    cl->cmd_ok = cl->sub_ok = false;
    cl->subscribed = 0;
    cl->ping_sent_ms = 0;
    if (cmd)
        redisAsyncFree(cmd);
    if (sub)
        redisAsyncFree(sub);
    cl->pending = 0;
    if (!cl->down_logged && !cl->leaving) {
        log_warn("redis %s:%d %s (%s): DEGRADED, serving this instance's robots and clients "
                 "only; retrying every second", cl->host, cl->port,
                 was_up ? "lost" : "unreachable", why);
        cl->down_logged = true;
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct cluster *cl = ac->data;
    if (ac != cl->cmd && ac != cl->sub)
        return; /* one we freed ourselves */
    if (ac == cl->cmd)
        cl->cmd = NULL;
    else
        cl->sub = NULL;
    drop_connections(cl, status == REDIS_OK ? "closed" : ac->errstr);
}

/* Once both connections are ready: write everything this instance holds,
 * publish its roster and ask the others for theirs. */
static void maybe_up(struct cluster *cl)
{
    if (!cl->cmd_ok || !cl->sub_ok || cl->state == CL_UP)
        return;
    cl->state = CL_UP;
    cl__presence_rewrite(cl);
    cl->up_since_ms = clock_mono_ms();
    log_info("redis %s:%d connected as instance %s: re-publishing %zu robots and %zu clients",
             cl->host, cl->port, cl->inst, hmap_count(cl->robots), hmap_count(cl->clients));
    cl->down_logged = false;
    cl->ever_up = true;
    cl__write_inst_key(cl);
    cl__publish_roster(cl, cl->chan_events);
    char hello[200];
    int n = snprintf(hello, sizeof hello, "hello %s\n", cl->inst);
    cl__publish(cl, cl->chan_events, hello, (size_t)n);
}

static void on_select(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)priv;
    struct cluster *cl = ac ? ac->data : NULL;
    redisReply *r = reply;
    if (!cl || !r)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        log_error("redis: SELECT %d: %s", cl->db, r->str);
        return;
    }
    cl->cmd_ok = true;
    maybe_up(cl);
}

static void on_sub_message(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)priv;
    redisReply *r = reply;
    struct cluster *cl = ac->data;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    const redisReply *kind = r->element[0], *payload = r->element[2];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "subscribe") == 0) {
        if (++cl->subscribed == 2) {
            cl->sub_ok = true;
            maybe_up(cl);
        }
        return;
    }
    if (strcmp(kind->str, "message") == 0 && payload->type == REDIS_REPLY_STRING)
        cl__on_message(cl, payload->str, payload->len);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct cluster *cl = ac->data;
    if (status == REDIS_OK)
        return;
    /* hiredis frees a context whose connect failed, after this call. */
    if (ac == cl->cmd)
        cl->cmd = NULL;
    else if (ac == cl->sub)
        cl->sub = NULL;
    else
        return;
    drop_connections(cl, ac->errstr);
}

/* One asynchronous connection, attached to the loop. NULL after logging
 * (debug) when it cannot even start. */
static redisAsyncContext *open_one(struct cluster *cl)
{
    redisAsyncContext *ac = cl->port ? redisAsyncConnect(cl->host, cl->port)
                                     : redisAsyncConnectUnix(cl->host);
    if (!ac)
        return NULL;
    if (ac->err || redis_lws_attach(ac, cl->vh) != 0) {
        log_debug("redis: connect: %s", ac->err ? ac->errstr : "cannot watch the socket");
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = cl;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

static void connect_both(struct cluster *cl)
{
    cl->state = CL_CONNECTING;
    cl->attempt_ms = clock_mono_ms();
    cl->cmd = open_one(cl);
    cl->sub = cl->cmd ? open_one(cl) : NULL;
    if (!cl->cmd || !cl->sub) {
        drop_connections(cl, "connection refused");
        return;
    }
    char db[16];
    snprintf(db, sizeof db, "%d", cl->db);
    const char *sel[] = {"SELECT", db};
    size_t sel_lens[] = {6, strlen(db)};
    redisAsyncCommandArgv(cl->cmd, on_select, NULL, 2, sel, sel_lens);
    const char *sub[] = {"SUBSCRIBE", cl->chan_events, cl->chan_self};
    size_t sub_lens[] = {9, strlen(cl->chan_events), strlen(cl->chan_self)};
    redisAsyncCommandArgv(cl->sub, on_sub_message, NULL, 3, sub, sub_lens);
}

/* ---- heartbeat and liveness ---- */

struct exists_ctx {
    struct cluster *cl;
    char inst[];
};

static void on_exists(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    struct exists_ctx *x = priv;
    redisReply *r = reply;
    struct cluster *cl = x->cl;
    /* Right after (re)connecting, the others may not have re-written
     * their keys yet (Redis restarted empty): wait one TTL first. */
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0 && cl->state == CL_UP &&
        clock_mono_ms() - cl->up_since_ms >= (int64_t)cl->cfg.ttl_s * 1000)
        cl__inst_dead(cl, x->inst, false);
    free(x);
}

static void check_inst(struct cluster *cl, void *value, void *arg)
{
    (void)arg;
    const char *inst = value;
    size_t n = strlen(inst);
    struct exists_ctx *x = malloc(sizeof(*x) + n + 1);
    if (!x)
        return;
    x->cl = cl;
    memcpy(x->inst, inst, n + 1);
    char key[160];
    snprintf(key, sizeof key, "porthole:inst:%s", inst);
    const char *argv[] = {"EXISTS", key};
    size_t lens[] = {6, strlen(key)};
    cl__command(cl, on_exists, x, 2, argv, lens);
}

static void on_pong(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    struct cluster *cl = priv;
    if (reply)
        cl->ping_sent_ms = 0;
}

static void heartbeat(struct cluster *cl)
{
    int64_t now = clock_mono_ms();
    if (cl->ping_sent_ms && now - cl->ping_sent_ms > (int64_t)cl->cfg.ttl_s * 1000 / 2) {
        drop_connections(cl, "no answer to PING");
        return;
    }
    cl__write_inst_key(cl);
    cl__presence_heartbeat(cl);
    cl__each(cl->insts, check_inst, cl, NULL);
    if (!cl->ping_sent_ms) {
        cl->ping_sent_ms = now;
        const char *argv[] = {"PING"};
        size_t lens[] = {4};
        /* on_pong gets cl as priv; cl__command frees priv only without fn. */
        cl__command(cl, on_pong, cl, 1, argv, lens);
    }
}

static void on_beat(lws_sorted_usec_list_t *sul)
{
    struct cluster *cl = lws_container_of(sul, struct cluster, beat);
    int64_t now = clock_mono_ms();
    int64_t every = (int64_t)cl->cfg.ttl_s * 1000 / 3;
    if (cl->leaving)
        return;
    if (cl->state == CL_DOWN) {
        connect_both(cl);
    } else if (cl->state == CL_CONNECTING && now - cl->attempt_ms > CONNECT_TIMEOUT_MS) {
        drop_connections(cl, "connect timed out");
    } else if (cl->state == CL_UP && now - cl->attempt_ms >= every) {
        cl->attempt_ms = now; /* reused as "last heartbeat" while up */
        heartbeat(cl);
    }
    lws_sul_schedule(cl->ctx, 0, &cl->beat, on_beat,
                     (cl->state == CL_UP ? 500 : RETRY_MS) * LWS_US_PER_MS);
}

/* ---- lifecycle ---- */

static void default_instance_id(char *out, size_t len)
{
    char host[64] = "cloud", token[IDS_TOKEN_LEN + 1];
    gethostname(host, sizeof host - 1);
    host[strcspn(host, " \t\n")] = '\0';
    if (ids_token(token) != 0)
        snprintf(token, sizeof token, "%d", (int)getpid());
    snprintf(out, len, "%s-%d-%.6s", host, (int)getpid(), token);
}

struct cluster *cluster_new(const struct cluster_config *cfg)
{
    struct cluster *cl = calloc(1, sizeof(*cl));
    char err[200];
    if (!cl) {
        log_error("out of memory");
        return NULL;
    }
    cl->cfg = *cfg;
    if (!cl->cfg.ttl_s)
        cl->cfg.ttl_s = 15;
    if (!parse_url(cfg->url, cl, err, sizeof err)) {
        log_error("%s", err);
        free(cl);
        return NULL;
    }
    if (cfg->instance_id && *cfg->instance_id)
        snprintf(cl->inst, sizeof cl->inst, "%s", cfg->instance_id);
    else
        default_instance_id(cl->inst, sizeof cl->inst);
    snprintf(cl->chan_events, sizeof cl->chan_events, "porthole:%d:events", cl->db);
    cl__inst_channel(cl, cl->inst, cl->chan_self, sizeof cl->chan_self);
    list_init(&cl->closing);
    list_init(&cl->closing_http);
    list_init(&cl->open_http);
    cl->robots = hmap_new();
    cl->clients = hmap_new();
    cl->remotes = hmap_new();
    cl->proxies = hmap_new();
    cl->insts = hmap_new();
    cl->http_out = hmap_new();
    if (!cl->robots || !cl->clients || !cl->remotes || !cl->proxies || !cl->insts ||
        !cl->http_out) {
        log_error("out of memory");
        cluster_free(cl);
        return NULL;
    }
    cl->seam = (struct router_cluster){
        .self = cl,
        .robot_up = cl__robot_up,
        .robot_down = cl__robot_down,
        .robot_sessions = cl__robot_sessions,
        .client_up = cl__client_up,
        .client_down = cl__client_down,
        .robot_elsewhere = cl__robot_elsewhere,
        .forward = cl__forward,
        .foreach_robot = cl__foreach_robot,
        .forward_http = cl__forward_http,
        .forget_http = cl__forget_http,
        .degraded = degraded,
        .tx = &cl->tx,
    };
    cl->tx = (struct transport){.send = cl__proxy_send, .close = cl__proxy_close,
                                .http_answer = cl__http_answer};
    return cl;
}

const struct router_cluster *cluster_seam(struct cluster *cl)
{
    return &cl->seam;
}

void cluster_start(struct cluster *cl, struct lws_context *ctx, struct lws_vhost *vh,
                   struct router *r)
{
    cl->ctx = ctx;
    cl->vh = vh;
    cl->router = r;
    log_info("presence and routing on redis %s:%d db %d as instance %s (TTL %u s)", cl->host,
             cl->port, cl->db, cl->inst, cl->cfg.ttl_s);
    connect_both(cl);
    lws_sul_schedule(ctx, 0, &cl->beat, on_beat, 200 * LWS_US_PER_MS);
}

void cluster_leave(struct cluster *cl)
{
    if (!cl || cl->state != CL_UP)
        return;
    char msg[200];
    int n = snprintf(msg, sizeof msg, "bye %s\n", cl->inst);
    cl__publish(cl, cl->chan_events, msg, (size_t)n);
    char key[160];
    snprintf(key, sizeof key, "porthole:inst:%s", cl->inst);
    const char *argv[] = {"DEL", key};
    size_t lens[] = {3, strlen(key)};
    cl__command(cl, NULL, NULL, 2, argv, lens);
    cl__presence_leave(cl);
}

bool cluster_busy(const struct cluster *cl)
{
    return cl && cl->state == CL_UP && cl->pending > 0;
}

void cluster_stop(struct cluster *cl)
{
    if (!cl)
        return;
    cl->leaving = true;
    lws_sul_cancel(&cl->beat);
    lws_sul_cancel(&cl->close_timer);
    lws_sul_cancel(&cl->counts_timer);
    cl__close_all_proxies(cl);
    cl__close_all_http(cl);
    drop_connections(cl, "shutting down");
}

void cluster_free(struct cluster *cl)
{
    if (!cl)
        return;
    cl__free_caches(cl);
    hmap_free(cl->robots);
    hmap_free(cl->clients);
    hmap_free(cl->remotes);
    hmap_free(cl->proxies);
    hmap_free(cl->insts);
    hmap_free(cl->http_out);
    free(cl);
}
