package data

import (
	"path/filepath"
	"sync"
	"testing"
)

func TestSetCacheDecodesOnce(t *testing.T) {
	c := NewSetCache()
	var wg sync.WaitGroup
	got := make([]*Set, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, te, err := c.MNIST(500)
			if err != nil {
				t.Error(err)
				return
			}
			if tr.Len() != 500 || te.Len() != 500 {
				t.Errorf("sizes %d and %d, want 500", tr.Len(), te.Len())
			}
			got[i] = tr
		}()
	}
	wg.Wait()
	for i := 1; i < len(got); i++ {
		if got[i] != got[0] {
			t.Fatalf("call %d decoded its own copy", i)
		}
	}
	// Another limit is another set.
	other, _, err := c.MNIST(200)
	if err != nil || other == got[0] || other.Len() != 200 {
		t.Fatalf("limit 200: %v (%d examples), shared with limit 500: %v", err, other.Len(), other == got[0])
	}
	// A nil cache decodes afresh, with the same content.
	var none *SetCache
	a, _, err := none.MNIST(500)
	if err != nil || a == got[0] || a.X[1234] != got[0].X[1234] || a.Y[77] != got[0].Y[77] {
		t.Fatalf("nil cache: %v, shared %v", err, a == got[0])
	}
}

func TestSetCacheKeepsErrors(t *testing.T) {
	t.Setenv("LRKIT_FASHION_DIR", filepath.Join(t.TempDir(), "missing"))
	c := NewSetCache()
	_, _, err1 := c.FashionMNIST(10)
	_, _, err2 := c.FashionMNIST(10)
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Fatalf("errors %v and %v, want the same error twice", err1, err2)
	}
}

// BenchmarkMNIST compares decoding MNIST for every build with taking it
// from a cache (what a benchmark's trials do): `go test -bench MNIST
// ./workload/data`.
func BenchmarkMNIST(b *testing.B) {
	b.Run("decode", func(b *testing.B) {
		var none *SetCache
		for b.Loop() {
			if _, _, err := none.MNIST(0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := NewSetCache()
		for b.Loop() {
			if _, _, err := c.MNIST(0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
