/* cluster_bus.c - what instances say to each other over Redis pub/sub
 * (cluster.h): robot presence events and rosters, forwarded client
 * messages and their deliveries, and the caches they keep (other
 * instances' robots, where each local client's messages went, the
 * stand-ins of other instances' clients).
 *
 * A message is one header line, "<kind> <from-instance> [<arg> [<arg>]]",
 * then a payload:
 *   avail <i> <robotId> <atMs>\n<deviceInfo>    (events)
 *   unavail <i> <robotId> <atMs>\n                (events)
 *   roster <i>\n(<robotId> <atMs> <deviceInfo>\n)* (events, or to a hello's sender)
 *   sessions <i>\n(<robotId> <n>\n)*            (events, after a roster, or
 *                                                  batched counts that changed)
 *   takeover <i> <robotId> <atMs>\n              (to the robot's old instance,
 *                                                  from cluster_presence.c's claim)
 *   hello <i>\n   bye <i>\n                       (events)
 *   fwd <i> <clientId>\n<claims JSON or empty>\n<message>   (to the robot's instance)
 *   deliver <i> <clientId>\n<message>             (to the client's instance)
 *   gone <i> <clientId>\n                         (to instances holding a stand-in)
 *   close <i> <clientId>\n                        (to the client's instance)
 * Ids never hold spaces or newlines (protocol.c's name syntax, and
 * compact JSON has no raw newline). */
#include "cloud/cluster_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/token.h"
#include "common/clock.h"
#include "common/log.h"

enum { FIELD_MAX = 160 };

/* ---- helpers ---- */

struct collect {
    void **v;
    size_t n, cap;
};

static bool collect_value(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    struct collect *c = arg;
    if (c->n == c->cap)
        return false;
    c->v[c->n++] = value;
    return true;
}

void cl__each(struct hmap *map, void (*fn)(struct cluster *cl, void *value, void *arg),
              struct cluster *cl, void *arg)
{
    size_t n = hmap_count(map);
    if (!n)
        return;
    struct collect c = {.v = calloc(n, sizeof(void *)), .cap = n};
    if (!c.v) {
        log_error("cluster: out of memory visiting %zu entries", n);
        return;
    }
    hmap_foreach(map, collect_value, &c);
    for (size_t i = 0; i < c.n; i++)
        fn(cl, c.v[i], arg);
    free(c.v);
}

void cl__know_inst(struct cluster *cl, const char *inst)
{
    if (strcmp(inst, cl->inst) == 0 || hmap_get(cl->insts, inst, strlen(inst)))
        return;
    char *name = strdup(inst);
    if (name && hmap_put(cl->insts, name, strlen(name), name) != 0)
        free(name);
}

bool cl__send_to(struct cluster *cl, const char *channel, const char *header,
                    const char *payload, size_t len)
{
    size_t hl = strlen(header);
    char *msg = malloc(hl + len + 1);
    if (!msg)
        return false;
    memcpy(msg, header, hl);
    if (len)
        memcpy(msg + hl, payload, len);
    bool ok = cl__publish(cl, channel, msg, hl + len);
    free(msg);
    return ok;
}

bool cl__send_to_inst(struct cluster *cl, const char *inst, const char *header,
                      const char *payload, size_t len)
{
    char chan[256];
    cl__inst_channel(cl, inst, chan, sizeof chan);
    return cl__send_to(cl, chan, header, payload, len);
}

/* ---- other instances' robots ---- */

static void remote_free(struct cl_remote *e)
{
    free(e->id);
    free(e->inst);
    free(e->info);
    free(e);
}

static void announce(struct cluster *cl, const struct cl_remote *e, bool available)
{
    const struct router_remote_robot rr = {.id = e->id, .device_info = e->info,
                                           .connected_at_ms = e->at_ms};
    router_remote_robot(cl->router, &rr, available);
}

/* Drops e from the cache and tells local clients it went. */
static void remote_gone(struct cluster *cl, struct cl_remote *e)
{
    hmap_remove(cl->remotes, e->id, strlen(e->id));
    announce(cl, e, false);
    remote_free(e);
}

/* robot id is online on inst since at_ms: local clients hear of it once
 * (a repeat of what the cache holds says nothing; a robot that moved was
 * first unavailable). */
