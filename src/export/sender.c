/* Asynchronous mode: a sender thread drains a small ring of prepared
 * uploads, retrying transient failures with exponential backoff, so the
 * caller's loop never waits on the network. When the ring is full the
 * oldest pending profile goes: a fresh profile is worth more. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "exporter_int.h"

#define BACKOFF_MAX_MS 30000

static struct timespec deadline_in(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static bool passed(const struct timespec *d)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > d->tv_sec ||
	       (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

/* Sleeps ms unless an abort comes first. Lock held. */
static void backoff_wait(struct ddprof_exporter *exp, long ms)
{
	struct timespec d = deadline_in(ms);

	while (!ddprof_abort_requested(&exp->abort) && !passed(&d))
		pthread_cond_timedwait(&exp->wake, &exp->lock, &d);
}

/* Sends one profile with retries. Returns the last attempt's result. */
static int send_with_retries(struct ddprof_exporter *exp,
			     struct ddprof_upload *up, struct ddprof_attempt *at)
{
	long delay = exp->retry_delay_ms;
	int err;

	for (unsigned attempt = 1;; attempt++) {
		err = ddprof_upload_emit(&exp->ep, up, exp->timeout_ms,
					 &exp->abort, at);
		if (!err || !ddprof_attempt_retryable(err, at) ||
		    attempt >= exp->max_tries || ddprof_abort_requested(&exp->abort))
			return err;
		pr_warn("exporter: profile %llu, attempt %u/%u failed: %s; "
			"retrying in %ld ms", (unsigned long long)up->seq, attempt,
			exp->max_tries, at->why, delay);
		pthread_mutex_lock(&exp->lock);
		exp->stats.retries++;
		exp->stats.last_error = err;
		backoff_wait(exp, delay);
		pthread_mutex_unlock(&exp->lock);
		if (ddprof_abort_requested(&exp->abort))
			return err;
		delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
	}
}

static void *sender_main(void *arg)
{
	struct ddprof_exporter *exp = arg;

	pthread_mutex_lock(&exp->lock);
	for (;;) {
		struct ddprof_attempt at;
		struct ddprof_upload *up;
		int err;

		while (!exp->count && !exp->stopping)
			pthread_cond_wait(&exp->wake, &exp->lock);
		if (!exp->count || ddprof_abort_requested(&exp->abort))
			break;
		up = exp->queue[exp->head];
		exp->head = (exp->head + 1) % DDPROF_EXPORTER_QUEUE_MAX;
		exp->count--;
		exp->busy = true;
		pthread_mutex_unlock(&exp->lock);

		err = send_with_retries(exp, up, &at);
		if (err && ddprof_abort_requested(&exp->abort))
			pr_err("exporter: profile %llu abandoned at shutdown: %s",
			       (unsigned long long)up->seq, at.why);
		else if (err)
			pr_err("exporter: profile %llu not sent: %s",
			       (unsigned long long)up->seq,
			       *at.why ? at.why : ddprof_strerror(err));
		else
			pr_info("exporter: profile %llu sent (%zu bytes, HTTP %ld)",
				(unsigned long long)up->seq, at.body_size,
				at.status);

		pthread_mutex_lock(&exp->lock);
		if (err && ddprof_abort_requested(&exp->abort)) {
			exp->stats.abandoned++;
			exp->stats.last_error = err;
		} else {
			ddprof_exporter_account(exp, err, &at);
		}
		exp->busy = false;
		pthread_cond_broadcast(&exp->idle);
		pthread_mutex_unlock(&exp->lock);
		ddprof_upload_fini(up);
		free(up);
		pthread_mutex_lock(&exp->lock);
	}
	pthread_mutex_unlock(&exp->lock);
	return NULL;
}

int ddprof_exporter_start(struct ddprof_exporter *exp)
{
	sigset_t all, old;
	int err;

	pthread_mutex_lock(&exp->lock);
	if (exp->running) {
		pthread_mutex_unlock(&exp->lock);
		return -DDPROF_ERR_CONFLICT;
	}
	ddprof_abort_reset(&exp->abort);
	exp->stopping = false;
	/* the thread inherits a full signal mask: the caller's signals (e.g. a
	 * signalfd for SIGINT) must never be delivered to it */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&exp->thread, NULL, sender_main, exp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		exp->running = true;
	pthread_mutex_unlock(&exp->lock);
	if (err)
		pr_err("exporter: cannot start the sender thread: %s",
		       ddprof_strerror(-err));
	return -err;
}

