/* routerfake.c - the router's unit-test fixture: a recording fake transport. */
#include "routerfake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/codec_json.h"

static int fake_send(void *conn, struct outbuf *b)
{
    struct routerfake_conn *c = conn;
    if (c->close_code || c->nmsgs == ROUTERFAKE_MSGS)
        return -1;
    c->msgs[c->nmsgs++] = strndup((const char *)outbuf_payload(b), b->len);
    return 0;
}

static void fake_close(void *conn, int code, const char *reason)
{
    struct routerfake_conn *c = conn;
    if (!c->close_code) {
        c->close_code = code;
        c->close_reason = reason;
    }
}

static void fake_http_answer(void *http, unsigned status, struct outbuf *body)
{
    struct routerfake_http *h = http;
    h->calls++;
    h->status = status;
    free(h->body);
    h->body = strndup((const char *)outbuf_payload(body), body->len);
}

static void fake_auth_failed(void *conn, const char *reason)
{
    (void)reason;
    ((struct routerfake_conn *)conn)->auth_failures++;
}

void routerfake_init(struct routerfake *f, const struct router_config *cfg,
                     const struct auth *auth, const char *addr, int64_t now)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(registry_mem_new(&f->reg), 0);
    f->tx = (struct transport){.send = fake_send, .close = fake_close,
                               .http_answer = fake_http_answer, .auth_failed = fake_auth_failed};
    f->cfg = *cfg;
    f->r = router_new(&f->cfg, &f->tx, auth, &f->reg);
    assert_non_null(f->r);
    f->now = now;
    for (int i = 0; i < ROUTERFAKE_CONNS; i++) {
        f->conns[i].peer = router_peer_open(f->r, &f->conns[i], &codec_json, addr, f->now);
        assert_non_null(f->conns[i].peer);
    }
}

void routerfake_clear(struct routerfake *f)
{
    for (int i = 0; i < ROUTERFAKE_CONNS; i++) {
        if (f->conns[i].peer)
            router_peer_closed(f->r, f->conns[i].peer);
        for (size_t m = 0; m < f->conns[i].nmsgs; m++)
            free(f->conns[i].msgs[m]);
    }
    router_free(f->r);
    registry_free(&f->reg);
}

void routerfake_send(struct routerfake *f, int conn, const char *text, size_t len)
{
    router_peer_message(f->r, f->conns[conn].peer, text, len, f->now);
}

void routerfake_disconnect(struct routerfake *f, int conn)
{
    router_peer_closed(f->r, f->conns[conn].peer);
    f->conns[conn].peer = NULL;
}

const char *routerfake_next_raw(struct routerfake *f, int conn)
{
    struct routerfake_conn *c = &f->conns[conn];
    if (c->read >= c->nmsgs)
        fail_msg("conn %d: expected a message, got nothing", conn);
    return c->msgs[c->read++];
}

json_t *routerfake_next(struct routerfake *f, int conn, const char *type)
{
    struct routerfake_conn *c = &f->conns[conn];
    if (c->read >= c->nmsgs)
        fail_msg("conn %d: expected %s, got nothing", conn, type);
    const char *raw = c->msgs[c->read++];
    json_t *j = json_loads(raw, 0, NULL);
    if (!j)
        fail_msg("conn %d: not JSON: %s", conn, raw);
    const char *t = json_string_value(json_object_get(j, "type"));
    if (!t || strcmp(t, type) != 0)
        fail_msg("conn %d: expected %s, got %s", conn, type, raw);
    return j;
}

void routerfake_expect_nothing(struct routerfake *f, int conn)
{
    struct routerfake_conn *c = &f->conns[conn];
    if (c->read != c->nmsgs)
        fail_msg("conn %d: unexpected message %s", conn, c->msgs[c->read]);
}
