package runlog

import (
	"math"
	"testing"
)

func TestColumnAndSmooth(t *testing.T) {
	recs := []Record{
		{Step: 0, Loss: 4, Present: FieldLoss},
		{Step: 1, Loss: 2, ValLoss: 3, Present: FieldLoss | FieldValLoss},
		{Step: 2, Present: 0},
		{Step: 3, Loss: 1, Present: FieldLoss},
	}
	steps, vals := Column(recs, FieldLoss)
	if len(steps) != 3 || steps[2] != 3 || vals[1] != 2 {
		t.Errorf("Column(loss) = %v %v", steps, vals)
	}
	if s, v := Column(recs, FieldValLoss); len(s) != 1 || s[0] != 1 || v[0] != 3 {
		t.Errorf("Column(val_loss) = %v %v", s, v)
	}
	// Debiased EMA with weight 0.5: 4; (0.5·2+0.25·4)/0.75; ...
	got := Smooth([]float64{4, 2, math.NaN(), 1}, 0.5)
	want := []float64{4, (0.5*2 + 0.25*4) / 0.75, math.NaN(), (0.5*1 + 0.25*2 + 0.125*4) / 0.875}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || !math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("Smooth[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if c := Smooth([]float64{1, 5}, 0); c[0] != 1 || c[1] != 5 {
		t.Errorf("weight 0 = %v", c)
	}
	// A constant stays constant from the first value on.
	for _, v := range Smooth([]float64{3, 3, 3, 3}, 0.9) {
		if math.Abs(v-3) > 1e-12 {
			t.Errorf("constant smoothed to %v", v)
		}
	}
}