static void remote_set(struct cluster *cl, const char *inst, const char *id, int64_t at_ms,
                       const char *info)
{
    struct cl_remote *e = hmap_get(cl->remotes, id, strlen(id));
    if (e && strcmp(e->inst, inst) == 0 && e->at_ms == at_ms)
        return;
    /* The newest registration of an id wins: a roster or an avail of the
     * connection it replaced may still be on its way (a takeover). */
    if (hmap_get(cl->robots, id, strlen(id)) || (e && e->at_ms > at_ms))
        return;
    if (e)
        remote_gone(cl, e);
    e = calloc(1, sizeof(*e));
    if (!e || !(e->id = strdup(id)) || !(e->inst = strdup(inst)) || !(e->info = strdup(info)) ||
        hmap_put(cl->remotes, e->id, strlen(e->id), e) != 0) {
        log_error("cluster: out of memory: robot %s of %s is not listed here", id, inst);
        if (e)
            remote_free(e);
        return;
    }
    e->at_ms = at_ms;
    cl__know_inst(cl, inst);
    announce(cl, e, true);
}

void cl__remote_forget(struct cluster *cl, const char *id)
{
    struct cl_remote *e = hmap_get(cl->remotes, id, strlen(id));
    if (e)
        remote_gone(cl, e);
}

/* inst's session counts, "<id> <n>" lines; /robots shows them. */
static void on_counts(struct cluster *cl, const char *inst, char *body)
{
    char *save = NULL;
    for (char *line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        struct cl_remote *e = hmap_get(cl->remotes, line, strlen(line));
        long n = strtol(sp + 1, NULL, 10);
        if (e && strcmp(e->inst, inst) == 0 && n >= 0 && n <= 1000000)
            e->sessions = (unsigned)n;
    }
}

static void remote_unset(struct cluster *cl, const char *inst, const char *id, int64_t at_ms)
{
    struct cl_remote *e = hmap_get(cl->remotes, id, strlen(id));
    if (e && strcmp(e->inst, inst) == 0 && (!at_ms || e->at_ms == at_ms))
        remote_gone(cl, e);
}

/* One roster line "<id> <atMs> <info>": fills the pointers into line
 * (modified). Returns false when malformed. */
static bool roster_line(char *line, char **id, int64_t *at, char **info)
{
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2)
        return false;
    *sp1 = *sp2 = '\0';
    *id = line;
    *at = strtoll(sp1 + 1, NULL, 10);
    *info = sp2 + 1;
    return **id && **info;
}

struct reconcile {
    const char *inst;
    struct hmap *seen;   /* ids in the roster */
};

static void drop_unlisted(struct cluster *cl, void *value, void *arg)
{
    struct reconcile *rc = arg;
    struct cl_remote *e = value;
    if (strcmp(e->inst, rc->inst) == 0 && !hmap_get(rc->seen, e->id, strlen(e->id)))
        remote_gone(cl, e);
}

/* inst's whole roster: robots missing from it went away while messages
 * were lost (Redis down), robots new in it came. */
static void on_roster(struct cluster *cl, const char *inst, char *body)
{
    struct reconcile rc = {.inst = inst, .seen = hmap_new()};
    if (!rc.seen)
        return;
    char *save = NULL;
    for (char *line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *id, *info;
        int64_t at;
        if (!roster_line(line, &id, &at, &info))
            continue;
        hmap_put(rc.seen, id, strlen(id), id);
        remote_set(cl, inst, id, at, info);
    }
    cl__each(cl->remotes, drop_unlisted, cl, &rc);
    hmap_free(rc.seen);
    cl__know_inst(cl, inst);
}

