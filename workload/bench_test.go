package workload

import (
	"testing"

	"github.com/lrkit/lrkit/train"
)

// TestSourcesDoNotAllocate checks that Next reuses the batch's storage, so
// data loading adds no garbage to a training step (epoch changes
// included).
func TestSourcesDoNotAllocate(t *testing.T) {
	cs, err := NewClassSource(seqSet(10), 4, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tokens := make([]uint8, 4096)
	ts, err := NewTextSource(tokens, 8, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []train.Data{cs, ts} {
		var b train.Batch
		_ = src.Next(&b)
		if n := testing.AllocsPerRun(50, func() { _ = src.Next(&b) }); n != 0 {
			t.Errorf("%T.Next allocates %v times per batch, want 0", src, n)
		}
	}
}

func BenchmarkClassSourceNext(b *testing.B) {
	set := seqSet(1000)
	src, _ := NewClassSource(set, 128, nil, 1)
	var batch train.Batch
	b.ReportAllocs()
	for b.Loop() {
		_ = src.Next(&batch)
	}
}

func BenchmarkTextSourceNext(b *testing.B) {
	tokens := make([]uint8, 1<<20)
	src, _ := NewTextSource(tokens, 32, 128, 1)
	var batch train.Batch
	b.ReportAllocs()
	for b.Loop() {
		_ = src.Next(&batch)
	}
}
