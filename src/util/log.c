/*
 * log.c - see log.h. One write(2) per line so lines from threads don't interleave.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static log_level_t level = LOG_INFO;
static const char *ident = "certa";

void log_set_level(log_level_t lvl) { level = lvl; }
log_level_t log_get_level(void) { return level; }
void log_set_ident(const char *id) { ident = id; }

void log_msg(log_level_t lvl, const char *func, int line, const char *fmt, ...)
{
	if (lvl > level) {
		return;
	}
	static const char *names[] = {"error", "warn", "info", "debug", "trace"};
	char msg[2048];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(msg, sizeof(msg), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec / 1000000, ident, (int)getpid(), names[lvl]);
	if (lvl >= LOG_DEBUG && n > 0 && (size_t)n < sizeof(msg)) {
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s:%d: ", func, line);
	}
	if (n > 0 && (size_t)n < sizeof(msg)) {
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
		va_end(ap);
		n = m < 0 ? n : n + m;
	}
	if (n < 0 || (size_t)n >= sizeof(msg) - 1) {
		n = (int)sizeof(msg) - 2;
	}
	msg[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, msg, (size_t)n);
	(void)w;
}
