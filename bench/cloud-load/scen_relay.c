/* scen_relay.c - S3, relay: one established session per client (create,
 * offer, answer), then ICE-sized ice-candidate messages both ways, at most
 * --window in flight per session and direction. Each message carries its
 * send time (CLOCK_MONOTONIC) and its session's index in an extra field,
 * "bench", that the cloud relays untouched. Figures: messages relayed per
 * second, one-way latency, server CPU per message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "scenario.h"

/* Directions: robot to client, client to robot. */
enum { TO_CLIENT, TO_ROBOT };

/* Messages one connection writes per writeable callback at most, and per
 * received message (refilling the window it freed). */
#define SEND_BUDGET 64
#define REFILL_BUDGET 4

/* {"type":"ice-candidate","sessionId":"<sid>","bench":"<19 digits>/<8 digits>",... */
#define HEAD "{\"type\":\"ice-candidate\",\"sessionId\":\""
#define BENCH "\",\"bench\":\""
#define HEAD_LEN (sizeof(HEAD) - 1)
#define T_OFF (HEAD_LEN + MSG_SID_LEN + sizeof(BENCH) - 1)
#define T_DIGITS 19
#define I_DIGITS 8
#define MIN_LEN (T_OFF + T_DIGITS + 1 + I_DIGITS)
#define TPL_MAX 400

struct rsess {
    struct conn *robot, *client;
    char sid[MSG_SID_LEN + 1];
    bool established;
    unsigned inflight[2];
    char tpl[TPL_MAX];        /* the message, times and index to fill in */
    size_t tpl_len;
};

struct rrobot {
    unsigned *sess;           /* indices of its sessions */
    size_t n, cap, next;      /* next: where its next writeable starts */
};

struct relay_state {
    struct rsess *sess;       /* per client of this worker */
    struct rrobot *robots;    /* per robot of this worker */
    struct conn **ready_robots;
    size_t nready, wanted, established;
    bool sending;
    uint64_t inflight;        /* over all sessions and directions */
    int64_t win_start, win_end;
};

static double relay_run_limit(const struct load_opts *o)
{
    return o->warmup_s + o->duration_s + 10;
}

static int relay_create(struct worker *w)
{
    struct relay_state *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    w->scen = r;
    r->sess = calloc(w->nclients ? w->nclients : 1, sizeof(*r->sess));
    r->robots = calloc(w->nrobots ? w->nrobots : 1, sizeof(*r->robots));
    r->ready_robots = calloc(w->nrobots ? w->nrobots : 1, sizeof(*r->ready_robots));
    return r->sess && r->robots && r->ready_robots ? 0 : -1;
}

static void relay_destroy(struct worker *w)
{
    struct relay_state *r = w->scen;
    for (size_t i = 0; r->robots && i < w->nrobots; i++)
        free(r->robots[i].sess);
    free(r->robots);
    free(r->ready_robots);
    free(r->sess);
    free(r);
}

/* Opens one session per registered client, spread over the robots. */
static void relay_prepare(struct worker *w)
{
    struct relay_state *r = w->scen;
    for (size_t i = 0; i < w->nrobots; i++)
        if (worker_robot(w, i)->state == CONN_REGISTERED)
            r->ready_robots[r->nready++] = worker_robot(w, i);
    for (size_t i = 0; r->nready && i < w->nclients; i++) {
        struct conn *c = worker_client(w, i);
        if (c->state != CONN_REGISTERED)
            continue;
        struct conn *robot = r->ready_robots[i % r->nready];
        if (conn_sendf(c, "{\"type\":\"create-session\",\"robotId\":\"%s\",\"streamTypes\":"
                          "[\"color\"]}",
                       robot->id) == 0)
            r->wanted++;
    }
    if (!r->wanted) {
        load_set_error(w->res, "no session could be requested (robots or clients missing)");
        worker_prepared(w);
    }
}

static int add_robot_session(struct rrobot *rr, unsigned idx)
{
    if (rr->n == rr->cap) {
        size_t cap = rr->cap ? 2 * rr->cap : 16;
        unsigned *s = realloc(rr->sess, cap * sizeof(*s));
        if (!s)
            return -1;
        rr->sess = s;
        rr->cap = cap;
    }
    rr->sess[rr->n++] = idx;
    return 0;
}

