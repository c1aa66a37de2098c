/* cluster_presence.c - this instance's presence keys in Redis (cluster.h):
 * robots' and clients' registrations, their heartbeat, the atomic claim of
 * a robot id taken over from another instance, and robots' session counts
 * published in batches. */
#include "cloud/cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

/* Deletes a presence key only while it names this instance: a robot that
 * moved on must never lose its new registration to its old instance. */
static const char DEL_IF_OURS[] =
    "if redis.call('hget', KEYS[1], 'inst') == ARGV[1] then "
    "return redis.call('del', KEYS[1]) end return 0";

/* Moves a robot's presence key to this instance in one step, so that the
 * key names exactly one instance at every moment (never both, never
 * neither), and tells the instance it named to close its connection.
 * ARGV: inst, info, at, seen, conn, sessions, ttl, mode ("force": a
 * takeover with a verified token; "newer": the rewrite after a Redis
 * outage, which yields to a newer registration elsewhere; "free": a
 * registration without a token, which yields to any live instance that
 * holds the id), the previous owner's channel prefix, the takeover
 * message, the events channel, the avail message ("" publishes none), the
 * instance keys' prefix. Returns the instance that keeps the id when this
 * one yields, else "". The PUBLISHes run inside the script: every
 * subscriber gets the takeover before the avail. "free" is what makes two
 * robots registering one id on two instances at the same moment end with
 * one holder: each instance's own check (robot_elsewhere) may still see
 * none, the script runs once at a time. An instance whose key expired is
 * dead, and its robots' keys are free. */
static const char CLAIM[] =
    "local old = redis.call('hget', KEYS[1], 'inst') "
    "if old and old ~= ARGV[1] then "
    "  if ARGV[8] == 'free' and redis.call('exists', ARGV[13] .. old) == 1 then "
    "    return old end "
    "  if ARGV[8] == 'newer' and "
    "     (tonumber(redis.call('hget', KEYS[1], 'at')) or 0) > tonumber(ARGV[3]) then "
    "    return old end "
    "end "
    "redis.call('del', KEYS[1]) "
    "redis.call('hset', KEYS[1], 'inst', ARGV[1], 'info', ARGV[2], 'at', ARGV[3], "
    "           'seen', ARGV[4], 'conn', ARGV[5], 'sessions', ARGV[6]) "
    "redis.call('expire', KEYS[1], ARGV[7]) "
    "if old and old ~= ARGV[1] then redis.call('publish', ARGV[9] .. old, ARGV[10]) end "
    "if ARGV[12] ~= '' then redis.call('publish', ARGV[11], ARGV[12]) end "
    "return ''";

enum { COUNTS_FLUSH_MS = 1000 };

/* ---- keys ---- */

static void robot_key(const char *id, char *out, size_t len)
{
    snprintf(out, len, "porthole:robot:%s", id);
}

static void expire_key(struct cluster *cl, const char *key)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%u", cl->cfg.ttl_s);
    const char *argv[] = {"EXPIRE", key, ttl};
    size_t lens[] = {6, strlen(key), strlen(ttl)};
    cl__command(cl, NULL, NULL, 3, argv, lens);
}

/* Clients are fields of one hash per instance, porthole:clients:<inst>
 * (clientId -> address), whose TTL the heartbeat refreshes with one
 * EXPIRE: a key per client refreshed one by one cost two Redis commands
 * per client every TTL/3, which at a few thousand clients per worker
 * queued the heartbeat's PING behind them (bench/million.sh). */
static void clients_key(const struct cluster *cl, char *out, size_t len)
{
    snprintf(out, len, "porthole:clients:%s", cl->inst);
}

/* The heartbeat of a robot's key: its last-seen time and session count,
 * and a fresh TTL. */
static void touch_robot_key(struct cluster *cl, const char *key, unsigned sessions)
{
    char seen[24], n[16];
    snprintf(seen, sizeof seen, "%lld", (long long)clock_wall_ms());
    snprintf(n, sizeof n, "%u", sessions);
    const char *argv[] = {"HSET", key, "seen", seen, "sessions", n};
    size_t lens[] = {4, strlen(key), 4, strlen(seen), 8, strlen(n)};
    cl__command(cl, NULL, NULL, 6, argv, lens);
    expire_key(cl, key);
}

