/* scen_session.c - S2, session setup: every client loops create-session ->
 * (robot: webrtc-offer, ~3 KB SDP, and --ice candidates) -> webrtc-answer
 * (~2 KB) and --ice candidates -> close-session -> session-closed.
 * Figures: sessions per second, create-to-offer latency on the client's
 * clock (create-session sent to webrtc-offer received). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "scenario.h"

struct sclient {
    int64_t t_create;        /* create-session queued */
    unsigned cands;          /* robot candidates received */
    bool answered;           /* answer and own candidates queued */
    bool busy;               /* a session is under way */
    char sid[MSG_SID_LEN + 1];
};

struct session_state {
    struct sclient *cl;      /* per client of this worker */
    struct conn **robots;    /* registered robots */
    size_t nrobots;
    bool running;            /* clients start new sessions */
    size_t active;           /* clients with a session under way */
    int64_t win_start, win_end;
};

static double session_run_limit(const struct load_opts *o)
{
    return o->warmup_s + o->duration_s + 10;
}

static int session_create(struct worker *w)
{
    struct session_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->cl = calloc(w->nclients ? w->nclients : 1, sizeof(*s->cl));
    s->robots = calloc(w->nrobots ? w->nrobots : 1, sizeof(*s->robots));
    w->scen = s;
    return s->cl && s->robots ? 0 : -1;
}

static void session_destroy(struct worker *w)
{
    struct session_state *s = w->scen;
    free(s->cl);
    free(s->robots);
    free(s);
}

/* Client c starts its next session with one of the robots. */
static void begin(struct worker *w, struct session_state *s, struct conn *c, int64_t now)
{
    struct sclient *st = &s->cl[c->index];
    struct conn *robot = s->robots[c->index % s->nrobots];
    if (conn_sendf(c, "{\"type\":\"create-session\",\"robotId\":\"%s\",\"streamTypes\":[\"color\"]}",
                   robot->id) != 0) {
        load_set_error(w->res, "%s: cannot send create-session", c->id);
        return;
    }
    st->t_create = now;
    st->cands = 0;
    st->answered = false;
    st->busy = true;
    s->active++;
}

static void session_start(struct worker *w)
{
    struct session_state *s = w->scen;
    for (size_t i = 0; i < w->nrobots; i++)
        if (worker_robot(w, i)->state == CONN_REGISTERED)
            s->robots[s->nrobots++] = worker_robot(w, i);
    s->win_start = load_window_start(w->b, w->o);
    s->win_end = load_window_end(w->b, w->o);
    if (!s->nrobots) {
        load_set_error(w->res, "no robot registered: no session can start");
        worker_finished(w);
        return;
    }
    s->running = true;
    int64_t now = load_now_ns();
    for (size_t i = 0; i < w->nclients; i++)
        if (worker_client(w, i)->state == CONN_REGISTERED)
            begin(w, s, worker_client(w, i), now);
}

static void send_candidates(struct worker *w, struct conn *c, const char *sid)
{
    for (int k = 0; k < w->o->ice; k++)
        conn_sendf(c,
                   "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":{\"candidate\":"
                   "\"%s\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}",
                   sid, msg_candidate((unsigned)k + (c->role == CONN_ROBOT ? 0 : 5)));
}

static void robot_message(struct worker *w, struct conn *c, const char *type, const char *m,
                          size_t len)
{
    if (strcmp(type, "create-session") != 0)
        return; /* answers, candidates, session-closed: nothing to do */
    char sid[MSG_SID_LEN + 1];
    if (!msg_str(m, len, "sessionId", sid, sizeof(sid))) {
        load_set_error(w->res, "%s: create-session without a sessionId", c->id);
        return;
    }
    conn_sendf(c, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\","
                  "\"sdp\":\"%s\"}}",
               sid, msg_offer_sdp());
    send_candidates(w, c, sid);
}

static void session_over(struct worker *w, struct session_state *s, struct conn *c, bool closed,
                         int64_t now)
{
    struct sclient *st = &s->cl[c->index];
    if (!st->busy)
        return;
    st->busy = false;
    s->active--;
    if (closed && now >= s->win_start && now < s->win_end)
        w->res->count++;
    if (s->running)
        begin(w, s, c, now);
}

static void client_message(struct worker *w, struct session_state *s, struct conn *c,
                           const char *type, const char *m, size_t len, int64_t now)
{
    struct sclient *st = &s->cl[c->index];
    if (strcmp(type, "webrtc-offer") == 0) {
        if (st->t_create >= s->win_start && st->t_create < s->win_end)
            hist_add(&w->res->lat, (uint64_t)(now - st->t_create));
        if (!msg_str(m, len, "sessionId", st->sid, sizeof(st->sid))) {
            load_set_error(w->res, "%s: webrtc-offer without a sessionId", c->id);
            return;
        }
        conn_sendf(c, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":"
                      "\"answer\",\"sdp\":\"%s\"}}",
                   st->sid, msg_answer_sdp());
        send_candidates(w, c, st->sid);
        st->answered = true;
    } else if (strcmp(type, "ice-candidate") == 0) {
        st->cands++;
    } else if (strcmp(type, "session-closed") == 0) {
        session_over(w, s, c, true, now);
        return;
    } else if (strcmp(type, "session-error") == 0) {
        session_over(w, s, c, false, now); /* counted by the worker */
        return;
    } else {
        return; /* session-created, robot-available... */
    }
    if (st->answered && st->cands == (unsigned)w->o->ice)
        conn_sendf(c, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", st->sid);
}

static void session_message(struct worker *w, struct conn *c, const char *type, const char *m,
                            size_t len, int64_t now)
{
    if (w->phase != PH_RUN)
        return;
    if (c->role == CONN_ROBOT)
        robot_message(w, c, type, m, len);
    else
        client_message(w, w->scen, c, type, m, len, now);
}

static void session_tick(struct worker *w, int64_t now)
{
    struct session_state *s = w->scen;
    if (s->running && now >= s->win_end)
        s->running = false; /* sessions under way finish; no new ones */
    if (!s->running && !s->active)
        worker_finished(w);
    w->res->unfinished = s->active;
}

static void session_report(const struct report *r, struct jline *j)
{
    const struct result *res = r->res;
    jl_int(j, "clients", r->o->clients);
    jl_int(j, "robots", r->o->robots);
    jl_int(j, "ice_each_way", r->o->ice);
    jl_num(j, "duration_s", r->o->duration_s, 1);
    jl_int(j, "sessions", (long long)res->count);
    jl_num(j, "sessions_per_s", (double)res->count / r->o->duration_s, 0);
    report_latency(j, "create_to_offer", &res->lat);
    jl_int(j, "unfinished", (long long)res->unfinished);
    report_cpu(j, &r->w0, &r->w1, (double)res->count, "session");
}

const struct scenario scenario_session = {
    .name = "session",
    .summary = "S2: clients loop create-session, offer, answer, ICE each way, close",
    .default_clients = 100,
    .default_robots = 10,
    .robots_register = true,
    .run_limit_s = session_run_limit,
    .create = session_create,
    .start = session_start,
    .tick = session_tick,
    .message = session_message,
    .destroy = session_destroy,
    .report = session_report,
};
