package qmgr

import "time"

// backoff is how long a deferred message waits before its next try: as
// long as it has already been in the queue, within [minimum, maximum]. As
// in Postfix this doubles the wait after each try (tried at 0, min, 2min,
// 4min, …) without counting tries anywhere: the arrival time says it all.
func backoff(age, minimum, maximum time.Duration) time.Duration {
	return min(max(age, minimum), maximum)
}

// expired reports whether a message that still has recipients to try has
// been in the queue for its whole lifetime: maximal_queue_lifetime, or
// bounce_queue_lifetime for the null sender (a bounce that cannot be
// delivered should not linger). A lifetime of zero means one try only.
func expired(sender string, age, maxLifetime, bounceLifetime time.Duration) bool {
	life := maxLifetime
	if sender == "" {
		life = bounceLifetime
	}
	return age >= life
}
