// Package subset cuts a TrueType font down to the glyphs of a set of
// characters, so that an SVG chart can carry its font (a few tens of
// kilobytes instead of the whole 400 kB file).
//
// No library served to this project writes font subsets
// (golang.org/x/image/font/sfnt only reads), so this is a small one for
// the fonts lrkit draws with (Liberation, glyf-outlined TrueType). It
// keeps glyph ids as they are: the outlines of unused glyphs are emptied
// (their loca entries become zero-length, which TrueType allows), the
// tables browsers do not need (layout, kerning, glyph names) are dropped,
// and the checksums are recomputed. The OpenType specification's table
// layouts are the source (https://learn.microsoft.com/typography/opentype/spec/).
package subset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/image/font/sfnt"
)

// drop lists the tables a subset leaves out: OpenType layout and kerning
// (text in charts is laid out by the chart library, not by the browser's
// shaper) and a FontForge timestamp.
var drop = map[string]bool{"GPOS": true, "GSUB": true, "GDEF": true, "kern": true, "FFTM": true}

// TrueType returns a font holding the glyphs of the given characters
// (and .notdef) from ttf, a glyf-outlined TrueType font.
func TrueType(ttf []byte, chars []rune) ([]byte, error) {
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("subset: %w", err)
	}
	tables, err := readTables(ttf)
	if err != nil {
		return nil, err
	}
	for _, need := range []string{"head", "loca", "glyf", "maxp", "cmap", "hmtx", "hhea"} {
		if _, ok := tables[need]; !ok {
			return nil, fmt.Errorf("subset: the font has no %s table (only glyf-outlined TrueType fonts are subset)", need)
		}
	}
	head := tables["head"]
	numGlyphs := int(binary.BigEndian.Uint16(tables["maxp"][4:]))
	offsets, err := readLoca(tables["loca"], int16(binary.BigEndian.Uint16(head[50:])), numGlyphs, len(tables["glyf"]))
	if err != nil {
		return nil, err
	}
	keep := map[uint16]bool{0: true}
	var buf sfnt.Buffer
	for _, r := range chars {
		if g, err := f.GlyphIndex(&buf, r); err == nil && g != 0 {
			keep[uint16(g)] = true
		}
	}
	if err := addComponents(tables["glyf"], offsets, keep); err != nil {
		return nil, err
	}
	glyf, loca := rebuildGlyf(tables["glyf"], offsets, keep)
	out := map[string][]byte{}
	for tag, data := range tables {
		if !drop[tag] {
			out[tag] = data
		}
	}
	out["glyf"], out["loca"] = glyf, loca
	h := append([]byte(nil), head...)
	binary.BigEndian.PutUint16(h[50:], 1) // indexToLocFormat: long offsets
	out["head"] = h
	if post, ok := tables["post"]; ok && len(post) >= 32 {
		p := append([]byte(nil), post[:32]...)
		binary.BigEndian.PutUint32(p[0:], 0x00030000) // version 3: no glyph names
		out["post"] = p
	}
	return writeFont(binary.BigEndian.Uint32(ttf[0:]), out), nil
}

// readTables returns the font's tables by tag.
func readTables(ttf []byte) (map[string][]byte, error) {
	if len(ttf) < 12 {
		return nil, errors.New("subset: font file too short")
	}
	n := int(binary.BigEndian.Uint16(ttf[4:]))
	if len(ttf) < 12+16*n {
		return nil, errors.New("subset: truncated table directory")
	}
	tables := map[string][]byte{}
	for i := 0; i < n; i++ {
		rec := ttf[12+16*i:]
		off, ln := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(ln) > uint64(len(ttf)) {
			return nil, fmt.Errorf("subset: table %q lies outside the file", rec[:4])
		}
		tables[string(rec[:4])] = ttf[off : off+ln]
	}
	return tables, nil
}

