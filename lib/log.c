/*
 * Logging: see log.h.  Trust: callers pass printable text; anything that
 * came from a guest is made printable and bounded before it gets here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "xenshare";
static bool log_to_syslog;
static bool log_debug;

void xsh_log_setup(const char *ident, bool use_syslog, bool debug)
{
	log_ident = ident;
	log_to_syslog = use_syslog;
	log_debug = debug;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void xsh_log(int prio, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	int n;

	if (prio == LOG_DEBUG && !log_debug)
		return;
	va_start(ap, fmt);
	if (log_to_syslog) {
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	n = snprintf(line, sizeof(line), "%s: ", log_ident);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: lines of concurrent threads do not mix. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
