// SPDX-License-Identifier: GPL-2.0
/* ipitrace: IPI latency tracer. Dispatches to the guest, host and bench
 * front ends. */
#include <stdio.h>
#include <string.h>
#include "advise.h"
#include "bench.h"
#include "cli.h"
#include "guest.h"
#include "host.h"
#include "rec_cmd.h"

int main(int argc, char **argv)
{
	struct ipt_opts o;
	char err[256];
	int ret;

	if (argc > 1 && !strcmp(argv[1], "bench"))
		return bench_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "advise"))
		return advise_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "join"))
		return join_main(argc - 1, argv + 1);
	ret = cli_parse(argc, argv, &o, err, sizeof(err));
	if (ret == CLI_HELP)
		return 0;
	if (ret) {
		fprintf(stderr, "ipitrace: %s\n", err);
		return 2;
	}
	if (o.mode == MODE_HOST)
		return host_run(&o);
	return guest_run(&o);
}
