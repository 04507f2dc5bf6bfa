// SPDX-License-Identifier: GPL-2.0
/*
 * ipivm: a real 2-vCPU VM, built directly with the KVM API, in which vCPU0
 * sends a known number of x2APIC IPIs to halted vCPU1.  It is the workload
 * that ipitrace's host mode (--host --vcpu-kick) is tested against, and it
 * counts everything itself, independently of any tracer.
 *
 * Guest (long mode, identity-mapped first 2 MiB, in-kernel irqchip, x2APIC):
 *   vCPU0: loop { in al,0xe0 (host: wait for the previous IPI's ack, sleep
 *          the gap, answer 1=send/0=stop); wrmsr ICR(0x830) = dest 1,
 *          fixed, vector 0xf0; sent++ } ; out 0xef (done)
 *   vCPU1: SVR(0x80f) = 0x1ff; while (received < N) { halts++; sti; hlt }
 *          out 0xee (done)
 *          vector 0xf0 handler: received++; EOI(0x80b); iretq
 *
 * So every IPI finds vCPU1 halted, and a run of N IPIs makes exactly N halts
 * and N halt wakeups of vCPU1 (the host poll/block decides which kind).
 *
 * The vCPU threads are named like QEMU's ("CPU 0/KVM", "CPU 1/KVM"), or
 * with --anonymous keep the process's name, as other VMMs leave them.
 *
 * Exit status: 0 all N IPIs sent and received, 1 count mismatch,
 * 2 setup or KVM error, 3 timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Guest physical layout (identity mapped). */
#define MEM_SIZE	0x400000ULL
#define GDT_ADDR	0x1000
#define PML4_ADDR	0x2000
#define PDPT_ADDR	0x3000
#define PD_ADDR		0x4000
#define IDT_ADDR	0x5000
#define CODE_ADDR	0x8000
#define SHM_ADDR	0xa000
#define STACK0_TOP	0x20000
#define STACK1_TOP	0x30000

/* Shared counters (guest writes, host reads). */
#define SHM_SENT	0x00
#define SHM_RECV	0x08
#define SHM_HALTS	0x10
#define SHM_TARGET	0x18	/* host: N; vCPU1 stops after N IPIs */

#define IPI_VECTOR	0xf0
#define IPI_DEST	1
#define ICR_LOW		(0x4000 | IPI_VECTOR)	/* fixed, assert, physical */
#define PORT_REQ	0xe0
#define PORT_DONE	0xef
#define PORT_DONE1	0xee

#define STR_(x)		#x
#define STR(x)		STR_(x)

/* Guest code: position independent except for absolute SHM addresses. */
asm(".pushsection .rodata\n"
    ".balign 16\n"
    "guest_code_start:\n"
    "guest_vcpu0_entry:\n"
    ".Lg0_loop:\n"
    "	inb $" STR(PORT_REQ) ", %al\n"
    "	testb %al, %al\n"
    "	jz .Lg0_done\n"
    "	movl $0x830, %ecx\n"
    "	movl $" STR(IPI_DEST) ", %edx\n"
    "	movl $" STR(ICR_LOW) ", %eax\n"
    "	wrmsr\n"
    "	incq " STR(SHM_ADDR) "+" STR(SHM_SENT) "\n"
    "	jmp .Lg0_loop\n"
    ".Lg0_done:\n"
    "	outb %al, $" STR(PORT_DONE) "\n"
    "	jmp .Lg0_done\n"
    "guest_vcpu1_entry:\n"
    "	movl $0x80f, %ecx\n"
    "	movl $0x1ff, %eax\n"
    "	xorl %edx, %edx\n"
    "	wrmsr\n"
    ".Lg1_loop:\n"
    "	movq " STR(SHM_ADDR) "+" STR(SHM_TARGET) ", %rax\n"
    "	cmpq %rax, " STR(SHM_ADDR) "+" STR(SHM_RECV) "\n"
    "	jae .Lg1_done\n"
    "	incq " STR(SHM_ADDR) "+" STR(SHM_HALTS) "\n"
    "	sti\n"
    "	hlt\n"
    "	jmp .Lg1_loop\n"
    ".Lg1_done:\n"
    "	outb %al, $" STR(PORT_DONE1) "\n"
    "	jmp .Lg1_done\n"
    "guest_irq_handler:\n"
    "	pushq %rax\n"
    "	pushq %rcx\n"
    "	pushq %rdx\n"
    "	incq " STR(SHM_ADDR) "+" STR(SHM_RECV) "\n"
    "	movl $0x80b, %ecx\n"
    "	xorl %eax, %eax\n"
    "	xorl %edx, %edx\n"
    "	wrmsr\n"
    "	popq %rdx\n"
    "	popq %rcx\n"
    "	popq %rax\n"
    "	iretq\n"
    "guest_code_end:\n"
    ".popsection\n");

