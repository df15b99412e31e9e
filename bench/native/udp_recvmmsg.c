/* Kernel UDP socket receiver for bench/drivers.sh: binds 0.0.0.0:PORT, busy-polls recvmmsg(MSG_DONTWAIT) in
 * batches of 64 (a busy-polling kernel client, as a busy-polling Skiff must be compared with), prints datagrams
 * per second and the median of the seconds after the first.
 * Build: gcc -O2 -o udp_recvmmsg udp_recvmmsg.c    Run: udp_recvmmsg PORT SECONDS */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { long x = *(const long *)a, y = *(const long *)b; return (x > y) - (x < y); }

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: %s PORT SECONDS\n", argv[0]); return 2; }
    int port = atoi(argv[1]), seconds = atoi(argv[2]);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("socket"); return 3; }
    int rcvbuf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 3; }
    static char bufs[BATCH][2048];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i];
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
    }
    printf("udp_recvmmsg: port %d, busy-polling recvmmsg batch %d, %d s\n", port, BATCH, seconds);
    fflush(stdout);
    long *per = calloc(seconds + 2, sizeof(long));
    int nsec = 0;
    long count = 0, at = 0;
    double start = now(), tick = start + 1;
    while (nsec < seconds) {
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n > 0) count += n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR) { perror("recvmmsg"); return 3; }
        double t = now();
        if (t >= tick) {
            per[nsec++] = count - at;
            printf("udp_recvmmsg second %d: %ld pps\n", nsec, count - at);
            fflush(stdout);
            at = count; tick += 1;
        }
    }
    int skip = nsec > 2 ? 1 : 0; /* the first second includes start-up */
    qsort(per + skip, nsec - skip, sizeof(long), cmp);
    int m = nsec - skip;
    long median = m % 2 ? per[skip + m / 2] : (per[skip + m / 2 - 1] + per[skip + m / 2]) / 2;
    printf("udp_recvmmsg median: %ld pps\n", median);
    return 0;
}