bool cl__text_add(struct cl_text *t, size_t max, const char *fmt, ...)
{
    if (t->failed)
        return false;
    if (t->len + max > t->cap) {
        size_t cap = (t->cap + max) * 2;
        char *d = realloc(t->data, cap);
        if (!d) {
            t->failed = true;
            return false;
        }
        t->data = d;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < t->cap - t->len ? (size_t)n : t->cap - t->len - 1;
    return true;
}

static bool roster_add(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    const struct cl_robot *rb = value;
    return cl__text_add(arg, strlen(rb->id) + strlen(rb->info) + 32, "%s %lld %s\n", rb->id,
                        (long long)rb->at_ms, rb->info);
}

void cl__publish_roster(struct cluster *cl, const char *channel)
{
    struct cl_text b = {0};
    hmap_foreach(cl->robots, roster_add, &b);
    char header[200];
    snprintf(header, sizeof header, "roster %s\n", cl->inst);
    if (b.failed)
        log_error("cluster: out of memory writing the roster");
    else
        cl__send_to(cl, channel, header, b.data ? b.data : "", b.len);
    free(b.data);
    cl__publish_counts(cl, channel, true);
}

bool cl__robot_elsewhere(void *self, const char *robot_id)
{
    struct cluster *cl = self;
    /* Degraded, the cache may be stale: serve the robot here. */
    return cl->state == CL_UP && hmap_get(cl->remotes, robot_id, strlen(robot_id));
}

struct visit {
    router_remote_visit_fn fn;
    void *arg;
};

static bool visit_remote(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    const struct cl_remote *e = value;
    struct visit *v = arg;
    const struct router_remote_robot rr = {.id = e->id, .device_info = e->info,
                                           .connected_at_ms = e->at_ms,
                                           .sessions = e->sessions};
    return v->fn(&rr, v->arg);
}

void cl__foreach_robot(void *self, router_remote_visit_fn fn, void *arg)
{
    struct cluster *cl = self;
    struct visit v = {fn, arg};
    hmap_foreach(cl->remotes, visit_remote, &v);
}

/* ---- forwarding (the client's instance) ---- */

static bool client_knows_inst(struct cl_client *c, const char *inst)
{
    for (size_t i = 0; i < c->ninsts; i++)
        if (strcmp(c->insts[i], inst) == 0)
            return true;
    char **grown = realloc(c->insts, (c->ninsts + 1) * sizeof(*grown));
    if (!grown)
        return false;
    c->insts = grown;
    if (!(c->insts[c->ninsts] = strdup(inst)))
        return false;
    c->ninsts++;
    return true;
}

/* The JSON of claims for a stand-in (token_claims_from_json's input), or
 * NULL without claims. Caller frees. */
char *cl__claims_text(const struct token_claims *claims)
{
    if (!claims)
        return NULL;
    json_t *robots = json_array();
    for (size_t i = 0; robots && i < claims->n_robots; i++)
        json_array_append_new(robots, json_string(claims->robots[i]));
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:o*}", "sub", claims->sub, "role",
                          token_role_name(claims->role), "scope",
                          token_scope_name(claims->scope), "exp", (json_int_t)claims->exp,
                          "robots", robots);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

bool cl__forward(void *self, const char *client_id, const struct token_claims *claims,
                 const char *robot_id, const char *sid, const char *text, size_t len)
{
    struct cluster *cl = self;
    struct cl_client *c = hmap_get(cl->clients, client_id, strlen(client_id));
    if (cl->state != CL_UP || !c)
        return false;
    const char *inst = NULL;
    if (robot_id) {
        const struct cl_remote *e = hmap_get(cl->remotes, robot_id, strlen(robot_id));
        inst = e ? e->inst : NULL;
    } else if (sid && c->sids) {
        const struct cl_sid *s = hmap_get(c->sids, sid, strlen(sid));
        inst = s ? s->inst : NULL;
    }
    if (!inst || !client_knows_inst(c, inst))
        return false;
    char *ctext = cl__claims_text(claims);
    size_t hl = strlen(cl->inst) + strlen(client_id) + (ctext ? strlen(ctext) : 0) + 16;
    char *header = malloc(hl);
    bool sent = false;
    if (header) {
        snprintf(header, hl, "fwd %s %s\n%s\n", cl->inst, client_id, ctext ? ctext : "");
        sent = cl__send_to_inst(cl, inst, header, text, len);
    }
    free(header);
    free(ctext);
    return sent;
}

static void sid_note(struct cl_client *c, const char *sid, const char *inst, bool open)
{
    if (!open) {
        free(c->sids ? hmap_remove(c->sids, sid, strlen(sid)) : NULL);
        return;
    }
    if (!c->sids && !(c->sids = hmap_new()))
        return;
    size_t n = strlen(inst);
    struct cl_sid *s = calloc(1, sizeof(*s) + n + 1);
    if (!s || strlen(sid) >= sizeof s->sid) {
        free(s);
        return;
    }
    snprintf(s->sid, sizeof s->sid, "%s", sid);
    memcpy(s->inst, inst, n + 1);
    if (hmap_put(c->sids, s->sid, strlen(s->sid), s) != 0)
        free(s);
}