extern const unsigned char guest_code_start[], guest_code_end[];
extern const unsigned char guest_vcpu0_entry[], guest_vcpu1_entry[];
extern const unsigned char guest_irq_handler[];

struct opts {
	unsigned long ipis;
	unsigned long long_gap_us;
	unsigned long short_gap_us;
	unsigned long long_every;
	unsigned long ack_sleep_us;	/* 0: spin for the ack */
	int pin[2];
	int json;
	int per_ipi;
	int anonymous;		/* vCPU threads not named "CPU N/KVM" */
	unsigned int timeout_s;
};

struct ipi_rec {
	int is_long;
	uint64_t gap_ns;	/* ack seen -> KVM_RUN re-entered to send */
	uint64_t t_send;	/* CLOCK_MONOTONIC when vCPU0 resumed to send */
	uint64_t rtt_ns;	/* t_send -> host saw vCPU1's handler done */
};

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	volatile pid_t tid;
	volatile int finished;
	int err;
	char name[16];		/* the thread's name */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	uint8_t *mem;
	size_t run_size;
	struct vcpu vcpu[2];
	struct opts *o;
	struct ipi_rec *rec;
	unsigned long next;	/* IPIs answered "send" so far */
	unsigned long long_gaps, short_gaps;
	uint64_t t_start, t_end;
	volatile int stop;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ipivm: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static int xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	int ret = ioctl(fd, req, arg);

	if (ret < 0)
		die("%s: %s", what, strerror(errno));
	return ret;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t shm_read(struct vm *vm, unsigned int off)
{
	return __atomic_load_n((uint64_t *)(vm->mem + SHM_ADDR + off),
			       __ATOMIC_ACQUIRE);
}

/* ---- guest memory ------------------------------------------------------ */

static void setup_page_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(mem + PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(mem + PD_ADDR);

	pml4[0] = PDPT_ADDR | 0x3;	/* present, writable */
	pdpt[0] = PD_ADDR | 0x3;
	pd[0] = 0x0 | 0x83;		/* 2 MiB page at 0 */
}

static void setup_gdt(uint8_t *mem)
{
	uint64_t *gdt = (uint64_t *)(mem + GDT_ADDR);

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL;	/* 0x08: 64-bit code */
	gdt[2] = 0x00cf92000000ffffULL;	/* 0x10: data */
}

static void setup_idt(uint8_t *mem)
{
	uint64_t h = CODE_ADDR + (guest_irq_handler - guest_code_start);
	uint32_t *e = (uint32_t *)(mem + IDT_ADDR + IPI_VECTOR * 16);

	e[0] = (h & 0xffff) | (0x08 << 16);
	e[1] = (h & 0xffff0000) | 0x8e00;	/* present, DPL0, intr gate */
	e[2] = h >> 32;
	e[3] = 0;
}

static void setup_memory(struct vm *vm)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = MEM_SIZE,
	};

	vm->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap guest memory: %s", strerror(errno));
	r.userspace_addr = (uintptr_t)vm->mem;
	setup_page_tables(vm->mem);
	setup_gdt(vm->mem);
	setup_idt(vm->mem);
	memcpy(vm->mem + CODE_ADDR, guest_code_start,
	       guest_code_end - guest_code_start);
	xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r,
	       "KVM_SET_USER_MEMORY_REGION");
}

/* ---- vCPU state -------------------------------------------------------- */

static void set_cpuid(struct vm *vm, struct vcpu *v)
{
	const int max = 128;
	struct kvm_cpuid2 *c;
	unsigned int i;

	c = calloc(1, sizeof(*c) + max * sizeof(c->entries[0]));
	if (!c)
		die("out of memory");
	c->nent = max;
	xioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c,
	       "KVM_GET_SUPPORTED_CPUID");
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1) {
			e->ecx |= 1u << 21;	/* x2APIC */
			e->ebx = (e->ebx & 0x00ffffff) | (v->id << 24);
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = v->id;
		}
	}
	xioctl(v->fd, KVM_SET_CPUID2, c, "KVM_SET_CPUID2");
	free(c);
}

