package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"

	"github.com/lrkit/lrkit/internal/safefile"
)

// writeCSV writes rows (the header first) through a temporary file and a
// rename, so a resumed run never reads half a table.
func writeCSV(path string, rows [][]string) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return safefile.WriteAtomic(path, b.Bytes())
}

// readFloatCSV reads a table written by writeCSV: after the header, each
// row's columns cols must be numbers; row gets them in that order with the
// whole row. Errors name the file and line.
func readFloatCSV(path string, cols []int, row func(v []float64, r []string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("%s: empty file, want a header and rows", path)
	}
	v := make([]float64, len(cols))
	for i, r := range recs[1:] {
		for k, c := range cols {
			if c >= len(r) {
				return fmt.Errorf("%s:%d: %d columns, want at least %d", path, i+2, len(r), c+1)
			}
			if v[k], err = strconv.ParseFloat(r[c], 64); err != nil {
				return fmt.Errorf("%s:%d: %w", path, i+2, err)
			}
		}
		row(v, r)
	}
	return nil
}
