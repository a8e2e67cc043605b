package web

import "sync"

// lru holds at most max entries by key, dropping the least recently used
// when full. An entry's own fields are its caller's to guard (each entry
// type has its own mutex): lru only finds or makes the entry.
type lru[E any] struct {
	max int

	mu    sync.Mutex
	items map[string]*lruItem[E]
	tick  uint64
}

type lruItem[E any] struct {
	entry E
	used  uint64
}

func newLRU[E any](max int) *lru[E] {
	return &lru[E]{max: max, items: map[string]*lruItem[E]{}}
}

// get returns key's entry, made (zero) if it is not held.
func (c *lru[E]) get(key string) *E {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	it := c.items[key]
	if it == nil {
		if len(c.items) >= c.max {
			var oldest string
			var at uint64
			for k, x := range c.items {
				if oldest == "" || x.used < at {
					oldest, at = k, x.used
				}
			}
			delete(c.items, oldest)
		}
		it = &lruItem[E]{}
		c.items[key] = it
	}
	it.used = c.tick
	return &it.entry
}

// drop forgets key's entry if it is still e.
func (c *lru[E]) drop(key string, e *E) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it := c.items[key]; it != nil && &it.entry == e {
		delete(c.items, key)
	}
}
