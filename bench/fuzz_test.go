package bench

import (
	"testing"
)

// FuzzParseStudy: any bytes give a study or an error, never a panic, and a
// study that parses plans a bounded number of trials. The seed corpus is the built-in studies,
// the validation test's study and testdata/fuzz/FuzzParseStudy.
func FuzzParseStudy(f *testing.F) {
	for _, name := range []string{"quick", "default"} {
		b, err := BuiltinStudy(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(validStudy))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStudy("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		if n := s.plannedTrials(); n > MaxStudyTrials {
			t.Fatalf("accepted a study of %g trials", n)
		}
	})
}
