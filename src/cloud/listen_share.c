/* listen_share.c - the SO_REUSEPORT listening socket of --workers
 * (listen_share.h): accepts on the lws loop and adopts into the vhost. */
#include "cloud/listen_share.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

int listen_share_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    if (reason != LWS_CALLBACK_RAW_RX_FILE)
        return 0;
    int lfd = lws_get_socket_fd(wsi);
    struct lws_vhost *vh = lws_get_vhost(wsi);
    /* Take what is waiting, a bounded batch per wakeup. */
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("accept: %s", strerror(errno));
            break;
        }
        if (!lws_adopt_socket_vhost(vh, fd))
            close(fd); /* lws logged why (out of memory, limits) */
    }
    return 0;
}

int listen_share_start(struct lws_vhost *vh, const char *bind_addr, long port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t slen;
    if (*bind_addr && inet_pton(AF_INET, bind_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        slen = sizeof *v4;
    } else {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        v6->sin6_addr = in6addr_any;
        if (*bind_addr)
            inet_pton(AF_INET6, bind_addr, &v6->sin6_addr);
        slen = sizeof *v6;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    if (fd >= 0 && ss.ss_family == AF_INET6 && !*bind_addr)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, slen) != 0 || listen(fd, SOMAXCONN) != 0) {
        log_error("cannot listen on %s port %ld with SO_REUSEPORT: %s",
                  *bind_addr ? bind_addr : "all interfaces", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    lws_sock_file_fd_type desc = {.filefd = fd};
    if (!lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, desc,
                                    LISTEN_SHARE_PROTOCOL_NAME, NULL)) {
        log_error("cannot watch the listening socket");
        close(fd);
        return -1;
    }
    return 0;
}
