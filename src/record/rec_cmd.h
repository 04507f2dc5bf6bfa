/* SPDX-License-Identifier: GPL-2.0 */
/* The offline subcommands on record files: report and join. */
#ifndef __IPT_REC_CMD_H
#define __IPT_REC_CMD_H

#include "emit.h"
#include "kick.h"
#include "opts.h"
#include "record.h"
#include "topology.h"

/* `ipitrace report [options] FILE` */
int report_main(int argc, char **argv);
/* `ipitrace join [options] GUEST_FILE HOST_FILE` (src/join) */
int join_main(int argc, char **argv);

/* A subcommand's arguments into @out: 0 to go on with *@be the back end
 * named by *@format (a field of @out) once parsed; -1 after -h (exit 0);
 * 2 after a message. */
int rec_cmd_args(const struct opt_table *t, const char *intro, int argc,
		 char **argv, void *out, const char **files, int nr_files,
		 const char *const *format, const struct emit_backend **be);
/* rec_read() or a message "<prog>: FILE: why"; 0 or -1 */
int rec_cmd_read(const char *prog, const char *path, struct record *r);

/* The file's topology into @t (topology_free() it); 0 or -1 */
int rec_topology(const struct record *r, struct topology *t);
/* A host record back as the host model's result */
void rec_to_result(const struct rec_host_ipi *h, struct kick_result *r);

#endif
