package losscurve_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/losscurve/mplpaper"
)

// TestReleasedParity fits the paper's 400M curves with the released
// recipe and compares with the parameters the released code logged
// (config.py; logs/400.log of the MultiPowerLaw repo). The curves are not
// part of lrkit: set LOSSCURVE_MPL_CURVES to the folder holding csv_400.
func TestReleasedParity(t *testing.T) {
	dir := os.Getenv("LOSSCURVE_MPL_CURVES")
	if dir == "" {
		t.Skip("LOSSCURVE_MPL_CURVES not set (the multi-power law paper's curves)")
	}
	if testing.Short() {
		t.Skip("slow")
	}
	var runs []losscurve.Run
	for _, name := range []string{"cosine_24000", "constant_24000", "wsdcon_9"} {
		r, err := mplpaper.Run(filepath.Join(dir, "csv_400"), name)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	f, _, err := losscurve.Fit(context.Background(), losscurve.KindMPL, runs, losscurve.FitOptions{Recipe: losscurve.RecipeReleased})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"L0": 2.37474466, "A": 0.65421216, "alpha": 0.42878731, "B": 523.42464371, "C": 2.02462735, "beta": 0.59350493, "gamma": 0.63472457}
	for k, w := range want {
		if g := f.Params()[k]; math.Abs(g-w) > 1e-3*math.Abs(w) {
			t.Errorf("%s = %.8g, released %.8g", k, g, w)
		}
	}
}
