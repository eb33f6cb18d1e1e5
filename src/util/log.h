/*
 * log.h - diagnostic logging to stderr (operational messages, not the audit
 * event log, which lives in events/). Detail for a failure is logged where
 * it is detected, with the function and line, and the error code travels up.
 */
#ifndef CERTA_UTIL_LOG_H
#define CERTA_UTIL_LOG_H

typedef enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE } log_level_t;

void log_set_level(log_level_t lvl);
log_level_t log_get_level(void);
/* log_set_ident names the program in each line ("certad"). */
void log_set_ident(const char *ident);
void log_msg(log_level_t lvl, const char *func, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_ERROR, __func__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __func__, __LINE__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __func__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __func__, __LINE__, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_TRACE, __func__, __LINE__, __VA_ARGS__)

#endif