int ddprof_exporter_enqueue(struct ddprof_exporter *exp,
			    const struct ddprof_export_request *req)
{
	struct ddprof_upload *up, *old = NULL;
	unsigned long long pending = 0;
	int err;

	if (!(up = calloc(1, sizeof(*up))))
		return -ENOMEM;
	if ((err = ddprof_exporter_prepare(exp, req, up))) {
		free(up);
		return err;
	}
	pthread_mutex_lock(&exp->lock);
	if (!exp->running || exp->stopping) {
		pthread_mutex_unlock(&exp->lock);
		pr_err("exporter: enqueue without a running sender thread");
		ddprof_upload_fini(up);
		free(up);
		return -DDPROF_ERR_INVALID;
	}
	if (exp->count == exp->queue_size) {
		old = exp->queue[exp->head];
		exp->head = (exp->head + 1) % DDPROF_EXPORTER_QUEUE_MAX;
		exp->count--;
		exp->stats.dropped++;
		exp->stats.last_error = -DDPROF_ERR_QUEUE_FULL;
	}
	exp->queue[(exp->head + exp->count) % DDPROF_EXPORTER_QUEUE_MAX] = up;
	exp->count++;
	pending = exp->count + (exp->busy ? 1 : 0);
	pthread_cond_signal(&exp->wake);
	pthread_mutex_unlock(&exp->lock);
	if (old) {
		pr_warn("exporter: send queue full (%llu pending), dropped "
			"profile %llu", pending, (unsigned long long)old->seq);
		ddprof_upload_fini(old);
		free(old);
		return -DDPROF_ERR_QUEUE_FULL;
	}
	return 0;
}

/* Waits until nothing is queued or in flight, or until d. Lock held. */
static bool wait_drained(struct ddprof_exporter *exp, const struct timespec *d)
{
	while ((exp->count || exp->busy) && !passed(d))
		pthread_cond_timedwait(&exp->idle, &exp->lock, d);
	return !exp->count && !exp->busy;
}

int ddprof_exporter_flush(struct ddprof_exporter *exp, long timeout_ms)
{
	struct timespec d = deadline_in(timeout_ms > 0 ? timeout_ms : 0);
	bool drained;

	pthread_mutex_lock(&exp->lock);
	drained = wait_drained(exp, &d);
	pthread_mutex_unlock(&exp->lock);
	return drained ? 0 : -DDPROF_ERR_TIMEOUT;
}

int ddprof_exporter_stop(struct ddprof_exporter *exp, long timeout_ms)
{
	struct timespec d = deadline_in(timeout_ms > 0 ? timeout_ms : 0);
	uint64_t abandoned_before;
	unsigned left;
	bool drained;

	pthread_mutex_lock(&exp->lock);
	if (!exp->running) {
		pthread_mutex_unlock(&exp->lock);
		return 0;
	}
	abandoned_before = exp->stats.abandoned;
	exp->stopping = true;
	pthread_cond_broadcast(&exp->wake);
	drained = wait_drained(exp, &d);
	if (!drained) {
		/* out of time: cut the transfer or backoff in progress short */
		ddprof_abort_request(&exp->abort);
		pthread_cond_broadcast(&exp->wake);
	}
	pthread_mutex_unlock(&exp->lock);
	pthread_join(exp->thread, NULL);

	pthread_mutex_lock(&exp->lock);
	left = exp->count;
	while (exp->count) {
		struct ddprof_upload *up = exp->queue[exp->head];

		exp->head = (exp->head + 1) % DDPROF_EXPORTER_QUEUE_MAX;
		exp->count--;
		ddprof_upload_fini(up);
		free(up);
	}
	exp->stats.abandoned += left;
	if (left)
		exp->stats.last_error = -DDPROF_ERR_TIMEOUT;
	left = (unsigned)(exp->stats.abandoned - abandoned_before);
	exp->running = false;
	exp->stopping = false;
	pthread_mutex_unlock(&exp->lock);
	if (left)
		pr_err("exporter: gave up on %u profile(s) at exit after %ld ms",
		       left, timeout_ms);
	return left ? -DDPROF_ERR_TIMEOUT : 0;
}