static void set_segments(struct kvm_sregs *s)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08,
		.type = 11, .present = 1, .dpl = 0, .db = 0, .s = 1,
		.l = 1, .g = 1,
	};
	struct kvm_segment data = code;

	data.selector = 0x10;
	data.type = 3;
	data.db = 1;
	data.l = 0;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
}

static void set_sregs(struct vcpu *v)
{
	struct kvm_sregs s;

	xioctl(v->fd, KVM_GET_SREGS, &s, "KVM_GET_SREGS");
	set_segments(&s);
	s.gdt.base = GDT_ADDR;
	s.gdt.limit = 3 * 8 - 1;
	s.idt.base = IDT_ADDR;
	s.idt.limit = 256 * 16 - 1;
	s.cr3 = PML4_ADDR;
	s.cr4 = 1 << 5;				/* PAE */
	s.cr0 = 0x80050033;			/* PG WP NE ET MP PE */
	s.efer = (1 << 8) | (1 << 10);		/* LME LMA */
	xioctl(v->fd, KVM_SET_SREGS, &s, "KVM_SET_SREGS");
}

static void set_regs(struct vcpu *v)
{
	const unsigned char *entry = v->id ? guest_vcpu1_entry
					   : guest_vcpu0_entry;
	struct kvm_regs r = { .rflags = 0x2 };

	r.rip = CODE_ADDR + (entry - guest_code_start);
	r.rsp = v->id ? STACK1_TOP : STACK0_TOP;
	xioctl(v->fd, KVM_SET_REGS, &r, "KVM_SET_REGS");
}

static void set_apic_base(struct vcpu *v)
{
	uint64_t buf[(sizeof(struct kvm_msrs) +
		      sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *m = (struct kvm_msrs *)buf;

	m->nmsrs = 1;
	m->entries[0].index = 0x1b;		/* IA32_APIC_BASE */
	m->entries[0].data = 0xfee00000ULL | (1 << 11) | (1 << 10) |
			     (v->id == 0 ? 1 << 8 : 0);	/* EN EXTD BSP */
	if (xioctl(v->fd, KVM_SET_MSRS, m, "KVM_SET_MSRS(APIC_BASE)") != 1)
		die("KVM_SET_MSRS(APIC_BASE): MSR not accepted");
}

static void set_runnable(struct vcpu *v)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	xioctl(v->fd, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE");
}

static void create_vcpu(struct vm *vm, int id)
{
	struct vcpu *v = &vm->vcpu[id];

	v->vm = vm;
	v->id = id;
	v->fd = xioctl(vm->vm_fd, KVM_CREATE_VCPU, (void *)(long)id,
		       "KVM_CREATE_VCPU");
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run: %s", strerror(errno));
	set_cpuid(vm, v);
	set_sregs(v);
	set_regs(v);
	set_apic_base(v);
	set_runnable(v);
}

static void create_vm(struct vm *vm)
{
	int ret;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		die("cannot open /dev/kvm: %s", strerror(errno));
	ret = xioctl(vm->kvm_fd, KVM_GET_API_VERSION, NULL,
		     "KVM_GET_API_VERSION");
	if (ret != KVM_API_VERSION)
		die("KVM API version %d, expected %d", ret, KVM_API_VERSION);
	vm->vm_fd = xioctl(vm->kvm_fd, KVM_CREATE_VM, NULL, "KVM_CREATE_VM");
	xioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL, "KVM_CREATE_IRQCHIP");
	setup_memory(vm);
	vm->run_size = xioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL,
			      "KVM_GET_VCPU_MMAP_SIZE");
	create_vcpu(vm, 0);
	create_vcpu(vm, 1);
}

/* ---- host side of the IPI loop (vCPU0 thread) -------------------------- */

static int is_long(struct opts *o, unsigned long i)
{
	return o->long_every && i % o->long_every == 0;
}

/* vCPU1 handled IPI n and is about to halt again (or, after the last, stop) */
static int acked(struct vm *vm, unsigned long n)
{
	if (shm_read(vm, SHM_RECV) != n)
		return 0;
	return n == vm->o->ipis || shm_read(vm, SHM_HALTS) == n + 1;
}

/* Spinning for the ack keeps the sender's CPU busy; with --ack-sleep-us it
 * sleeps between looks instead, so that the sender's CPU is idle while the
 * target halts or polls (the advisor lab: under TCG a busy L1 CPU takes a
 * real CPU from the vCPU that polls). */
