package server

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Failed authentications are limited per client address, so that API
// tokens cannot be guessed at the speed of the network. Every way of
// presenting a token counts: the sign-in form, a dashboard session cookie
// and an API request's bearer token.
//
// Each client address has a token bucket (golang.org/x/time/rate) of
// Options.AuthFailures tokens, refilled at one per Options.AuthFailureEvery.
// A failed authentication takes a token; a successful one takes none. A
// client whose bucket holds less than one token is refused (429, with
// Retry-After: the time until the bucket holds one again) before the token
// it sent is looked at, right or wrong: answering a right token would tell
// the guesser it had found one. A refused request takes nothing either, so
// a client that keeps knocking is let in again on time. A failure is taken
// even from an empty bucket (rate.Limiter.ReserveN runs into debt): the
// requests that were in flight together when the bucket ran out each
// lengthen the wait, so that sending many at once gains a guesser nothing.
//
// Only clients with failures are remembered, at most maxClients of them:
// the one whose last failure is oldest is forgotten first, and a client
// whose bucket has filled up again is forgotten as soon as it is the
// oldest, since it is as if it had never failed.

// Defaults of Options.AuthFailures and Options.AuthFailureEvery.
const (
	DefaultAuthFailures     = 20
	DefaultAuthFailureEvery = 6 * time.Second
)

// maxClients is the most client addresses a failureLimiter remembers.
const maxClients = 10000

// failureLimiter limits failed authentications per client address.
type failureLimiter struct {
	every time.Duration // a failure is given back every this long
	burst int           // failures a client may make at once
	max   int           // clients remembered at most
	now   func() time.Time

	// until is when the last client refused so far may come back
	// (UnixNano): before it, some client may be refused; after it, none
	// is, so the rate route need not look.
	until atomic.Int64

	mu      sync.Mutex
	clients map[string]*list.Element // client address -> element of lru holding a *failures
	lru     list.List                // most recent failure first
}

// failures is one client's bucket.
type failures struct {
	addr string
	lim  *rate.Limiter
}

// newFailureLimiter returns a limiter that lets each client fail burst
// times at once and once every every after that, remembering at most
// capacity clients.
func newFailureLimiter(burst int, every time.Duration, capacity int) *failureLimiter {
	return &failureLimiter{every: every, burst: burst, max: capacity, now: time.Now, clients: map[string]*list.Element{}}
}

// mayRefuse reports whether any client may be refused at the time now
// (UnixNano): false means wait would return 0 for every client.
func (l *failureLimiter) mayRefuse(now int64) bool {
	return now < l.until.Load()
}

// wait returns how long the client at addr must wait before it may
// authenticate again: 0 if it may now.
func (l *failureLimiter) wait(addr string) time.Duration {
	now := l.now()
	if !l.mayRefuse(now.UnixNano()) {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[addr]
	if !ok {
		return 0
	}
	return l.waitOf(e.Value.(*failures).lim, now)
}

// waitOf returns how long lim's client must wait at now.
func (l *failureLimiter) waitOf(lim *rate.Limiter, now time.Time) time.Duration {
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(l.every))
}

// fail records a failed authentication of the client at addr and returns
// the wait it must now keep before its next attempt (0: none).
func (l *failureLimiter) fail(addr string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var lim *rate.Limiter
	if e, ok := l.clients[addr]; ok {
		l.lru.MoveToFront(e)
		lim = e.Value.(*failures).lim
	} else {
		l.forget(now)
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.clients[addr] = l.lru.PushFront(&failures{addr: addr, lim: lim})
	}
	lim.ReserveN(now, 1) // into debt if need be: always OK for 1 <= burst
	d := l.waitOf(lim, now)
	if d > 0 {
		until := now.Add(d).UnixNano()
		for {
			old := l.until.Load()
			if old >= until || l.until.CompareAndSwap(old, until) {
				break
			}
		}
	}
	return d
}

// forget makes room for a new client: it drops the clients with the
// oldest failures whose buckets are full again, and the oldest one
// whatever its bucket if the limiter still remembers max clients. l.mu is
// held.
func (l *failureLimiter) forget(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		f := e.Value.(*failures)
		if len(l.clients) < l.max && f.lim.TokensAt(now) < float64(l.burst) {
			return
		}
		l.lru.Remove(e)
		delete(l.clients, f.addr)
	}
}
