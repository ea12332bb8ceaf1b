/* Inside of struct ddprof_exporter, shared by the synchronous path
 * (exporter.c) and the sender thread (sender.c). */
#ifndef DDPROF_EXPORT_EXPORTER_INT_H
#define DDPROF_EXPORT_EXPORTER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ddprof/exporter.h"
#include "endpoint.h"
#include "request.h"
#include "uuid.h"

#define DDPROF_EXPORTER_QUEUE_MAX 16

struct ddprof_exporter {
	struct ddprof_endpoint ep;
	char *tags;          /* exporter-level and user tags, comma-joined */
	char *process_tags;  /* or NULL */
	char runtime_id[DDPROF_UUID_LEN];
	long timeout_ms;
	unsigned queue_size;
	unsigned max_tries;
	long retry_delay_ms;

	pthread_mutex_t lock;   /* guards everything below */
	pthread_cond_t wake;    /* sender: work, stop or abort */
	pthread_cond_t idle;    /* flushers: a profile was handled */
	uint64_t seq;           /* next profile_seq */
	struct ddprof_upload *queue[DDPROF_EXPORTER_QUEUE_MAX]; /* ring */
	unsigned head, count;
	bool busy;              /* the sender holds a profile */
	bool running, stopping;
	struct ddprof_abort abort; /* cuts the sender's transfer or backoff */
	pthread_t thread;
	struct ddprof_exporter_stats stats;
};

/* Turns req into an upload with the next profile_seq and its event.json.
 * Returns 0 or a negative code (logged and counted as failed). */
int ddprof_exporter_prepare(struct ddprof_exporter *exp,
			    const struct ddprof_export_request *req,
			    struct ddprof_upload *up);

/* Folds one finished profile into the stats (lock held by the caller). */
void ddprof_exporter_account(struct ddprof_exporter *exp, int err,
			     const struct ddprof_attempt *at);

#endif
