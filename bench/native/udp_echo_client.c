/* UDP echo load generator and latency client for bench/udp-echo.sh.
 *
 * Sends datagrams of --size bytes to an echo server; each carries a magic, a sequence number and the
 * CLOCK_MONOTONIC time it was sent. One thread busy-polls a connected UDP socket: sendmmsg for what is due,
 * recvmmsg(MSG_DONTWAIT) for the echoes, in batches of up to --batch.
 *   closed loop (default): keep --window requests outstanding; echoes/s then measures the server's capacity.
 *   open loop (--rate PPS): send at a fixed rate whatever comes back, for latency at a given load.
 * The round-trip time of an echo is the time recvmmsg returned it minus the send time it carries (one clock
 * read per syscall batch), so it includes both kernels' veth paths and the client's own batching.
 * --warmup seconds are not measured; then --seconds are. Echoes received in the measured window give the rate;
 * datagrams sent in it give the latency percentiles and the loss (an echo not back within --timeout-ms, or not
 * back at all after a final drain of --timeout-ms, is lost; one arriving after its timeout counts as late).
 * Is the client the bottleneck? It reports the share of its loop spent with nothing to do (no echo waiting and
 * nothing due to send) and the CPU it got (getrusage): near 0 % idle means the client's CPU, not the server, sets
 * the rate. On veth that CPU also runs the server's receive path (the sender's CPU does the receiver's work).
 * The last line is "RESULT key=value ..." for scripts.
 * Build: gcc -O2 -o udp_echo_client udp_echo_client.c
 * --gso sends each batch as one UDP_SEGMENT send (the kernel cuts it into --size datagrams; at most 64 a batch):
 * the same datagrams on the wire for a fraction of the client's per-datagram cost.
 * Run:   udp_echo_client --dst 10.0.0.2 --port 7 [--size 64] [--window 32 | --rate 50000] [--batch 32] [--gso]
 *                        [--warmup 1] [--seconds 5] [--timeout-ms 200] [--label NAME] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x534b4646u /* "SKFF" */
#define MAX_BATCH 256
#define MAX_GSO_SEGMENTS 64 /* UDP_MAX_SEGMENTS of older kernels */
#define RING (1u << 20)   /* outstanding requests tracked; more than rate x timeout needs */
#define FINE_NS 10        /* latency histogram: 10 ns buckets up to 2 ms ... */
#define FINE_BUCKETS 200000
#define COARSE_NS 10000   /* ... then 10 us buckets up to 10 s */
#define COARSE_BUCKETS 1000000

struct payload { uint32_t magic; uint32_t pad; uint64_t seq; uint64_t sent_ns; };
enum { FREE = 0, OUT = 1, DONE = 2, LOST = 3 };
struct slot { uint64_t seq; uint64_t sent_ns; uint8_t state; };

static inline uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint32_t *fine, *coarse;
static uint64_t samples, overflow, max_rtt;

static void record(uint64_t rtt)
{
    samples++;
    if (rtt > max_rtt) max_rtt = rtt;
    if (rtt / FINE_NS < FINE_BUCKETS) fine[rtt / FINE_NS]++;
    else if (rtt / COARSE_NS < COARSE_BUCKETS) coarse[rtt / COARSE_NS]++;
    else overflow++;
}

/* The smallest RTT (bucket upper edge, in microseconds) at or below which a fraction q of the samples lie. */
static double percentile(double q)
{
    if (samples == 0) return 0;
    uint64_t want = (uint64_t)(q * samples + 0.999999), seen = 0;
    if (want < 1) want = 1;
    for (uint64_t i = 0; i < FINE_BUCKETS; i++)
        if ((seen += fine[i]) >= want) return (i + 1) * FINE_NS / 1000.0;
    for (uint64_t i = 0; i < COARSE_BUCKETS; i++)
        if ((seen += coarse[i]) >= want) return (i + 1) * (double)COARSE_NS / 1000.0;
    return max_rtt / 1000.0;
}

