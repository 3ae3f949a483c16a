package schedule

import (
	"reflect"
	"testing"
)

func TestToJSON(t *testing.T) {
	tests := []struct{ spec, json string }{
		{"wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)",
			`{"kind":"wsd","peak":0.0003,"steps":10000,"warmup":500,"decay":0.2,"shape":"1-sqrt"}`},
		{"cosine(steps=100)", `{"kind":"cosine","steps":100}`},
		{"constant()", `{"kind":"constant"}`},
		// Lengths keep count versus fraction.
		{"wsd(steps=100, warmup=1.0, decay=0)", `{"kind":"wsd","steps":100,"warmup":1.0,"decay":0}`},
		{"wsd(steps=100, warmup=5e-7)", `{"kind":"wsd","steps":100,"warmup":5e-07}`},
		// Nested schedules are objects; the positional one goes by name.
		{"warmup(cosine(steps=90), steps=10)", `{"kind":"warmup","base":{"kind":"cosine","steps":90},"steps":10}`},
		{"join([constant(peak=2), linear(steps=5)], at=[10])",
			`{"kind":"join","parts":[{"kind":"constant","peak":2},{"kind":"linear","steps":5}],"at":[10]}`},
		{"exp_decay(rate=0.5, every=10, staircase=true)", `{"kind":"exp_decay","rate":0.5,"every":10,"staircase":true}`},
		{"table(at=[0, 10], lr=[1, 1e-9])", `{"kind":"table","at":[0,10],"lr":[1,1e-09]}`},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.spec, err)
		}
		got, err := ToJSON(s)
		if err != nil {
			t.Errorf("ToJSON(%s): %v", tt.spec, err)
			continue
		}
		if string(got) != tt.json {
			t.Errorf("ToJSON(%s)\n got %s\nwant %s", tt.spec, got, tt.json)
		}
		back, err := ParseJSON(got)
		if err != nil {
			t.Errorf("ParseJSON(%s): %v", got, err)
			continue
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("ParseJSON(%s) = %#v, want %#v", got, back, s)
		}
	}
}

func TestParseJSONForms(t *testing.T) {
	// Key order, whitespace, defaults written out and strings for words
	// are all accepted.
	tests := []struct{ json, spec string }{
		{`{"steps": 100, "kind": "cosine", "peak": 1, "floor": 0, "parity": "none"}`, "cosine(steps=100)"},
		{"{\n \"kind\": \"wsd\",\n \"steps\": 1000,\n \"warmup\": 0.05\n}", "wsd(steps=1000, warmup=0.05)"},
		{`{"kind":"warmup","steps":10,"base":{"kind":"constant"}}`, "warmup(constant(), steps=10)"},
		{`{"kind":"table","file":"","at":[5],"lr":[0.5]}`, "table(at=[5], lr=[0.5])"},
		{`{"kind":"multistep","milestones":[10,20],"gamma":5E-1}`, "multistep(milestones=[10, 20], gamma=0.5)"},
	}
	for _, tt := range tests {
		s, err := ParseJSON([]byte(tt.json))
		if err != nil {
			t.Errorf("ParseJSON(%s): %v", tt.json, err)
			continue
		}
		if s.String() != tt.spec {
			t.Errorf("ParseJSON(%s) = %s, want %s", tt.json, s, tt.spec)
		}
	}
}

func TestToJSONErrors(t *testing.T) {
	tests := []struct {
		s    Schedule
		want string
	}{
		{Func(func(int64) float64 { return 0 }), "schedule: ToJSON: $: schedule.Func is not a kind of the spec language"},
		{nil, "schedule: ToJSON: $ is a nil schedule"},
		{Warmup{Steps: 1, Shape: "linear", Beta2: 0.999}, "schedule: ToJSON: $.base is a nil schedule"},
		{Cosine{Peak: nan(), Steps: 1, Parity: "none"}, "schedule: ToJSON: $.peak: NaN is not a JSON number"},
		{Join{Parts: []Schedule{Constant{Peak: 1}, Func(nil)}, At: []int64{1}}, "schedule: ToJSON: $.parts[1]: schedule.Func is not a kind of the spec language"},
	}
	for _, tt := range tests {
		_, err := ToJSON(tt.s)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ToJSON(%#v) error = %v, want %s", tt.s, err, tt.want)
		}
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}
