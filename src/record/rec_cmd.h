/* SPDX-License-Identifier: GPL-2.0 */
/* The offline subcommands on record files: report and join. */
#ifndef __IPT_REC_CMD_H
#define __IPT_REC_CMD_H

#include "kick.h"
#include "record.h"
#include "topology.h"

/* `ipitrace report [options] FILE` */
int report_main(int argc, char **argv);
/* `ipitrace join [options] GUEST_FILE HOST_FILE` (src/join) */
int join_main(int argc, char **argv);

/* The file's topology into @t (topology_free() it); 0 or -1 */
int rec_topology(const struct record *r, struct topology *t);
/* A host record back as the host model's result */
void rec_to_result(const struct rec_host_ipi *h, struct kick_result *r);

#endif