static void ack_pause(unsigned long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	if (us)
		nanosleep(&ts, NULL);
	else
		__builtin_ia32_pause();
}

static int wait_ack(struct vm *vm, unsigned long n)
{
	uint64_t deadline = now_ns() + 10000000000ULL;

	while (!acked(vm, n)) {
		if (vm->vcpu[1].finished || now_ns() > deadline) {
			fprintf(stderr, "ipivm: IPI %lu not acknowledged "
				"(sent %llu received %llu halts %llu)\n", n,
				(unsigned long long)shm_read(vm, SHM_SENT),
				(unsigned long long)shm_read(vm, SHM_RECV),
				(unsigned long long)shm_read(vm, SHM_HALTS));
			return -1;
		}
		ack_pause(vm->o->ack_sleep_us);
	}
	return 0;
}

static void gap_wait(unsigned long us)
{
	uint64_t end = now_ns() + us * 1000ULL;
	struct timespec ts = {
		.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000,
	};

	if (us > 100) {
		while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
			;
		return;
	}
	while (now_ns() < end)	/* short gaps: spin, sleeps are too coarse */
		__builtin_ia32_pause();
}

/* vCPU0 asks whether to send another IPI (IN from PORT_REQ). */
static int handle_request(struct vm *vm, uint8_t *answer)
{
	struct opts *o = vm->o;
	unsigned long i = vm->next;
	uint64_t t_ack;
	struct ipi_rec *r;

	if (wait_ack(vm, i))
		return -1;
	t_ack = now_ns();
	if (i > 0)
		vm->rec[i - 1].rtt_ns = t_ack - vm->rec[i - 1].t_send;
	if (i == o->ipis) {
		*answer = 0;
		return 0;
	}
	r = &vm->rec[i];
	r->is_long = is_long(o, i);
	gap_wait(r->is_long ? o->long_gap_us : o->short_gap_us);
	if (r->is_long)
		vm->long_gaps++;
	else
		vm->short_gaps++;
	*answer = 1;
	vm->next++;
	r->t_send = now_ns();
	r->gap_ns = r->t_send - t_ack;
	return 0;
}

static int handle_io(struct vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	int in = run->io.direction == KVM_EXIT_IO_IN;

	if (v->id == 1 && run->io.port == PORT_DONE1 && !in)
		return 1;
	if (v->id == 0 && run->io.port == PORT_REQ && in && run->io.size == 1)
		return handle_request(vm, data);
	if (v->id == 0 && run->io.port == PORT_DONE && !in)
		return 1;
	fprintf(stderr, "ipivm: vCPU%d: unexpected %s port 0x%x size %u\n",
		v->id, in ? "IN" : "OUT",
		run->io.port, run->io.size);
	return -1;
}

static void report_exit(struct vcpu *v)
{
	struct kvm_regs r;

	ioctl(v->fd, KVM_GET_REGS, &r);
	fprintf(stderr, "ipivm: vCPU%d: unexpected exit reason %u at rip "
		"0x%llx\n", v->id, v->run->exit_reason, r.rip);
}

/* One KVM_RUN: 0 keep going, 1 finished, -1 error. */
static int run_once(struct vm *vm, struct vcpu *v)
{
	if (ioctl(v->fd, KVM_RUN, NULL) < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return vm->stop ? 1 : 0;
		fprintf(stderr, "ipivm: vCPU%d: KVM_RUN: %s\n", v->id,
			strerror(errno));
		return -1;
	}
	if (v->run->exit_reason == KVM_EXIT_IO)
		return handle_io(vm, v);
	if (v->run->exit_reason == KVM_EXIT_INTR)
		return vm->stop ? 1 : 0;
	report_exit(v);
	return -1;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "ipivm: cannot pin to CPU %d: %s\n", cpu,
			strerror(errno));
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "CPU %d/KVM", v->id);
	if (!vm->o->anonymous)
		pthread_setname_np(pthread_self(), name);
	pthread_getname_np(pthread_self(), v->name, sizeof(v->name));
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pin_self(vm->o->pin[v->id]);
	v->tid = syscall(SYS_gettid);
	do
		ret = run_once(vm, v);
	while (ret == 0);
	v->err = ret < 0;
	if (v->id == 0)
		vm->t_end = now_ns();
	__atomic_store_n(&v->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- main -------------------------------------------------------------- */

static void on_signal(int sig)
{
	static const char msg[] = "ipivm: timeout, giving up\n";

	if (sig == SIGALRM) {
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(3);
		_exit(3);
	}
}

static void install_signals(unsigned int timeout_s)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: kicks KVM_RUN */
	sigaction(SIGALRM, &sa, NULL);
	alarm(timeout_s);
}

