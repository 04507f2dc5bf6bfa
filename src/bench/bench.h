/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __IPT_BENCH_H
#define __IPT_BENCH_H

/* `ipitrace bench ...`: argv[0] is "bench". Returns the exit status. */
int bench_main(int argc, char **argv);

#endif
