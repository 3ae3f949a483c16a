package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// TestForEach: every index runs exactly once; after cancellation no new
// index starts and the context's error comes back.
func TestForEach(t *testing.T) {
	var seen [50]atomic.Int32
	if err := forEach(context.Background(), len(seen), 3, func(i int) { seen[i].Add(1) }); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("index %d ran %d times", i, n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	err := forEach(ctx, 100, 1, func(i int) {
		ran.Add(1)
		if i == 4 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || ran.Load() > 6 {
		t.Fatalf("after cancelling at index 4: %d ran, err %v", ran.Load(), err)
	}
}