static void stop_vcpu(struct vm *vm, struct vcpu *v)
{
	vm->stop = 1;
	v->run->immediate_exit = 1;
	while (!__atomic_load_n(&v->finished, __ATOMIC_ACQUIRE)) {
		pthread_kill(v->thread, SIGUSR1);
		usleep(1000);
	}
}

/* vCPU1 stops itself after N IPIs; give it ms milliseconds to do so. */
static int wait_finished(struct vcpu *v, unsigned int ms)
{
	while (!__atomic_load_n(&v->finished, __ATOMIC_ACQUIRE)) {
		if (!ms--)
			return 0;
		usleep(1000);
	}
	return 1;
}

static void run_vm(struct vm *vm)
{
	int i;

	__atomic_store_n((uint64_t *)(vm->mem + SHM_ADDR + SHM_TARGET),
			 vm->o->ipis, __ATOMIC_RELEASE);
	vm->t_start = now_ns();
	for (i = 0; i < 2; i++) {
		errno = pthread_create(&vm->vcpu[i].thread, NULL, vcpu_thread,
				       &vm->vcpu[i]);
		if (errno)
			die("pthread_create: %s", strerror(errno));
	}
	pthread_join(vm->vcpu[0].thread, NULL);
	if (!wait_finished(&vm->vcpu[1], vm->vcpu[0].err ? 0 : 1000)) {
		if (!vm->vcpu[0].err)
			fprintf(stderr, "ipivm: vCPU1 did not stop by itself\n");
		vm->vcpu[1].err = 1;
		stop_vcpu(vm, &vm->vcpu[1]);
	}
	pthread_join(vm->vcpu[1].thread, NULL);
}

/* ---- statistics and output --------------------------------------------- */

struct stats {
	unsigned long n;
	uint64_t min, p50, p99, max, avg, gap_avg;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void compute_stats(struct vm *vm, int want_long, struct stats *s)
{
	uint64_t *v = calloc(vm->next + 1, sizeof(*v));
	uint64_t sum = 0, gsum = 0;
	unsigned long i;

	memset(s, 0, sizeof(*s));
	if (!v)
		die("out of memory");
	for (i = 0; i < vm->next; i++) {
		if (vm->rec[i].is_long != want_long || !vm->rec[i].rtt_ns)
			continue;
		v[s->n++] = vm->rec[i].rtt_ns;
		sum += vm->rec[i].rtt_ns;
		gsum += vm->rec[i].gap_ns;
	}
	if (s->n) {
		qsort(v, s->n, sizeof(*v), cmp_u64);
		s->min = v[0];
		s->max = v[s->n - 1];
		s->p50 = v[s->n / 2];
		s->p99 = v[(s->n * 99) / 100];
		s->avg = sum / s->n;
		s->gap_avg = gsum / s->n;
	}
	free(v);
}

static void print_stats_json(const char *name, struct stats *s)
{
	printf("\"%s\":{\"n\":%lu,\"gap_avg_ns\":%llu,\"rtt_min_ns\":%llu,"
	       "\"rtt_p50_ns\":%llu,\"rtt_avg_ns\":%llu,\"rtt_p99_ns\":%llu,"
	       "\"rtt_max_ns\":%llu}", name, s->n,
	       (unsigned long long)s->gap_avg, (unsigned long long)s->min,
	       (unsigned long long)s->p50, (unsigned long long)s->avg,
	       (unsigned long long)s->p99, (unsigned long long)s->max);
}

static void print_per_ipi_json(struct vm *vm)
{
	unsigned long i;

	printf(",\"per_ipi\":[");
	for (i = 0; i < vm->next; i++) {
		struct ipi_rec *r = &vm->rec[i];

		printf("%s{\"i\":%lu,\"long\":%d,\"t_send_ns\":%llu,"
		       "\"gap_ns\":%llu,\"rtt_ns\":%llu}", i ? "," : "", i,
		       r->is_long, (unsigned long long)r->t_send,
		       (unsigned long long)r->gap_ns,
		       (unsigned long long)r->rtt_ns);
	}
	printf("]");
}

static long halt_poll_ns(void)
{
	FILE *f = fopen("/sys/module/kvm/parameters/halt_poll_ns", "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* KVM's own halt statistics of one vCPU (binary stats fd, Linux 5.14+):
 * every cumulative "halt_*" counter, as "name":value; false if unreadable. */
static int print_vcpu_halt_stats(int vcpu_fd)
{
	struct kvm_stats_header h;
	size_t dsz;
	char *descs;
	int fd, n = 0;
	__u32 i;

	fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return 0;
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h)) {
		close(fd);
		return 0;
	}
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = calloc(h.num_desc, dsz);
	if (!descs || pread(fd, descs, h.num_desc * dsz, h.desc_offset) !=
	    (ssize_t)(h.num_desc * dsz)) {
		free(descs);
		close(fd);
		return 0;
	}
	printf("{");
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsz);
		__u64 v;