// readLoca returns the numGlyphs+1 glyph offsets into glyf.
func readLoca(loca []byte, format int16, numGlyphs, glyfLen int) ([]uint32, error) {
	out := make([]uint32, numGlyphs+1)
	for i := range out {
		switch {
		case format == 0 && len(loca) >= 2*(i+1):
			out[i] = 2 * uint32(binary.BigEndian.Uint16(loca[2*i:]))
		case format == 1 && len(loca) >= 4*(i+1):
			out[i] = binary.BigEndian.Uint32(loca[4*i:])
		default:
			return nil, errors.New("subset: loca table too short for maxp's glyph count")
		}
		if out[i] > uint32(glyfLen) || i > 0 && out[i] < out[i-1] {
			return nil, fmt.Errorf("subset: loca entry %d is out of order or past glyf", i)
		}
	}
	return out, nil
}

// Composite glyph flags (glyf table).
const (
	argsAreWords   = 0x0001
	haveScale      = 0x0008
	moreComponents = 0x0020
	haveXYScale    = 0x0040
	haveTwoByTwo   = 0x0080
)

// addComponents adds to keep the glyphs that kept composite glyphs are
// built from, recursively.
func addComponents(glyf []byte, offsets []uint32, keep map[uint16]bool) error {
	todo := make([]uint16, 0, len(keep))
	for g := range keep {
		todo = append(todo, g)
	}
	for len(todo) > 0 {
		g := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if int(g)+1 >= len(offsets) {
			return fmt.Errorf("subset: glyph %d past the font's %d glyphs", g, len(offsets)-1)
		}
		data := glyf[offsets[g]:offsets[g+1]]
		if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
			continue // empty or simple glyph
		}
		for p := 10; ; {
			if p+4 > len(data) {
				return fmt.Errorf("subset: composite glyph %d is truncated", g)
			}
			flags, comp := binary.BigEndian.Uint16(data[p:]), binary.BigEndian.Uint16(data[p+2:])
			if !keep[comp] {
				keep[comp] = true
				todo = append(todo, comp)
			}
			p += 4 + 2
			if flags&argsAreWords != 0 {
				p += 2
			}
			switch {
			case flags&haveScale != 0:
				p += 2
			case flags&haveXYScale != 0:
				p += 4
			case flags&haveTwoByTwo != 0:
				p += 8
			}
			if flags&moreComponents == 0 {
				break
			}
		}
	}
	return nil
}

// rebuildGlyf returns glyf with only the kept glyphs' outlines and its
// long-format loca.
func rebuildGlyf(glyf []byte, offsets []uint32, keep map[uint16]bool) ([]byte, []byte) {
	n := len(offsets) - 1
	var out []byte
	loca := make([]byte, 4*(n+1))
	for g := 0; g < n; g++ {
		binary.BigEndian.PutUint32(loca[4*g:], uint32(len(out)))
		if keep[uint16(g)] {
			out = append(out, glyf[offsets[g]:offsets[g+1]]...)
			for len(out)%4 != 0 {
				out = append(out, 0)
			}
		}
	}
	binary.BigEndian.PutUint32(loca[4*n:], uint32(len(out)))
	return out, loca
}

// writeFont lays the tables out in tag order with a fresh directory and
// checksums, and sets head's checkSumAdjustment.
func writeFont(version uint32, tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	entrySel := 0
	for 1<<(entrySel+1) <= n {
		entrySel++
	}
	out := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(out[0:], version)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	binary.BigEndian.PutUint16(out[6:], uint16(16<<entrySel))
	binary.BigEndian.PutUint16(out[8:], uint16(entrySel))
	binary.BigEndian.PutUint16(out[10:], uint16(16*n-(16<<entrySel)))
	headAt := 0
	for i, t := range tags {
		data := tables[t]
		if t == "head" {
			data = append([]byte(nil), data...)
			binary.BigEndian.PutUint32(data[8:], 0) // checkSumAdjustment, set below
			headAt = len(out)
		}
		rec := out[12+16*i:]
		copy(rec[0:4], t)
		binary.BigEndian.PutUint32(rec[4:], checksum(data))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(data)))
		out = append(out, data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	return out
}

// checksum is the OpenType table checksum: the sum of the big-endian
// uint32 words, the last one padded with zeros.
func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}
