/* redis_lws.c - hiredis's asynchronous API on libwebsockets' loop: the
 * adopted socket's callback and hiredis's five event hooks. */
#include "cloud/redis_lws.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"

/* One attached context. Owned by the hooks: freed when both sides are
 * gone (hiredis called cleanup, and lws closed the adopted descriptor). */
struct redis_lws {
    redisAsyncContext *ac;   /* NULL once hiredis forgot it */
    struct lws *wsi;         /* NULL once lws closed it */
};

/* hiredis 0.14 wants read interest on and off; an adopted raw file is
 * always watched for reading, and a read with nothing there is harmless
 * to hiredis (it reads again later), so these are no-ops. */
static void add_read(void *privdata)
{
    (void)privdata;
}

static void del_read(void *privdata)
{
    (void)privdata;
}

/* lws asks for POLLOUT once per request and drops it after the writeable
 * callback: hiredis asks again while it has more to write. */
static void add_write(void *privdata)
{
    struct redis_lws *a = privdata;
    if (a->wsi)
        lws_callback_on_writable(a->wsi);
}

static void del_write(void *privdata)
{
    (void)privdata;
}

/* hiredis frees the context (after its disconnect callback): close our
 * copy of the descriptor, from lws's own loop, not from here. */
static void cleanup(void *privdata)
{
    struct redis_lws *a = privdata;
    a->ac = NULL;
    if (a->wsi) {
        lws_set_opaque_user_data(a->wsi, a);
        lws_set_timeout(a->wsi, 1, LWS_TO_KILL_ASYNC);
    } else {
        free(a);
    }
}

int redis_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    struct redis_lws *a = lws_get_opaque_user_data(wsi);
    if (!a)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (a->ac)
            redisAsyncHandleRead(a->ac);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        if (a->ac)
            redisAsyncHandleWrite(a->ac);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        lws_set_opaque_user_data(wsi, NULL);
        a->wsi = NULL;
        if (!a->ac) {
            free(a);
        } else {
            /* lws gave up on the socket (hang-up or error) while hiredis
             * still holds it: let hiredis read the end of the stream and
             * disconnect, which calls cleanup. */
            log_debug("redis: the loop closed the socket; disconnecting");
            redisAsyncHandleRead(a->ac);
        }
        return 0;
    default:
        return 0;
    }
}

int redis_lws_attach(redisAsyncContext *ac, struct lws_vhost *vh)
{
    struct redis_lws *a = calloc(1, sizeof(*a));
    int fd = a ? fcntl(ac->c.fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd < 0) {
        free(a);
        return -1;
    }
    lws_adopt_desc_t desc = {
        .vh = vh,
        .type = LWS_ADOPT_RAW_FILE_DESC,
        .fd = {.filefd = fd},
        .vh_prot_name = REDIS_LWS_PROTOCOL_NAME,
        .opaque = a,
    };
    a->wsi = lws_adopt_descriptor_vhost_via_info(&desc);
    if (!a->wsi) {
        close(fd);
        free(a);
        return -1;
    }
    a->ac = ac;
    ac->ev.data = a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    /* hiredis asked for writing before it had hooks (the connect). */
    lws_callback_on_writable(a->wsi);
    return 0;
}