		if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE ||
		    strncmp(d->name, "halt_", 5) || d->size != 1 ||
		    pread(fd, &v, sizeof(v), h.data_offset + d->offset) != sizeof(v))
			continue;
		printf("%s\"%s\":%llu", n++ ? "," : "", d->name,
		       (unsigned long long)v);
	}
	printf("}");
	free(descs);
	close(fd);
	return 1;
}

/* "kvm_stats": per vCPU, KVM's own count of polls, waits and their time:
 * an account of the halts that no tracer computed */
static void print_kvm_stats_json(struct vm *vm)
{
	int i;

	printf(",\"kvm_stats\":[");
	for (i = 0; i < 2; i++) {
		if (i)
			printf(",");
		if (!print_vcpu_halt_stats(vm->vcpu[i].fd))
			printf("null");
	}
	printf("]");
}

static void print_json(struct vm *vm, struct stats *sl, struct stats *ss,
		       int ok)
{
	printf("{\"pid\":%d,\"vcpu_tids\":[%d,%d],"
	       "\"vcpu_names\":[\"%s\",\"%s\"],"
	       "\"vector\":%d,\"dest_apic_id\":%d,\"icr_low\":%d,"
	       "\"ipis\":%lu,\"ipis_sent\":%llu,\"ipis_received\":%llu,"
	       "\"long_gaps\":%lu,\"short_gaps\":%lu,\"vcpu1_halts\":%llu,"
	       "\"long_gap_us\":%lu,\"short_gap_us\":%lu,"
	       "\"halt_poll_ns\":%ld,\"elapsed_ns\":%llu,",
	       getpid(), vm->vcpu[0].tid, vm->vcpu[1].tid, vm->vcpu[0].name,
	       vm->vcpu[1].name, IPI_VECTOR,
	       IPI_DEST, ICR_LOW, vm->o->ipis,
	       (unsigned long long)shm_read(vm, SHM_SENT),
	       (unsigned long long)shm_read(vm, SHM_RECV),
	       vm->long_gaps, vm->short_gaps,
	       (unsigned long long)shm_read(vm, SHM_HALTS),
	       vm->o->long_gap_us, vm->o->short_gap_us, halt_poll_ns(),
	       (unsigned long long)(vm->t_end - vm->t_start));
	print_stats_json("long", sl);
	printf(",");
	print_stats_json("short", ss);
	if (vm->o->per_ipi)
		print_per_ipi_json(vm);
	print_kvm_stats_json(vm);
	printf(",\"ok\":%s}\n", ok ? "true" : "false");
}

static void print_stats_text(const char *name, struct stats *s)
{
	printf("%-5s n=%lu gap_avg=%lluns rtt min/p50/avg/p99/max = "
	       "%llu/%llu/%llu/%llu/%llu ns\n", name, s->n,
	       (unsigned long long)s->gap_avg, (unsigned long long)s->min,
	       (unsigned long long)s->p50, (unsigned long long)s->avg,
	       (unsigned long long)s->p99, (unsigned long long)s->max);
}