static void delete_if_ours(struct cluster *cl, const char *kind, const char *id)
{
    char key[128];
    snprintf(key, sizeof key, "porthole:%s:%s", kind, id);
    const char *argv[] = {"EVAL", DEL_IF_OURS, "1", key, cl->inst};
    size_t lens[] = {4, sizeof(DEL_IF_OURS) - 1, 1, strlen(key), strlen(cl->inst)};
    cl__command(cl, NULL, NULL, 5, argv, lens);
}

void cl__write_inst_key(struct cluster *cl)
{
    char key[160], now[24], ttl[16];
    snprintf(key, sizeof key, "porthole:inst:%s", cl->inst);
    snprintf(now, sizeof now, "%lld", (long long)clock_wall_ms());
    snprintf(ttl, sizeof ttl, "%u", cl->cfg.ttl_s);
    const char *argv[] = {"SET", key, now, "EX", ttl};
    size_t lens[] = {3, strlen(key), strlen(now), 2, strlen(ttl)};
    cl__command(cl, NULL, NULL, 5, argv, lens);
}

/* ---- claims ---- */

/* How a claim meets another instance's holder of the id (CLAIM's mode). */
enum claim_mode {
    CLAIM_FORCE, /* a verified token: take it over */
    CLAIM_NEWER, /* the rewrite after an outage: the newer registration keeps it */
    CLAIM_FREE,  /* no token: a live holder keeps it */
};

static const char *const claim_mode_names[] = {
    [CLAIM_FORCE] = "force", [CLAIM_NEWER] = "newer", [CLAIM_FREE] = "free"};

struct claim_ctx {
    struct cluster *cl;
    enum claim_mode mode;
    char id[];
};

static void on_claimed(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    struct claim_ctx *c = priv;
    const redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_ERROR) {
        log_error("redis: claiming robot %s: %s", c->id, r->str);
    } else if (r && r->type == REDIS_REPLY_STRING && r->len && c->mode == CLAIM_NEWER) {
        log_warn("robot %s: registered again on instance %s while redis was unreachable; the "
                 "newer registration keeps the id", c->id, r->str);
        if (hmap_get(c->cl->robots, c->id, strlen(c->id)))
            router_robot_taken_over(c->cl->router, c->id, r->str);
    } else if (r && r->type == REDIS_REPLY_STRING && r->len && c->mode == CLAIM_FREE) {
        if (hmap_get(c->cl->robots, c->id, strlen(c->id))) {
            router_robot_id_held_elsewhere(c->cl->router, c->id, r->str);
            /* The holder's avail came while the id was still ours here, and
             * was ignored: ask the holder for its roster, so that local
             * clients learn the robot that kept the id. */
            char chan[256], hello[200];
            cl__inst_channel(c->cl, r->str, chan, sizeof chan);
            int len = snprintf(hello, sizeof hello, "hello %s\n", c->cl->inst);
            cl__publish(c->cl, chan, hello, (size_t)len);
        }
    }
    free(c);
}

/* Runs CLAIM for rb in mode; avail says whether robot-available goes out
 * (only when this instance keeps the id). */
static void claim_robot_key(struct cluster *cl, const struct cl_robot *rb, enum claim_mode mode,
                            bool avail)
{
    size_t idlen = strlen(rb->id);
    struct claim_ctx *c = malloc(sizeof(*c) + idlen + 1);
    size_t n = strlen(cl->inst) + idlen + strlen(rb->info) + 48;
    char *msg = malloc(n);
    if (!c || !msg) {
        log_error("cluster: out of memory claiming robot %s", rb->id);
        free(c);
        free(msg);
        return;
    }
    c->cl = cl;
    c->mode = mode;
    memcpy(c->id, rb->id, idlen + 1);
    char key[128], at[24], seen[24], count[16], ttl[16], prefix[64], take[256];
    static const char inst_prefix[] = "porthole:inst:"; /* cl__write_inst_key's */
    robot_key(rb->id, key, sizeof key);
    snprintf(at, sizeof at, "%lld", (long long)rb->at_ms);
    snprintf(seen, sizeof seen, "%lld", (long long)clock_wall_ms());
    snprintf(count, sizeof count, "%u", rb->sessions);
    snprintf(ttl, sizeof ttl, "%u", cl->cfg.ttl_s);
    cl__inst_channel(cl, "", prefix, sizeof prefix);
    snprintf(take, sizeof take, "takeover %s %s %s\n", cl->inst, rb->id, at);
    int len = avail ? snprintf(msg, n, "avail %s %s %s\n%s", cl->inst, rb->id, at, rb->info) : 0;
    msg[len] = '\0';
    const char *argv[] = {"EVAL", CLAIM, "1", key, cl->inst, rb->info, at, seen, rb->addr,
                          count, ttl, claim_mode_names[mode], prefix, take,
                          cl->chan_events, msg, inst_prefix};
    enum { N = sizeof argv / sizeof argv[0] };
    size_t lens[N];
    for (int i = 0; i < N; i++)
        lens[i] = strlen(argv[i]);
    cl__command(cl, on_claimed, c, N, argv, lens);
    free(msg);
}