/* A delivery from inst to local client id: sessions opened and closed
 * there are noted, so that the client's next messages about them go
 * there. The other instance encodes type first (codec_json). */
static void on_deliver(struct cluster *cl, const char *inst, const char *id, const char *text,
                       size_t len)
{
    static const char created[] = "{\"type\":\"session-created\"";
    static const char closed[] = "{\"type\":\"session-closed\"";
    struct cl_client *c = hmap_get(cl->clients, id, strlen(id));
    if (!c)
        return;
    bool is_created = len > sizeof created && memcmp(text, created, sizeof created - 1) == 0;
    bool is_closed = len > sizeof closed && memcmp(text, closed, sizeof closed - 1) == 0;
    if (is_created || is_closed) {
        json_t *msg = json_loadb(text, len, 0, NULL);
        const char *sid = json_string_value(json_object_get(msg, "sessionId"));
        if (sid)
            sid_note(c, sid, inst, is_created);
        json_decref(msg);
    }
    router_deliver(cl->router, id, text, len);
}

static bool free_sid(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    (void)arg;
    free(value);
    return true;
}

void cl__client_forget(struct cluster *cl, struct cl_client *c)
{
    char header[300];
    snprintf(header, sizeof header, "gone %s %s\n", cl->inst, c->id);
    for (size_t i = 0; i < c->ninsts; i++) {
        cl__send_to_inst(cl, c->insts[i], header, "", 0);
        free(c->insts[i]);
    }
    free(c->insts);
    if (c->sids) {
        hmap_foreach(c->sids, free_sid, NULL);
        hmap_free(c->sids);
    }
    free(c->id);
    free(c);
}

/* ---- an instance that died ---- */

static void drop_remote_of(struct cluster *cl, void *value, void *arg)
{
    struct cl_remote *e = value;
    if (strcmp(e->inst, arg) == 0)
        remote_gone(cl, e);
}

static void close_proxy_of(struct cluster *cl, void *value, void *arg)
{
    struct cl_proxy *p = value;
    if (strcmp(p->inst, arg) == 0)
        cl__close_proxy_later(cl, p);
}

struct dead_sids {
    const char *inst;
    char *sids[64];
    size_t n;
};

static bool collect_dead_sid(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    struct cl_sid *s = value;
    struct dead_sids *d = arg;
    if (strcmp(s->inst, d->inst) == 0 && d->n < 64)
        d->sids[d->n++] = s->sid;
    return true;
}

/* The local client's sessions on inst end as if its robot disconnected. */
static void end_sessions_on(struct cluster *cl, void *value, void *arg)
{
    struct cl_client *c = value;
    if (!c->sids)
        return;
    struct dead_sids d = {.inst = arg};
    hmap_foreach(c->sids, collect_dead_sid, &d);
    for (size_t i = 0; i < d.n; i++) {
        char msg[200];
        int n = snprintf(msg, sizeof msg, "{\"type\":\"session-closed\",\"sessionId\":\"%s\","
                         "\"reason\":\"peer-disconnected\"}", d.sids[i]);
        router_deliver(cl->router, c->id, msg, (size_t)n);
        free(hmap_remove(c->sids, d.sids[i], strlen(d.sids[i])));
    }
}

void cl__inst_dead(struct cluster *cl, const char *inst_in, bool left)
{
    char *inst = hmap_remove(cl->insts, inst_in, strlen(inst_in));
    if (!inst)
        return;
    if (left)
        log_info("cluster: instance %s left: its robots are unavailable", inst);
    else
        log_warn("cluster: instance %s is gone (its presence expired): its robots are "
                 "unavailable, sessions with them end", inst);
    /* As when a local robot disconnects: its sessions end, then it goes. */
    cl__each(cl->clients, end_sessions_on, cl, inst);
    cl__each(cl->remotes, drop_remote_of, cl, inst);
    cl__each(cl->proxies, close_proxy_of, cl, inst);
    cl__http_inst_dead(cl, inst);
    free(inst);
}

/* ---- incoming ---- */

/* from claimed robot id's presence key for a registration made at at_ms:
 * ours, if older, is closed (a newer one of ours keeps going). */
