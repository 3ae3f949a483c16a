package runlog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"testing"
)

// rowSource generates a CSV or JSONL log of n rows on the fly, so that
// reading it measures the reader and nothing holds the whole file.
type rowSource struct {
	n, i  int
	jsonl bool
	buf   []byte
	pos   int
}

func (s *rowSource) Read(p []byte) (int, error) {
	if s.pos == len(s.buf) {
		if s.i > s.n {
			return 0, io.EOF
		}
		s.buf, s.pos = s.buf[:0], 0
		for k := 0; k < 256 && s.i <= s.n; k++ {
			s.buf = s.row(s.buf)
			s.i++
		}
	}
	n := copy(p, s.buf[s.pos:])
	s.pos += n
	return n, nil
}

func (s *rowSource) row(b []byte) []byte {
	step := s.i - 1
	if s.jsonl {
		if s.i == 0 {
			return b
		}
		b = append(b, `{"step":`...)
		b = strconv.AppendInt(b, int64(step)*10, 10)
		b = append(b, `,"lr":0.000875,"loss":`...)
		b = strconv.AppendFloat(b, 7.618656-float64(step)*1e-6, 'g', -1, 64)
		return append(b, `,"grad_norm":0.53}`+"\n"...)
	}
	if s.i == 0 {
		return append(b, "step,lr,loss,grad_norm\n"...)
	}
	b = strconv.AppendInt(b, int64(step)*10, 10)
	b = append(b, ",0.000875,"...)
	b = strconv.AppendFloat(b, 7.618656-float64(step)*1e-6, 'g', -1, 64)
	return append(b, ",0.53\n"...)
}

// benchReader reads b.N records; one op is one record, so ns/op and
// allocs/op are per record.
func benchReader(b *testing.B, r Reader) {
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != b.N {
		b.Fatalf("read %d records, want %d", n, b.N)
	}
}

func BenchmarkCSVReader(b *testing.B) {
	benchReader(b, NewCSVReader(&rowSource{n: b.N}, ReadOptions{}))
}

// BenchmarkCSVBaseline only splits the same rows with encoding/csv, the
// floor for BenchmarkCSVReader: their ratio is the cost of parsing and
// checking the values.
func BenchmarkCSVBaseline(b *testing.B) {
	cr := csv.NewReader(bufio.NewReaderSize(&rowSource{n: b.N}, 64<<10))
	cr.ReuseRecord = true
	b.ReportAllocs()
	b.ResetTimer()
	n := -1 // the header
	for {
		_, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != b.N {
		b.Fatalf("read %d rows, want %d", n, b.N)
	}
}

func BenchmarkJSONLReader(b *testing.B) {
	benchReader(b, NewJSONLReader(&rowSource{n: b.N, jsonl: true}, ReadOptions{}))
}

func BenchmarkTFEventsReader(b *testing.B) {
	var buf bytes.Buffer
	w := NewTFEventWriter(&buf, TFEventOptions{WallTime: func() float64 { return 0 }})
	for i := 0; i < b.N; i++ {
		if err := w.Write(Record{Step: int64(i), LR: 1e-3, Loss: 3, GradNorm: 0.5, Present: FieldLR | FieldLoss | FieldGradNorm}); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
	benchReader(b, NewTFEventsReader(&buf, ReadOptions{}))
}

func BenchmarkCSVWriter(b *testing.B) {
	w := NewCSVWriter(io.Discard, FieldLR|FieldLoss|FieldGradNorm)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := w.Write(Record{Step: int64(i), LR: 8.75e-4, Loss: 7.618656, GradNorm: 0.53, Present: FieldLR | FieldLoss | FieldGradNorm}); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
}

// TestCSVReaderStreams checks that allocation per record does not grow
// with the log: reading 100 and 20,000 rows costs the same per record.
func TestCSVReaderStreams(t *testing.T) {
	perRecord := func(n int) float64 {
		allocs := testing.AllocsPerRun(3, func() {
			r := NewCSVReader(&rowSource{n: n}, ReadOptions{})
			for {
				if _, err := r.Next(); err != nil {
					break
				}
			}
		})
		return allocs / float64(n)
	}
	small, large := perRecord(100), perRecord(20000)
	if large > 1.01 {
		t.Errorf("%.3f allocations per record at 20,000 rows, want at most 1 (the row's string)", large)
	}
	if large > small {
		t.Errorf("allocations per record grow with the log: %.3f at 100 rows, %.3f at 20,000", small, large)
	}
}
