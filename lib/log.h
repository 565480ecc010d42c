/*
 * Logging for both daemons: one line per call, to stderr (prefixed with
 * the program's name, written with one write(2) so lines of concurrent
 * threads never mix) or to syslog.  LOG_DEBUG lines only when asked for.
 *
 * Every layer may include this; it includes nothing of the project's.
 * Callers name the device or connection (domid.devid, or the export) at
 * the start of each line.
 */
#ifndef XSH_LOG_H
#define XSH_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* IDENT is the program's name ("xenshare-back"); it must outlive the
 * program (a string literal). */
void xsh_log_setup(const char *ident, bool use_syslog, bool debug);
void xsh_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
