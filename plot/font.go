package plot

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"sort"

	"codeberg.org/go-fonts/liberation/liberationserifregular"
	"github.com/lrkit/lrkit/plot/internal/subset"
)

// embedFont makes an SVG written by gonum/plot carry its font: a subset of
// Liberation Serif (gonum/plot's default face) holding exactly the
// characters of the SVG's text, as a @font-face rule of the family name
// the text elements ask for. A browser that lacks the font would
// otherwise substitute a wider one, and legends would be cut. The subset
// adds a few tens of kilobytes; the whole font would add 500.
func embedFont(doc []byte) ([]byte, error) {
	chars := map[rune]bool{' ': true}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("plot: reading back the svg: %w", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			for _, r := range string(cd) {
				chars[r] = true
			}
		}
	}
	runes := make([]rune, 0, len(chars))
	for r := range chars {
		runes = append(runes, r)
	}
	sort.Slice(runes, func(i, j int) bool { return runes[i] < runes[j] })
	font, err := subset.TrueType(liberationserifregular.TTF, runes)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	open := bytes.Index(doc, []byte("<svg"))
	end := bytes.IndexByte(doc[max(open, 0):], '>')
	if open < 0 || end < 0 {
		return nil, fmt.Errorf("plot: the svg has no <svg> element")
	}
	at := open + end + 1
	var out bytes.Buffer
	out.Grow(len(doc) + base64.StdEncoding.EncodedLen(len(font)) + 200)
	out.Write(doc[:at])
	out.WriteString(`<defs><style>@font-face{font-family:"Liberation Serif";font-style:normal;font-weight:normal;src:url("data:font/ttf;base64,`)
	out.WriteString(base64.StdEncoding.EncodeToString(font))
	out.WriteString(`") format("truetype");}</style></defs>`)
	out.Write(doc[at:])
	return out.Bytes(), nil
}
