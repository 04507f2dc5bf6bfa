// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: keep one idle KVM VM (in-kernel irqchip, one vCPU that never
 * runs) open until killed, printing "held" once it exists.
 *
 * Why: creating the first VM and destroying the last one flips static keys
 * that KVM shares across VMs (preempt notifiers, patched into __schedule;
 * the local APIC's "software disabled" key). Each flip patches kernel text,
 * and multi-threaded TCG sometimes runs the stale code and dies with
 * "Oops: int3" (seen in __schedule+0x444 as ipivm started). With this VM
 * alive the keys stay on, and the test VMs that come and go patch nothing.
 * It has no vCPU thread, so a host tracer sees nothing of it.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm, vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm-hold: /dev/kvm");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
		perror("kvm-hold: KVM_CREATE_VM/IRQCHIP/VCPU");
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
}
