package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/schedule"
)

func TestSchedulesText(t *testing.T) {
	r := runLrkit("schedules")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	kinds := schedule.Kinds()
	if len(kinds) < 25 {
		t.Fatalf("only %d kinds", len(kinds))
	}
	for _, k := range kinds {
		head := k.Name + ": "
		if k.Stateful {
			head = k.Name + " (controller): "
		}
		if !strings.Contains(r.stdout, "\n"+head+k.Summary+"\n") && !strings.HasPrefix(r.stdout, head) {
			t.Errorf("no header line for %s", k.Name)
		}
		if !strings.Contains(r.stdout, "  source: "+k.Source+"\n") {
			t.Errorf("no source line for %s", k.Name)
		}
		if k.Unverified != "" && !strings.Contains(r.stdout, "  unverified: "+k.Unverified+"\n") {
			t.Errorf("no unverified note for %s", k.Name)
		}
	}
	// Parameter lines: name, type, default or required, choices and doc,
	// aligned within a kind.
	block := kindBlock(t, r.stdout, "cosine")
	for _, want := range []string{
		"    peak    number   default 1     learning rate at step 0",
		"    steps   integer  required      horizon T (PyTorch T_max)",
		"    parity  word     default none  none|pytorch|hf|optax: ",
	} {
		if !strings.Contains(block, want) {
			t.Errorf("cosine block lacks %q:\n%s", want, block)
		}
	}
	uba := kindBlock(t, r.stdout, "uba")
	if !strings.Contains(uba, "    phi  ") || !strings.Contains(uba, "required") || !strings.Contains(uba, "unverified:") {
		t.Errorf("uba block should show phi as required and the unverified note:\n%s", uba)
	}
}

// kindBlock returns the lines printed for one kind.
func kindBlock(t *testing.T, out, name string) string {
	t.Helper()
	for _, b := range strings.Split(out, "\n\n") {
		if strings.HasPrefix(b, name+": ") {
			return b
		}
	}
	t.Fatalf("no block for %s", name)
	return ""
}

func TestSchedulesJSON(t *testing.T) {
	r := runLrkit("schedules", "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []kindInfo
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	ctrls := control.Kinds()
	kinds := schedule.Kinds()[:len(schedule.Kinds())-len(ctrls)]
	if len(got) != len(kinds)+len(ctrls) {
		t.Fatalf("%d kinds in JSON, want %d schedules and %d controllers", len(got), len(kinds), len(ctrls))
	}
	for i, c := range ctrls {
		k := got[len(kinds)+i]
		if k.Name != c.Name || !k.Controller || len(k.Params) != len(schedule.Params(c)) {
			t.Errorf("controller %d: %+v does not match %s", i, k, c.Name)
		}
	}
	got = got[:len(kinds)]
	byName := map[string]kindInfo{}
	for i, k := range got {
		if k.Controller {
			t.Errorf("schedule %s marked as a controller", k.Name)
		}
		if k.Name != kinds[i].Name || k.Source != kinds[i].Source || len(k.Params) != len(schedule.Params(kinds[i])) {
			t.Errorf("kind %d: %+v does not match %s", i, k, kinds[i].Name)
		}
		byName[k.Name] = k
	}
	param := func(kind, name string) paramInfo {
		for _, p := range byName[kind].Params {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("%s has no parameter %s", kind, name)
		return paramInfo{}
	}
	if p := param("uba", "phi"); p.Default != nil {
		t.Errorf("uba phi has default %q, want none (required)", *p.Default)
	}
	if p := param("cyclic", "mode"); p.Default == nil || *p.Default != "triangular" || strings.Join(p.Choices, "|") != "triangular|triangular2|exp_range" {
		t.Errorf("cyclic mode: %+v", p)
	}
	if p := param("warmup", "base"); !p.Positional || p.Type != "schedule" {
		t.Errorf("warmup base: %+v", p)
	}
	if byName["uba"].Unverified == "" || byName["cosine"].Unverified != "" {
		t.Errorf("unverified notes: uba %q, cosine %q", byName["uba"].Unverified, byName["cosine"].Unverified)
	}
	checkBadInput(t, runLrkit("schedules", "--format", "yaml"), `--format must be text or json, got "yaml"`)
}

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "demo")
	r := runLrkit("demo", "-o", dir)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	svgPath, pngPath := filepath.Join(dir, "schedules.svg"), filepath.Join(dir, "schedules.png")
	for _, want := range append([]string{"wrote " + svgPath, "wrote " + pngPath, "10000"}, demoSpecs...) {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	data, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("demo SVG does not parse: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
	for _, s := range demoSpecs {
		if !strings.Contains(text.String(), s) {
			t.Errorf("demo SVG legend lacks %q", s)
		}
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 600 {
		t.Errorf("demo PNG is %dx%d, want 1000x600", b.Dx(), b.Dy())
	}
}
