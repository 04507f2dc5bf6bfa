/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __IPT_ADVISE_H
#define __IPT_ADVISE_H

/* `ipitrace advise ...`: argv[0] is "advise". Returns the exit status. */
int advise_main(int argc, char **argv);

#endif
