package subset

import (
	"encoding/binary"
	"testing"

	"codeberg.org/go-fonts/liberation/liberationserifregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

func segments(t *testing.T, f *sfnt.Font, r rune) int {
	t.Helper()
	var buf sfnt.Buffer
	g, err := f.GlyphIndex(&buf, r)
	if err != nil || g == 0 {
		t.Fatalf("no glyph for %q: %v", r, err)
	}
	segs, err := f.LoadGlyph(&buf, g, fixed.I(12), nil)
	if err != nil {
		t.Fatalf("glyph for %q: %v", r, err)
	}
	return len(segs)
}

func TestTrueType(t *testing.T) {
	full := liberationserifregular.TTF
	// "é" is a composite glyph in Liberation Serif (e and the acute
	// accent): its components must come along.
	sub, err := TrueType(full, []rune("Loss 0.5é"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sub) > len(full)/4 {
		t.Errorf("subset is %d bytes of %d", len(sub), len(full))
	}
	f, err := sfnt.Parse(sub)
	if err != nil {
		t.Fatalf("the subset does not parse: %v", err)
	}
	orig, _ := sfnt.Parse(full)
	for _, r := range "Loss0.5é" {
		if got, want := segments(t, f, r), segments(t, orig, r); got != want || got == 0 {
			t.Errorf("%q: %d outline segments, want %d", r, got, want)
		}
	}
	// A character left out keeps its glyph id and advance, without an outline.
	if n := segments(t, f, 'Z'); n != 0 {
		t.Errorf("Z kept %d segments", n)
	}
	var buf sfnt.Buffer
	gz, _ := f.GlyphIndex(&buf, 'Z')
	a1, _ := f.GlyphAdvance(&buf, gz, fixed.I(12), 0)
	a2, _ := orig.GlyphAdvance(&buf, gz, fixed.I(12), 0)
	if a1 != a2 || a1 == 0 {
		t.Errorf("Z advance %v, want %v", a1, a2)
	}
	// The whole file sums to the magic number once head's adjustment is in.
	if got := checksum(sub); got != 0xB1B0AFBA {
		t.Errorf("file checksum %#x, want 0xB1B0AFBA", got)
	}
	tables, err := readTables(sub)
	if err != nil {
		t.Fatal(err)
	}
	for tag := range drop {
		if _, ok := tables[tag]; ok {
			t.Errorf("table %s kept", tag)
		}
	}
	if v := binary.BigEndian.Uint32(tables["post"]); v != 0x00030000 {
		t.Errorf("post version %#x", v)
	}
}

func TestTrueTypeErrors(t *testing.T) {
	for _, bad := range [][]byte{nil, []byte("not a font at all, not at all"), liberationserifregular.TTF[:200]} {
		if _, err := TrueType(bad, []rune("a")); err == nil {
			t.Errorf("%d bytes of garbage accepted", len(bad))
		}
	}
}
