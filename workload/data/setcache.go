package data

import (
	"fmt"
	"sync"
)

// SetCache keeps the decoded MNIST and Fashion-MNIST sets of a process so
// that the trials of a benchmark, which build the same workload again and
// again, read and decode each file once (about a second of CPU per trial
// otherwise). It is safe for concurrent use; a nil *SetCache loads afresh
// on every call. The sets it returns are shared: callers must not modify
// them (the workloads only read them: a data source permutes indexes, not
// examples).
type SetCache struct {
	mu   sync.Mutex
	sets map[string]*cachedPair
}

// cachedPair is one loaded (train, test) pair, loaded once.
type cachedPair struct {
	once        sync.Once
	train, test *Set
	err         error
}

// NewSetCache returns an empty cache.
func NewSetCache() *SetCache { return &SetCache{sets: map[string]*cachedPair{}} }

// MNIST is MNIST(limit), decoded once per limit.
func (c *SetCache) MNIST(limit int) (train, test *Set, err error) {
	return c.pair("mnist", limit, MNIST)
}

// FashionMNIST is FashionMNIST(limit), decoded once per limit.
func (c *SetCache) FashionMNIST(limit int) (train, test *Set, err error) {
	return c.pair("fashion-mnist", limit, FashionMNIST)
}

// pair returns the cached pair of name at limit, loading it with load
// the first time. A failed load is remembered too (a missing file stays
// missing for the life of the process; its error is returned each time).
func (c *SetCache) pair(name string, limit int, load func(int) (*Set, *Set, error)) (*Set, *Set, error) {
	if c == nil {
		return load(limit)
	}
	key := fmt.Sprintf("%s/%d", name, limit)
	c.mu.Lock()
	p := c.sets[key]
	if p == nil {
		p = &cachedPair{}
		c.sets[key] = p
	}
	c.mu.Unlock()
	p.once.Do(func() { p.train, p.test, p.err = load(limit) })
	return p.train, p.test, p.err
}