/* ---- the seam: presence ---- */

void cl__robot_up(void *self, const char *id, const char *info, int64_t at_ms,
                  const char *addr, bool take_over)
{
    struct cluster *cl = self;
    struct cl_robot *rb = calloc(1, sizeof(*rb));
    if (!rb || !(rb->id = strdup(id)) || !(rb->info = strdup(info)) ||
        hmap_put(cl->robots, rb->id, strlen(rb->id), rb) != 0) {
        log_error("cluster: out of memory: robot %s is not announced to other instances", id);
        if (rb) {
            free(rb->id);
            free(rb->info);
        }
        free(rb);
        return;
    }
    rb->at_ms = at_ms;
    snprintf(rb->addr, sizeof rb->addr, "%s", addr ? addr : "?");
    if (take_over) {
        /* Local clients hear the old one go before the router announces
         * this one. */
        cl__remote_forget(cl, id);
        claim_robot_key(cl, rb, CLAIM_FORCE, true);
        return;
    }
    claim_robot_key(cl, rb, CLAIM_FREE, true);
}

void cl__robot_down(void *self, const char *id)
{
    struct cluster *cl = self;
    struct cl_robot *rb = hmap_remove(cl->robots, id, strlen(id));
    if (!rb)
        return;
    delete_if_ours(cl, "robot", id);
    char msg[256];
    int len = snprintf(msg, sizeof msg, "unavail %s %s %lld\n", cl->inst, id,
                       (long long)rb->at_ms);
    cl__publish(cl, cl->chan_events, msg, (size_t)len);
    free(rb->id);
    free(rb->info);
    free(rb);
}

void cl__client_up(void *self, const char *id, const char *addr)
{
    struct cluster *cl = self;
    struct cl_client *c = calloc(1, sizeof(*c));
    if (!c || !(c->id = strdup(id)) || hmap_put(cl->clients, c->id, strlen(c->id), c) != 0) {
        log_error("cluster: out of memory: client %s cannot reach other instances", id);
        if (c)
            free(c->id);
        free(c);
        return;
    }
    snprintf(c->addr, sizeof c->addr, "%s", addr ? addr : "?");
    char key[160];
    clients_key(cl, key, sizeof key);
    const char *argv[] = {"HSET", key, c->id, c->addr};
    size_t lens[] = {4, strlen(key), strlen(c->id), strlen(c->addr)};
    cl__command(cl, NULL, NULL, 4, argv, lens);
    if (hmap_count(cl->clients) == 1) /* the hash is new: it expires with us */
        expire_key(cl, key);
}

void cl__client_down(void *self, const char *id)
{
    struct cluster *cl = self;
    struct cl_client *c = hmap_remove(cl->clients, id, strlen(id));
    if (!c)
        return;
    char key[160];
    clients_key(cl, key, sizeof key);
    const char *argv[] = {"HDEL", key, id};
    size_t lens[] = {4, strlen(key), strlen(id)};
    cl__command(cl, NULL, NULL, 3, argv, lens);
    cl__client_forget(cl, c);
}

/* ---- session counts ---- */

struct counts_buf {
    struct cluster *cl;
    struct cl_text text;
    bool all;
};

/* Appends "<id> <n>\n" for rb when it changed (or for every robot), and
 * writes the count into its key. */
static bool count_line(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    struct counts_buf *b = arg;
    struct cl_robot *rb = value;
    if (!b->all && !rb->sessions_dirty)
        return true;
    if (!cl__text_add(&b->text, strlen(rb->id) + 16, "%s %u\n", rb->id, rb->sessions))
        return false;
    if (rb->sessions_dirty) {
        rb->sessions_dirty = false;
        char k[128], n[16];
        robot_key(rb->id, k, sizeof k);
        snprintf(n, sizeof n, "%u", rb->sessions);
        const char *argv[] = {"HSET", k, "sessions", n};
        size_t lens[] = {4, strlen(k), 8, strlen(n)};
        cl__command(b->cl, NULL, NULL, 4, argv, lens);
    }
    return true;
}

