/* test_coord_proxy.c - see test_coord_proxy.h. One thread polls the listening socket, a
 * wake-up pipe and every pair of sockets (at most MAX_PAIRS), copying bytes both ways. */
#include "tests/test_coord_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 32

struct CoordProxy {
    int listen_fd;
    int wake[2]; /* pipe: cut or stop */
    struct sockaddr_in upstream;
    GThread *thread;
    GMutex lock; /* guards the three fields below */
    bool stop;
    bool cut;
    gint64 refuse_until_us;  /* monotonic */
    int pairs[MAX_PAIRS][2]; /* client fd, server fd; -1 when free (proxy thread only) */
};

static void pair_close(CoordProxy *p, int i) {
    close(p->pairs[i][0]);
    close(p->pairs[i][1]);
    p->pairs[i][0] = p->pairs[i][1] = -1;
}

static void accept_one(CoordProxy *p) {
    int c = accept(p->listen_fd, NULL, NULL);
    if (c < 0)
        return;
    g_mutex_lock(&p->lock);
    bool refuse = g_get_monotonic_time() < p->refuse_until_us;
    g_mutex_unlock(&p->lock);
    int slot = -1;
    for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
        if (p->pairs[i][0] < 0)
            slot = i;
    int s = -1;
    if (!refuse && slot >= 0) {
        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s >= 0 && connect(s, (struct sockaddr *)&p->upstream, sizeof p->upstream) != 0) {
            close(s);
            s = -1;
        }
    }
    if (s < 0) {
        close(c);
        return;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    p->pairs[slot][0] = c;
    p->pairs[slot][1] = s;
}

/* Copies what is readable on pair i, side `from`; closes the pair on EOF or error. */
static void forward(CoordProxy *p, int i, int from) {
    char buf[65536];
    ssize_t n = read(p->pairs[i][from], buf, sizeof buf);
    if (n <= 0) {
        pair_close(p, i);
        return;
    }
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = write(p->pairs[i][1 - from], buf + off, (size_t)(n - off));
        if (w <= 0) {
            pair_close(p, i);
            return;
        }
        off += w;
    }
}

static gpointer proxy_main(gpointer ud) {
    CoordProxy *p = ud;
    for (;;) {
        struct pollfd fds[2 + 2 * MAX_PAIRS];
        int idx[2 * MAX_PAIRS];
        nfds_t n = 0;
        fds[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
        for (int i = 0; i < MAX_PAIRS; i++)
            for (int side = 0; side < 2 && p->pairs[i][0] >= 0; side++) {
                idx[n - 2] = i * 2 + side;
                fds[n++] = (struct pollfd){.fd = p->pairs[i][side], .events = POLLIN};
            }
        if (poll(fds, n, 1000) < 0 && errno != EINTR)
            break;
        g_mutex_lock(&p->lock);
        bool stop = p->stop, cut = p->cut;
        p->cut = false;
        g_mutex_unlock(&p->lock);
        if (fds[0].revents) {
            char b[64];
            (void)!read(p->wake[0], b, sizeof b);
        }
        if (stop || cut) {
            for (int i = 0; i < MAX_PAIRS; i++)
                if (p->pairs[i][0] >= 0)
                    pair_close(p, i);
            if (stop)
                break;
            continue;
        }
        if (fds[1].revents & POLLIN)
            accept_one(p);
        for (nfds_t k = 2; k < n; k++)
            if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) && p->pairs[idx[k - 2] / 2][0] >= 0)
                forward(p, idx[k - 2] / 2, idx[k - 2] % 2);
    }
    return NULL;
}

CoordProxy *coord_proxy_start(const char *upstream, int *port_out) {
    const char *colon = strrchr(upstream, ':');
    if (colon == NULL)
        return NULL;
    CoordProxy *p = g_new0(CoordProxy, 1);
    char *host = g_strndup(upstream, (size_t)(colon - upstream));
    p->upstream.sin_family = AF_INET;
    p->upstream.sin_port = htons((uint16_t)atoi(colon + 1));
    int ok = inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
                       &p->upstream.sin_addr);
    g_free(host);
    for (int i = 0; i < MAX_PAIRS; i++)
        p->pairs[i][0] = p->pairs[i][1] = -1;
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (ok != 1 || p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) ||
        listen(p->listen_fd, 16) || getsockname(p->listen_fd, (struct sockaddr *)&a, &alen) ||
        pipe(p->wake)) {
        if (p->listen_fd >= 0)
            close(p->listen_fd);
        g_free(p);
        return NULL;
    }
    *port_out = ntohs(a.sin_port);
    g_mutex_init(&p->lock);
    p->thread = g_thread_new("coord-proxy", proxy_main, p);
    return p;
}

static void poke(CoordProxy *p) {
    (void)!write(p->wake[1], "x", 1);
}

void coord_proxy_cut(CoordProxy *p, uint64_t refuse_ns) {
    g_mutex_lock(&p->lock);
    p->cut = true;
    p->refuse_until_us = g_get_monotonic_time() + (gint64)(refuse_ns / 1000u);
    g_mutex_unlock(&p->lock);
    poke(p);
}

void coord_proxy_stop(CoordProxy *p) {
    if (p == NULL)
        return;
    g_mutex_lock(&p->lock);
    p->stop = true;
    g_mutex_unlock(&p->lock);
    poke(p);
    g_thread_join(p->thread);
    close(p->listen_fd);
    close(p->wake[0]);
    close(p->wake[1]);
    g_mutex_clear(&p->lock);
    g_free(p);
}