/* The robot got create-session: link the session, answer with an offer. */
static void robot_create_session(struct worker *w, struct conn *c, const char *m, size_t len)
{
    struct relay_state *r = w->scen;
    char sid[MSG_SID_LEN + 1], client_id[MSG_NAME_MAX + 1];
    int widx;
    unsigned idx;
    if (msg_str(m, len, "sessionId", sid, sizeof(sid)) != MSG_SID_LEN ||
        !msg_str(m, len, "clientId", client_id, sizeof(client_id)) ||
        sscanf(client_id, "lc%d-%u", &widx, &idx) != 2 || widx != w->index ||
        idx >= w->nclients) {
        load_set_error(w->res, "%s: unexpected create-session %.120s", c->id, m);
        return;
    }
    struct rsess *s = &r->sess[idx];
    memcpy(s->sid, sid, sizeof(sid));
    s->robot = c;
    s->client = worker_client(w, idx);
    if (add_robot_session(&r->robots[c->index], idx) != 0) {
        load_set_error(w->res, "out of memory");
        return;
    }
    int n = snprintf(s->tpl, sizeof(s->tpl),
                     HEAD "%s" BENCH "%0*d/%0*u\",\"candidate\":{\"candidate\":\"%s\","
                          "\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}",
                     sid, T_DIGITS, 0, I_DIGITS, idx, msg_candidate(6));
    s->tpl_len = n > 0 && (size_t)n < sizeof(s->tpl) ? (size_t)n : 0;
    conn_sendf(c, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\","
                  "\"sdp\":\"%s\"}}",
               sid, msg_offer_sdp());
}

static void client_offer(struct worker *w, struct conn *c)
{
    struct relay_state *r = w->scen;
    struct rsess *s = &r->sess[c->index];
    if (!s->robot || s->established)
        return;
    conn_sendf(c, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":"
                  "\"answer\",\"sdp\":\"%s\"}}",
               s->sid, msg_answer_sdp());
    s->established = true;
    if (++r->established == r->wanted)
        worker_prepared(w);
}

static void put_digits(char *at, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        at[i] = (char)('0' + v % 10);
}

static uint64_t get_digits(const char *at, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(at[i] - '0');
    return v;
}

/* Writes s's messages in direction dir while its window and c's socket
 * allow, within *budget. Returns false when stopped by c or the budget
 * (c wants another writeable callback), true when the window is full. */
static bool fill_window(struct relay_state *r, struct worker *w, struct conn *c, struct rsess *s,
                        int dir, int *budget)
{
    unsigned char buf[CONN_PRE + TPL_MAX];
    unsigned char *p = buf + CONN_PRE;
    while (s->inflight[dir] < (unsigned)w->o->window) {
        if (*budget <= 0 || !conn_can_write(c))
            return false;
        memcpy(p, s->tpl, s->tpl_len);
        put_digits((char *)p + T_OFF, (uint64_t)load_now_ns(), T_DIGITS);
        if (conn_write(c, p, s->tpl_len) != 0)
            return false;
        s->inflight[dir]++;
        r->inflight++;
        (*budget)--;
    }
    return true;
}

static bool relay_writeable(struct worker *w, struct conn *c)
{
    struct relay_state *r = w->scen;
    if (!r->sending)
        return false;
    int budget = SEND_BUDGET;
    if (c->role == CONN_CLIENT) {
        struct rsess *s = &r->sess[c->index];
        return s->established && s->tpl_len && !fill_window(r, w, c, s, TO_ROBOT, &budget);
    }
    /* A robot serves many sessions: start where the last callback stopped. */
    struct rrobot *rr = &r->robots[c->index];
    for (size_t k = 0; k < rr->n; k++) {
        size_t at = (rr->next + k) % rr->n;
        struct rsess *s = &r->sess[rr->sess[at]];
        if (s->established && s->tpl_len && !fill_window(r, w, c, s, TO_CLIENT, &budget)) {
            rr->next = at;
            return true;
        }
    }
    return false;
}

/* An ice-candidate came through: free its window slot, time it, and wake
 * its sender. */