void cl__publish_counts(struct cluster *cl, const char *channel, bool all)
{
    struct counts_buf b = {.cl = cl, .all = all};
    hmap_foreach(cl->robots, count_line, &b);
    char header[200];
    snprintf(header, sizeof header, "sessions %s\n", cl->inst);
    if (b.text.failed)
        log_error("cluster: out of memory publishing session counts");
    else if (b.text.len)
        cl__send_to(cl, channel, header, b.text.data, b.text.len);
    free(b.text.data);
}

static void on_counts_timer(lws_sorted_usec_list_t *sul)
{
    struct cluster *cl = lws_container_of(sul, struct cluster, counts_timer);
    cl->counts_due = false;
    if (cl->state == CL_UP)
        cl__publish_counts(cl, cl->chan_events, false);
}

/* Changes within COUNTS_FLUSH_MS go out together: one PUBLISH for every
 * robot whose count changed, not one per session. */
void cl__robot_sessions(void *self, const char *id, unsigned n)
{
    struct cluster *cl = self;
    struct cl_robot *rb = hmap_get(cl->robots, id, strlen(id));
    if (!rb || rb->sessions == n)
        return;
    rb->sessions = n;
    rb->sessions_dirty = true;
    if (!cl->counts_due && cl->ctx && !cl->leaving) {
        cl->counts_due = true;
        lws_sul_schedule(cl->ctx, 0, &cl->counts_timer, on_counts_timer,
                         COUNTS_FLUSH_MS * LWS_US_PER_MS);
    }
}

/* ---- (re)publishing ---- */

static void republish_robot(struct cluster *cl, void *value, void *arg)
{
    struct cl_robot *rb = value;
    char key[128];
    robot_key(rb->id, key, sizeof key);
    if (arg)
        claim_robot_key(cl, rb, CLAIM_NEWER, false);
    else
        touch_robot_key(cl, key, rb->sessions);
}

enum { CLIENTS_PER_HSET = 512 };

struct clients_chunk {
    struct cluster *cl;
    const char *argv[2 + 2 * CLIENTS_PER_HSET];
    size_t lens[2 + 2 * CLIENTS_PER_HSET];
    int argc;
};

static void clients_flush(struct clients_chunk *k)
{
    if (k->argc > 2)
        cl__command(k->cl, NULL, NULL, k->argc, k->argv, k->lens);
    k->argc = 2;
}

static bool clients_add(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    struct clients_chunk *k = arg;
    const struct cl_client *c = value;
    k->argv[k->argc] = c->id;
    k->lens[k->argc++] = strlen(c->id);
    k->argv[k->argc] = c->addr;
    k->lens[k->argc++] = strlen(c->addr);
    if (k->argc == 2 + 2 * CLIENTS_PER_HSET)
        clients_flush(k);
    return true;
}

/* The whole clients hash again, CLIENTS_PER_HSET fields a command. */
static void rewrite_clients(struct cluster *cl)
{
    char key[160];
    clients_key(cl, key, sizeof key);
    struct clients_chunk *k = malloc(sizeof(*k));
    if (!k) {
        log_error("cluster: out of memory rewriting the clients");
        return;
    }
    k->cl = cl;
    k->argv[0] = "HSET";
    k->lens[0] = 4;
    k->argv[1] = key;
    k->lens[1] = strlen(key);
    k->argc = 2;
    hmap_foreach(cl->clients, clients_add, k);
    clients_flush(k);
    free(k);
    expire_key(cl, key);
}

void cl__presence_rewrite(struct cluster *cl)
{
    cl__each(cl->robots, republish_robot, cl, cl);
    if (hmap_count(cl->clients))
        rewrite_clients(cl);
}

void cl__presence_heartbeat(struct cluster *cl)
{
    cl__each(cl->robots, republish_robot, cl, NULL);
    if (hmap_count(cl->clients)) {
        char key[160];
        clients_key(cl, key, sizeof key);
        expire_key(cl, key);
    }
}

void cl__presence_leave(struct cluster *cl)
{
    char key[160];
    clients_key(cl, key, sizeof key);
    const char *argv[] = {"DEL", key};
    size_t lens[] = {3, strlen(key)};
    cl__command(cl, NULL, NULL, 2, argv, lens);
}