static void on_takeover(struct cluster *cl, const char *from, const char *id, int64_t at_ms)
{
    const struct cl_robot *rb = hmap_get(cl->robots, id, strlen(id));
    if (rb && rb->at_ms <= at_ms)
        router_robot_taken_over(cl->router, id, from);
}

void cl__on_message(struct cluster *cl, const char *payload, size_t len)
{
    const char *nl = memchr(payload, '\n', len);
    size_t hl = nl ? (size_t)(nl - payload) : 0;
    if (!nl || hl >= 3 * FIELD_MAX)
        return;
    char header[3 * FIELD_MAX], *f[4] = {0}, *save = NULL;
    memcpy(header, payload, hl);
    header[hl] = '\0';
    int nf = 0;
    for (char *t = strtok_r(header, " ", &save); t && nf < 4; t = strtok_r(NULL, " ", &save))
        f[nf++] = t;
    if (nf < 2 || strcmp(f[1], cl->inst) == 0)
        return; /* malformed, or our own event back */
    size_t blen = len - hl - 1;
    char *body = malloc(blen + 1);
    if (!body)
        return;
    memcpy(body, nl + 1, blen);
    body[blen] = '\0';
    const char *kind = f[0], *from = f[1];
    int64_t at = nf > 3 ? strtoll(f[3], NULL, 10) : 0;
    if (strcmp(kind, "avail") == 0 && nf == 4)
        remote_set(cl, from, f[2], at, body);
    else if (strcmp(kind, "unavail") == 0 && nf == 4)
        remote_unset(cl, from, f[2], at);
    else if (strcmp(kind, "roster") == 0)
        on_roster(cl, from, body);
    else if (strcmp(kind, "sessions") == 0)
        on_counts(cl, from, body);
    else if (strcmp(kind, "takeover") == 0 && nf == 4)
        on_takeover(cl, from, f[2], at);
    else if (strcmp(kind, "hello") == 0) {
        char chan[256];
        cl__know_inst(cl, from);
        cl__inst_channel(cl, from, chan, sizeof chan);
        cl__publish_roster(cl, chan);
    } else if (strcmp(kind, "bye") == 0)
        cl__inst_dead(cl, from, true);
    else if (strcmp(kind, "fwd") == 0 && nf == 3)
        cl__on_fwd(cl, from, f[2], body, blen);
    else if (strcmp(kind, "deliver") == 0 && nf == 3)
        on_deliver(cl, from, f[2], body, blen);
    else if (strcmp(kind, "gone") == 0 && nf == 3)
        cl__on_gone(cl, from, f[2]);
    else if (strcmp(kind, "close") == 0 && nf == 3)
        router_close_client(cl->router, f[2]);
    else if (strcmp(kind, "http") == 0 && nf == 3)
        cl__on_http(cl, from, f[2], body, blen);
    else if (strcmp(kind, "answer") == 0 && nf == 4)
        cl__on_answer(cl, f[2], (unsigned)at, body, blen);
    free(body);
}

/* ---- freeing ---- */

static void free_robot(struct cluster *cl, void *value, void *arg)
{
    (void)arg;
    struct cl_robot *rb = value;
    hmap_remove(cl->robots, rb->id, strlen(rb->id));
    free(rb->id);
    free(rb->info);
    free(rb);
}

static void free_client(struct cluster *cl, void *value, void *arg)
{
    (void)arg;
    struct cl_client *c = value;
    hmap_remove(cl->clients, c->id, strlen(c->id));
    cl->state = CL_DOWN; /* no "gone" messages: the connections are closed */
    cl__client_forget(cl, c);
}

static void free_remote(struct cluster *cl, void *value, void *arg)
{
    (void)arg;
    struct cl_remote *e = value;
    hmap_remove(cl->remotes, e->id, strlen(e->id));
    remote_free(e);
}

static void free_inst(struct cluster *cl, void *value, void *arg)
{
    (void)arg;
    hmap_remove(cl->insts, value, strlen(value));
    free(value);
}

void cl__free_caches(struct cluster *cl)
{
    if (cl->robots)
        cl__each(cl->robots, free_robot, cl, NULL);
    if (cl->clients)
        cl__each(cl->clients, free_client, cl, NULL);
    if (cl->remotes)
        cl__each(cl->remotes, free_remote, cl, NULL);
    if (cl->insts)
        cl__each(cl->insts, free_inst, cl, NULL);
}
