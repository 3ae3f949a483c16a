package runlog

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestReaderLine checks that Line gives the file line of each record,
// with blank lines and (for CSV) the header counted.
func TestReaderLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    interface {
			Reader
			Line() int
		}
		want []int
	}{
		{"csv", NewCSVReader(strings.NewReader("step,loss\n0,3\n\n5,2.5\n10,2\n"), ReadOptions{}), []int{2, 4, 5}},
		{"jsonl", NewJSONLReader(strings.NewReader("{\"step\":0,\"loss\":3}\n\n{\"step\":5,\"loss\":2.5}\n{\"step\":10}\n"), ReadOptions{}), []int{1, 3, 4}},
	} {
		if l := tc.r.Line(); l != 0 {
			t.Errorf("%s: Line before Next = %d, want 0", tc.name, l)
		}
		var got []int
		for {
			_, err := tc.r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got = append(got, tc.r.Line())
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: lines %v, want %v", tc.name, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: record %d on line %d, want %d", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}
