/* Kernel UDP echo server for bench/udp-echo.sh: binds ADDR:PORT, receives with recvmmsg in batches and sends
 * every datagram back to its source with one sendmmsg per batch. Busy-polls by default (recvmmsg with
 * MSG_DONTWAIT, as a busy-polling Skiff must be compared with a busy-polling kernel, BENCHMARKS.md); --block
 * waits in recvmmsg instead (MSG_WAITFORONE: returns as soon as one datagram is there, with what else is queued).
 * Runs until SIGINT/SIGTERM or --seconds, then prints datagrams echoed, sendmmsg shortfalls and the average batch.
 * Build: gcc -O2 -o udp_echo_mmsg udp_echo_mmsg.c
 * Run:   udp_echo_mmsg [--addr 0.0.0.0] [--port 7] [--batch 64] [--block] [--seconds N] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define BUF_BYTES 2048

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void usage(const char *p)
{
    fprintf(stderr, "usage: %s [--addr A] [--port P] [--batch N (1-%d)] [--block] [--seconds S]\n", p, MAX_BATCH);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = "0.0.0.0";
    int port = 7, batch = 64, block = 0;
    double seconds = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--addr") && i + 1 < argc) addr = argv[++i];
        else if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--block")) block = 1;
        else usage(argv[0]);
    }
    if (batch < 1 || batch > MAX_BATCH || port < 1 || port > 65535) usage(argv[0]);

    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("udp_echo_mmsg: socket"); return 3; }
    int buf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf); /* root only; falls back to the default */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) { fprintf(stderr, "udp_echo_mmsg: bad address %s\n", addr); return 2; }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("udp_echo_mmsg: bind"); return 3; }
    if (block) {
        /* A receive timeout so a blocking recvmmsg notices --seconds and signals without traffic. */
        struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }

    static char bufs[MAX_BATCH][BUF_BYTES];
    static struct iovec iov[MAX_BATCH];
    static struct sockaddr_in peers[MAX_BATCH];
    static struct mmsghdr msgs[MAX_BATCH];
    for (int i = 0; i < batch; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = BUF_BYTES;
    }
    printf("udp_echo_mmsg: %s:%d, recvmmsg/sendmmsg batch %d, %s\n", addr, port, batch,
           block ? "blocking (MSG_WAITFORONE)" : "busy-polling (MSG_DONTWAIT)");
    fflush(stdout);

    long echoed = 0, calls = 0, short_sends = 0, send_errors = 0;
    double end = seconds > 0 ? now() + seconds : 0;
    while (!stop && (end == 0 || now() < end)) {
        for (int i = 0; i < batch; i++) {
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &peers[i];
            msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
            iov[i].iov_len = BUF_BYTES;
        }
        int n = recvmmsg(fd, msgs, batch, block ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            perror("udp_echo_mmsg: recvmmsg");
            return 3;
        }
        calls++;
        /* Send each datagram back: the received length becomes the iovec length, the source the destination. */
        for (int i = 0; i < n; i++) iov[i].iov_len = msgs[i].msg_len;
        int done = 0;
        while (done < n) {
            int s = sendmmsg(fd, msgs + done, n - done, 0);
            if (s < 0) {
                if (errno == EINTR) continue;
                /* ENOBUFS/EAGAIN: the datagram is dropped, as a kernel echo under overload would. */
                send_errors++;
                done++;
                continue;
            }
            if (s < n - done) short_sends++;
            done += s;
            echoed += s;
        }
    }
    printf("udp_echo_mmsg: stopped; echoed %ld datagrams in %ld receive batches (average %.1f), %ld short sendmmsg, %ld send errors\n",
           echoed, calls, calls ? (double)echoed / calls : 0.0, short_sends, send_errors);
    return 0;
}