static void usage(const char *p)
{
    fprintf(stderr,
            "usage: %s --dst IP [--port 7] [--size 64] [--window 32 | --rate PPS] [--batch 32] [--warmup 1] [--seconds 5]\n"
            "          [--timeout-ms 200] [--gso] [--label NAME]\n", p);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *dst = NULL, *label = "echo";
    int port = 7, size = 64, window = 32, batch = 32, gso = 0;
    double rate = 0, warmup = 1, seconds = 5, timeout_ms = 200;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--gso")) { gso = 1; continue; }
        if (i + 1 >= argc) usage(argv[0]);
        if (!strcmp(argv[i], "--dst")) dst = argv[++i];
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size")) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--window")) window = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rate")) rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--timeout-ms")) timeout_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--label")) label = argv[++i];
        else usage(argv[0]);
    }
    if (!dst || port < 1 || port > 65535 || size < (int)sizeof(struct payload) || size > 1472 || window < 1 ||
        window >= (int)RING / 2 || batch < 1 || batch > MAX_BATCH || rate < 0 || seconds <= 0 || warmup < 0 || timeout_ms <= 0)
        usage(argv[0]);
    if (gso && batch > MAX_GSO_SEGMENTS) batch = MAX_GSO_SEGMENTS;
    const int closed = rate == 0;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("udp_echo_client: socket"); return 3; }
    int buf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, dst, &to.sin_addr) != 1) { fprintf(stderr, "udp_echo_client: bad address %s\n", dst); return 2; }
    /* Connected: no per-send route lookup, and only the server's datagrams come in. */
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("udp_echo_client: connect"); return 3; }
    /* --gso: one send of k x size bytes leaves as k datagrams of size bytes (UDP_SEGMENT, segmented in software
     * when the device lacks UDP segmentation): one trip through the socket and IP layers per batch. */
    if (gso && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, sizeof size) != 0) { perror("udp_echo_client: UDP_SEGMENT"); return 3; }
    static char gbuf[MAX_GSO_SEGMENTS * 1500];

    fine = calloc(FINE_BUCKETS, sizeof *fine);
    coarse = calloc(COARSE_BUCKETS, sizeof *coarse);
    struct slot *ring = calloc(RING, sizeof *ring);
    static char sbuf[MAX_BATCH][1500], rbuf[MAX_BATCH][1500];
    static struct iovec siov[MAX_BATCH], riov[MAX_BATCH];
    static struct mmsghdr smsg[MAX_BATCH], rmsg[MAX_BATCH];
    if (!fine || !coarse || !ring) { fprintf(stderr, "udp_echo_client: out of memory\n"); return 3; }
    for (int i = 0; i < MAX_BATCH; i++) {
        memset(sbuf[i], 0x5a, sizeof sbuf[i]);
        siov[i] = (struct iovec){ sbuf[i], (size_t)size };
        riov[i] = (struct iovec){ rbuf[i], sizeof rbuf[i] };
        smsg[i].msg_hdr = (struct msghdr){ .msg_iov = &siov[i], .msg_iovlen = 1 };
        rmsg[i].msg_hdr = (struct msghdr){ .msg_iov = &riov[i], .msg_iovlen = 1 };
    }

    if (closed)
        printf("udp_echo_client %s: %s:%d, %d-byte payloads, closed loop, window %d, batch %d%s, warm-up %.1f s, measure %.1f s\n",
               label, dst, port, size, window, batch, gso ? " (UDP GSO)" : "", warmup, seconds);
    else
        printf("udp_echo_client %s: %s:%d, %d-byte payloads, open loop at %.0f pps, batch %d%s, warm-up %.1f s, measure %.1f s\n",
               label, dst, port, size, rate, batch, gso ? " (UDP GSO)" : "", warmup, seconds);
    fflush(stdout);

    const uint64_t timeout = (uint64_t)(timeout_ms * 1e6);
    const uint64_t t0 = now_ns();
    const uint64_t m_start = t0 + (uint64_t)(warmup * 1e9), m_end = m_start + (uint64_t)(seconds * 1e9);
    const uint64_t drain_end = m_end + timeout;
    uint64_t next_seq = 0, oldest = 0, outstanding = 0;
    uint64_t m_first_seq = UINT64_MAX, m_last_seq = 0; /* datagrams sent in the measured window: [first, last) */
    uint64_t m_received = 0, m_sent = 0, m_lost = 0, late = 0, dups = 0, bad = 0, send_errors = 0, ring_full = 0;
    uint64_t loops = 0, idle_ns = 0, send_calls = 0, recv_calls = 0, recv_msgs = 0;
    uint64_t behind = 0; /* open loop: datagrams more than one batch late at the end */
    uint64_t t = t0;

    for (;;) {
        uint64_t loop_start = t;
        int did = 0;
        /* Send what is due. */
        if (t < m_end) {
            uint64_t want;
            if (closed) want = outstanding < (uint64_t)window ? (uint64_t)window - outstanding : 0;
            else {
                uint64_t due = (uint64_t)((double)(t - t0) * rate / 1e9) + 1;
                want = due > next_seq ? due - next_seq : 0;
            }
            if (want > (uint64_t)batch) want = batch;
            if (want > 0 && next_seq - oldest + want >= RING) { ring_full++; want = 0; }
            if (want > 0) {
                uint64_t ts = now_ns();
                for (uint64_t i = 0; i < want; i++) {
                    struct payload *p = (struct payload *)(gso ? gbuf + i * size : sbuf[i]);
                    p->magic = MAGIC;
                    p->seq = next_seq + i;
                    p->sent_ns = ts;
                }
                int n;
                if (gso) {
                    n = send(fd, gbuf, want * size, 0) < 0 ? -1 : (int)want;
                } else {
                    n = sendmmsg(fd, smsg, (unsigned)want, 0);
                }
                send_calls++;
                if (n < 0) {
                    if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR && errno != ECONNREFUSED) {
                        perror("udp_echo_client: sendmmsg");
                        return 3;
                    }
                    send_errors++;
                    n = 0;
                }
                for (int i = 0; i < n; i++) {
                    struct slot *s = &ring[next_seq & (RING - 1)];
                    s->seq = next_seq;
                    s->sent_ns = ts;
                    s->state = OUT;
                    if (ts >= m_start && ts < m_end) {
                        if (m_first_seq == UINT64_MAX) m_first_seq = next_seq;
                        m_last_seq = next_seq + 1;
                        m_sent++;
                    }
                    next_seq++;
                    outstanding++;
                }
                if (n > 0) did = 1;
            }
        }
        /* Take the echoes that are there. */
        int r = recvmmsg(fd, rmsg, batch, MSG_DONTWAIT, NULL);
        t = now_ns();
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED) {
            perror("udp_echo_client: recvmmsg");
            return 3;
        }
        if (r > 0) {
            did = 1;
            recv_calls++;
            recv_msgs += r;
            for (int i = 0; i < r; i++) {
                const struct payload *p = (const struct payload *)rbuf[i];
                if (rmsg[i].msg_len < sizeof *p || p->magic != MAGIC) { bad++; continue; }
                struct slot *s = &ring[p->seq & (RING - 1)];
                if (s->seq != p->seq || p->seq >= next_seq) { bad++; continue; }
                if (s->state == OUT) {
                    s->state = DONE;
                    outstanding--;
                    if (t >= m_start && t < m_end) m_received++;
                    if (p->sent_ns >= m_start && p->sent_ns < m_end) record(t - p->sent_ns);
                } else if (s->state == LOST) late++;
                else dups++;
            }
        }
        /* Retire the oldest requests: answered ones, and ones past their timeout (lost). */
        while (oldest < next_seq) {
            struct slot *s = &ring[oldest & (RING - 1)];
            if (s->state == OUT) {
                if (t - s->sent_ns <= timeout) break;
                s->state = LOST;
                outstanding--;
                if (oldest >= m_first_seq && oldest < m_last_seq) m_lost++;
            }
            oldest++;
        }
        loops++;
        if (!did) idle_ns += t - loop_start;
        if (t >= m_end && (outstanding == 0 || t >= drain_end)) break;
    }
    if (!closed) {
        uint64_t due = (uint64_t)((double)(m_end - t0) * rate / 1e9) + 1;
        if (due > next_seq + (uint64_t)batch) behind = due - next_seq;
    }
    /* Whatever is still outstanding after the drain is lost. */
    for (uint64_t q = oldest; q < next_seq; q++) {
        struct slot *s = &ring[q & (RING - 1)];
        if (s->state == OUT && q >= m_first_seq && q < m_last_seq) m_lost++;
    }

    double secs = (double)(m_end - m_start) / 1e9;
    double pps = m_received / secs, sent_pps = m_sent / secs;
    double idle_pct = 100.0 * idle_ns / (double)(t - t0);
    double loss_pct = m_sent ? 100.0 * m_lost / m_sent : 0;
    printf("  sent %lu in the measured %.1f s (%.0f pps), echoes received %lu (%.0f pps), lost %lu (%.3f %%), late %lu, duplicates %lu, malformed %lu\n",
           (unsigned long)m_sent, secs, sent_pps, (unsigned long)m_received, pps, (unsigned long)m_lost, loss_pct,
           (unsigned long)late, (unsigned long)dups, (unsigned long)bad);
    printf("  RTT us: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (%lu samples)\n",
           percentile(0.50), percentile(0.90), percentile(0.99), percentile(0.999), max_rtt / 1000.0, (unsigned long)samples);
    printf("  client: %.1f %% of its loop idle (nothing to send, no echo waiting), %.1f echoes per recvmmsg, %lu send calls",
           idle_pct, recv_calls ? (double)recv_msgs / recv_calls : 0.0, (unsigned long)send_calls);
    if (send_errors) printf(", %lu sendmmsg errors (ENOBUFS/EAGAIN)", (unsigned long)send_errors);
    if (ring_full) printf(", %lu sends held back (tracking ring full)", (unsigned long)ring_full);
    printf("\n");
    /* How much of its CPU the client got: less than the wall time means others ran on it (a shared machine). */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double wall = (double)(t - t0) / 1e9;
    double usr = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("  client CPU: user %.2f s + system %.2f s over %.2f s wall (%.0f %%), %ld involuntary context switches\n",
           usr, sys, wall, 100 * (usr + sys) / wall, ru.ru_nivcsw);
    const char *bound;
    if (!closed && behind > 0) bound = "client-bound: it fell behind the requested rate";
    else if (idle_pct < 5) bound = "the client's CPU is saturated (under 5 % idle; on veth it also carries the server's receive path): "
                                   "the client side may set this rate";
    else bound = "the client waited on the server: the client is not the bottleneck";
    printf("  verdict: %s%s\n", bound, 100 * (usr + sys) / wall < 90 ? "; the client got under 90 % of its CPU (other load)" : "");
    printf("RESULT label=%s mode=%s window=%d rate=%.0f size=%d sent=%lu received=%lu pps=%.0f sent_pps=%.0f p50_us=%.2f p90_us=%.2f "
           "p99_us=%.2f p999_us=%.2f max_us=%.2f lost=%lu loss_pct=%.3f late=%lu client_idle_pct=%.1f client_cpu_pct=%.0f behind=%lu gso=%d\n",
           label, closed ? "closed" : "open", closed ? window : 0, rate, size, (unsigned long)m_sent, (unsigned long)m_received, pps,
           sent_pps, percentile(0.50), percentile(0.90), percentile(0.99), percentile(0.999), max_rtt / 1000.0, (unsigned long)m_lost,
           loss_pct, (unsigned long)late, idle_pct, 100 * (usr + sys) / wall, (unsigned long)behind, gso);
    return 0;
}
