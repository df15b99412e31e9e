// Usage (root): xdp_drop_sink IFACE [SECONDS=0]
// Attaches a two-instruction XDP program (r0 = XDP_DROP; exit) natively to IFACE through a BPF link, holds it for
// SECONDS (0: until SIGINT/SIGTERM) and detaches it by exiting. The generator's own rate is measured into this sink
// (bench/drivers.sh GENRATE=1): the cheapest receiver a veth can have, so the rate is the generator's, not a receiver's.
// Exit 2 for bad arguments, 3 when the kernel refuses the load or the attach (the message says which).
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static long bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s IFACE [SECONDS]\n", argv[0]); return 2; }
    unsigned ifindex = if_nametoindex(argv[1]);
    if (!ifindex) { fprintf(stderr, "xdp_drop_sink: no interface %s here: check 'ip link'.\n", argv[1]); return 2; }
    int seconds = argc > 2 ? atoi(argv[2]) : 0;
    struct bpf_insn prog[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_DROP },
        { .code = BPF_JMP | BPF_EXIT },
    };
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_XDP;
    a.insns = (unsigned long)prog;
    a.insn_cnt = 2;
    a.license = (unsigned long)"GPL";
    a.expected_attach_type = BPF_XDP;
    int pfd = bpf(BPF_PROG_LOAD, &a);
    if (pfd < 0) { fprintf(stderr, "xdp_drop_sink: loading XDP_DROP failed: %s: run as root.\n", strerror(errno)); return 3; }
    memset(&a, 0, sizeof a);
    a.link_create.prog_fd = pfd;
    a.link_create.target_ifindex = ifindex;
    a.link_create.attach_type = BPF_XDP;
    a.link_create.flags = XDP_FLAGS_DRV_MODE;
    int lfd = bpf(BPF_LINK_CREATE, &a);
    if (lfd < 0) { fprintf(stderr, "xdp_drop_sink: attaching to %s failed: %s: detach the program already there (ip link set dev %s xdp off).\n", argv[1], strerror(errno), argv[1]); return 3; }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("xdp_drop_sink: XDP_DROP on %s (native)\n", argv[1]);
    fflush(stdout);
    for (int i = 0; !stop && (seconds == 0 || i < seconds * 10); i++) usleep(100000);
    return 0;
}
