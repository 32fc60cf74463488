/*
 * ctl.h -- the operator's command line on the ledger (ctl.c).
 * Never called under CGI or by a web server: argv there is not the
 * operator's.
 */
#ifndef PX_CTL_H
#define PX_CTL_H

/* argv[0] is "ctl"; returns the exit status (documented in ctl.c). */
int px_ctl_main(int argc, char **argv);

#endif