static void print_text(struct vm *vm, struct stats *sl, struct stats *ss,
		       int ok)
{
	printf("pid %d  vcpu0 tid %d (%s)  vcpu1 tid %d (%s)\n", getpid(),
	       vm->vcpu[0].tid, vm->vcpu[0].name, vm->vcpu[1].tid,
	       vm->vcpu[1].name);
	printf("vector 0x%x -> apic id %d (icr_low 0x%x)\n", IPI_VECTOR,
	       IPI_DEST, ICR_LOW);
	printf("ipis %lu  sent %llu  received %llu  vcpu1 halts %llu\n",
	       vm->o->ipis, (unsigned long long)shm_read(vm, SHM_SENT),
	       (unsigned long long)shm_read(vm, SHM_RECV),
	       (unsigned long long)shm_read(vm, SHM_HALTS));
	printf("long gaps %lu (%lu us)  short gaps %lu (%lu us)\n",
	       vm->long_gaps, vm->o->long_gap_us, vm->short_gaps,
	       vm->o->short_gap_us);
	print_stats_text("long", sl);
	print_stats_text("short", ss);
	printf("elapsed %llu ns  %s\n",
	       (unsigned long long)(vm->t_end - vm->t_start),
	       ok ? "OK" : "FAILED");
}

static int report(struct vm *vm)
{
	struct stats sl, ss;
	uint64_t n = vm->o->ipis;
	int ok;

	ok = !vm->vcpu[0].err && !vm->vcpu[1].err &&
	     shm_read(vm, SHM_SENT) == n && shm_read(vm, SHM_RECV) == n;
	compute_stats(vm, 1, &sl);
	compute_stats(vm, 0, &ss);
	if (vm->o->json)
		print_json(vm, &sl, &ss, ok);
	else
		print_text(vm, &sl, &ss, ok);
	return ok ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipivm [--ipis N] [--long-gap-us U] [--short-gap-us U]\n"
		"             [--long-every K] [--pin0 CPU] [--pin1 CPU]\n"
		"             [--ack-sleep-us U]\n"
		"             [--timeout S] [--per-ipi] [--anonymous] [--json]\n"
		"Runs a 2-vCPU KVM guest in which vCPU0 sends N x2APIC IPIs\n"
		"(vector 0x%x) to halted vCPU1; IPI i (from 0) follows a long\n"
		"gap when i %% K == 0 (K=0: never), else a short gap.\n"
		"--anonymous: vCPU threads keep the process's name (no \"CPU N/KVM\").\n"
		"--ack-sleep-us: wait for each IPI's ack sleeping U us between\n"
		"looks (default 0: spin).\n",
		IPI_VECTOR);
}

static unsigned long num_arg(const char *s, const char *name)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !*s)
		die("bad value for %s: '%s'", name, s);
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "ipis", 1, NULL, 'n' }, { "long-gap-us", 1, NULL, 'L' },
		{ "short-gap-us", 1, NULL, 'S' }, { "long-every", 1, NULL, 'k' },
		{ "pin0", 1, NULL, '0' }, { "pin1", 1, NULL, '1' },
		{ "timeout", 1, NULL, 't' }, { "per-ipi", 0, NULL, 'p' },
		{ "json", 0, NULL, 'j' }, { "help", 0, NULL, 'h' },
		{ "anonymous", 0, NULL, 'a' },
		{ "ack-sleep-us", 1, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->ipis = num_arg(optarg, "--ipis"); break;
		case 'L': o->long_gap_us = num_arg(optarg, "--long-gap-us"); break;
		case 'S': o->short_gap_us = num_arg(optarg, "--short-gap-us"); break;
		case 'k': o->long_every = num_arg(optarg, "--long-every"); break;
		case '0': o->pin[0] = num_arg(optarg, "--pin0"); break;
		case '1': o->pin[1] = num_arg(optarg, "--pin1"); break;
		case 't': o->timeout_s = num_arg(optarg, "--timeout"); break;
		case 'p': o->per_ipi = 1; break;
		case 'j': o->json = 1; break;
		case 'a': o->anonymous = 1; break;
		case 'A':
			o->ack_sleep_us = num_arg(optarg, "--ack-sleep-us");
			if (o->ack_sleep_us >= 1000000)
				die("--ack-sleep-us: under 1000000");
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct opts o = {
		.ipis = 200, .long_gap_us = 2000, .short_gap_us = 20,
		.long_every = 2, .pin = { -1, -1 }, .timeout_s = 60,
	};
	static struct vm vm;

	parse_args(argc, argv, &o);
	vm.o = &o;
	vm.rec = calloc(o.ipis + 1, sizeof(*vm.rec));
	if (!vm.rec)
		die("out of memory");
	install_signals(o.timeout_s);
	create_vm(&vm);
	run_vm(&vm);
	return report(&vm);
}
