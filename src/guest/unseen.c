// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include <linux/types.h>
#include "hooks.h"
#include "ipitrace.h"
#include "unseen.h"

/* The handler roles behind each row: CAL counts both function-call
 * vectors. */
static const char *const row_roles[] = {
	"entry_call_single", "entry_call_many", "entry_resched",
	"entry_irq_work",
};

__u64 handlers_seen(const __u64 *stats)
{
	return stats[ST_HANDLED] + stats[ST_UNPAIRED_HANDLER] +
	       stats[ST_UNSERVED] + stats[ST_TRACER_IPI];
}

bool unseen_roles_ok(const struct hook_role *roles, int n)
{
	unsigned i;
	int j;

	for (i = 0; i < sizeof(row_roles) / sizeof(row_roles[0]); i++) {
		for (j = 0; j < n; j++)
			if (!strcmp(roles[j].name, row_roles[i]))
				break;
		if (j == n || roles[j].chosen < 0)
			return false;
	}
	return true;
}

__u64 unseen_between(const __u64 irq0[IRQ_ROWS], __u64 seen0,
		     const __u64 irq1[IRQ_ROWS], __u64 seen1)
{
	__u64 took = 0, seen = seen1 - seen0;
	int r;

	/* a CPU going offline takes its column away */
	for (r = 0; r < IRQ_ROWS; r++)
		if (irq1[r] > irq0[r])
			took += irq1[r] - irq0[r];
	return took > seen ? took - seen : 0;
}
