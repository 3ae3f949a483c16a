package losscurve

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load: it must return a law or an
// error, never panic, and a loaded law must save and load back to the same
// parameters and predict finite-or-NaN values without panicking.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		`{"law":"mpl","variant":"repo","warmup":-1,"params":{"L0":2.37,"A":0.65,"alpha":0.43,"B":523,"C":2,"beta":0.59,"gamma":0.63}}`,
		`{"law":"annealing","variant":"a","warmup":10,"params":{"L0":2.5,"A":0.65,"alpha":0.42,"C":0.57,"lambda":0.999}}`,
		`{"law":"power","params":{"L0":3,"A":2,"alpha":0.5}}`,
		`{"law":"power","params":{"L0":3,"A":2,"alpha":0.5},"sigma":0.002,"members":[{"L0":3,"A":2.1,"alpha":0.5}],"fit":{"recipe":"lrkit","peak":0.001,"warmup":300,"from":300,"to":5000,"decay":0.9}}`,
		`{"law":"power","params":{"L0":3,"A":2}}`,
		`{"law":"mpl","params":{"L0":1e309}}`,
		`[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		law, err := Load(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "losscurve: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := Save(&buf, law); err != nil {
			t.Fatal(err)
		}
		back, err := Load(&buf)
		if err != nil {
			t.Fatalf("saved law does not load: %v\n%s", err, buf.String())
		}
		for k, v := range law.Params() {
			if w := back.Params()[k]; w != v && !(math.IsNaN(v) && math.IsNaN(w)) {
				t.Fatalf("parameter %s: %v then %v", k, v, w)
			}
		}
		law.Predict([]float64{0, 1e-4, 2e-4, 2e-4, 1e-4, 0})
		if f, ok := law.(*Fitted); ok {
			g := back.(*Fitted)
			if len(g.Members) != len(f.Members) || g.Sigma != f.Sigma || g.Info.From != f.Info.From {
				t.Fatalf("fitted law changed in the round trip: %+v then %+v", f, g)
			}
			f.Interval([]float64{0, 1e-4, 2e-4, 2e-4, 1e-4, 0}, 0.9)
		}
	})
}