static void relayed(struct worker *w, struct relay_state *r, struct conn *c, const char *m,
                    size_t len, int64_t now)
{
    uint64_t idx = len >= MIN_LEN ? get_digits(m + T_OFF + T_DIGITS + 1, I_DIGITS) : UINT64_MAX;
    if (idx >= w->nclients || memcmp(m + HEAD_LEN, r->sess[idx].sid, MSG_SID_LEN) != 0) {
        load_set_error(w->res, "%s: ice-candidate of no session of ours: %.120s", c->id, m);
        return;
    }
    struct rsess *s = &r->sess[idx];
    int dir = c->role == CONN_CLIENT ? TO_CLIENT : TO_ROBOT;
    if (s->inflight[dir]) {
        s->inflight[dir]--;
        r->inflight--;
    }
    if (now >= r->win_start && now < r->win_end) {
        int64_t sent = (int64_t)get_digits(m + T_OFF, T_DIGITS);
        hist_add(&w->res->lat, (uint64_t)(now - sent));
        w->res->count++;
        w->res->bytes += len;
    }
    if (!r->sending)
        return;
    /* Refill the freed slot at once rather than in the sender's next
     * writeable callback: that would cost the generator a pass of its
     * event loop per message. Writing outside the writeable callback is
     * safe while nothing is left buffered in lws (conn_can_write). */
    struct conn *sender = dir == TO_CLIENT ? s->robot : s->client;
    int budget = REFILL_BUDGET;
    if (!conn_can_write(sender) || !fill_window(r, w, sender, s, dir, &budget))
        conn_want_write(sender);
}

static void relay_message(struct worker *w, struct conn *c, const char *type, const char *m,
                          size_t len, int64_t now)
{
    struct relay_state *r = w->scen;
    if (strcmp(type, "ice-candidate") == 0)
        relayed(w, r, c, m, len, now);
    else if (c->role == CONN_ROBOT && strcmp(type, "create-session") == 0)
        robot_create_session(w, c, m, len);
    else if (c->role == CONN_CLIENT && strcmp(type, "webrtc-offer") == 0)
        client_offer(w, c);
}

static void relay_start(struct worker *w)
{
    struct relay_state *r = w->scen;
    r->win_start = load_window_start(w->b, w->o);
    r->win_end = load_window_end(w->b, w->o);
    r->sending = true;
    for (size_t i = 0; i < w->nclients; i++)
        if (r->sess[i].established) {
            conn_want_write(r->sess[i].robot);
            conn_want_write(r->sess[i].client);
        }
}

static void relay_tick(struct worker *w, int64_t now)
{
    struct relay_state *r = w->scen;
    if (r->sending && now >= r->win_end)
        r->sending = false; /* what is in flight still arrives */
    if (!r->sending && !r->inflight)
        worker_finished(w);
    w->res->unfinished = r->inflight;
}

static void relay_report(const struct report *r, struct jline *j)
{
    const struct result *res = r->res;
    jl_int(j, "sessions", r->o->clients);
    jl_int(j, "robots", r->o->robots);
    jl_int(j, "window", r->o->window);
    jl_num(j, "msg_bytes", res->count ? (double)res->bytes / (double)res->count : NAN, 0);
    jl_num(j, "duration_s", r->o->duration_s, 1);
    jl_int(j, "messages", (long long)res->count);
    jl_num(j, "msgs_per_s", (double)res->count / r->o->duration_s, 0);
    report_latency(j, "latency", &res->lat);
    jl_int(j, "unfinished", (long long)res->unfinished);
    report_cpu(j, &r->w0, &r->w1, (double)res->count, "msg");
}

const struct scenario scenario_relay = {
    .name = "relay",
    .summary = "S3: established sessions relay ICE-sized messages both ways, windowed",
    .default_clients = 64,
    .default_robots = 8,
    .robots_register = true,
    .run_limit_s = relay_run_limit,
    .create = relay_create,
    .prepare = relay_prepare,
    .start = relay_start,
    .tick = relay_tick,
    .message = relay_message,
    .writeable = relay_writeable,
    .destroy = relay_destroy,
    .report = relay_report,
};
