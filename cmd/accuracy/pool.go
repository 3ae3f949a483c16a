package main

import (
	"context"
	"sync"
)

// forEach calls do(i) for i in [0, n) on up to workers goroutines and
// waits for them; it stops handing out indexes once ctx is cancelled and
// then returns ctx's error.
func forEach(ctx context.Context, n, workers int, do func(i int)) error {
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}
