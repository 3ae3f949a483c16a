package runlog

import (
	"fmt"
	"sort"
	"strings"
)

// TagMap maps TensorBoard scalar tags to Record fields: a tag's values go
// to its field, at the event's step. Tags that are not in the map are
// skipped (and named once in a warning).
type TagMap map[string]Field

// ParseTagMap parses "field=tag,field=tag", for example
// "loss=train/loss,lr=lr,val_loss=val/loss". Field names are the column
// names (see the Name* constants); a tag may hold any character but ',' and
// may not be empty. A field may be given several tags, a tag only one field.
func ParseTagMap(s string) (TagMap, error) {
	m := TagMap{}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("tag map %q: empty, want field=tag pairs such as loss=train/loss", s)
	}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, tag, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("tag map pair %d %q: want field=tag", i+1, part)
		}
		name, tag = strings.TrimSpace(name), strings.TrimSpace(tag)
		f, known := FieldByName(name)
		if !known {
			if name == NameStep {
				return nil, fmt.Errorf("tag map pair %d %q: step is the event's step, not a tag", i+1, part)
			}
			return nil, fmt.Errorf("tag map pair %d %q: unknown field %q (did you mean %q?)", i+1, part, name, nearestName(name))
		}
		if tag == "" {
			return nil, fmt.Errorf("tag map pair %d %q: empty tag", i+1, part)
		}
		if old, dup := m[tag]; dup {
			return nil, fmt.Errorf("tag map pair %d %q: tag %q already maps to %v", i+1, part, tag, old)
		}
		m[tag] = f
	}
	return m, nil
}

// String returns the map in ParseTagMap's form, sorted by field then tag.
func (m TagMap) String() string {
	type pair struct {
		f   Field
		tag string
	}
	pairs := make([]pair, 0, len(m))
	for tag, f := range m {
		pairs = append(pairs, pair{f, tag})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].f != pairs[j].f {
			return pairs[i].f < pairs[j].f
		}
		return pairs[i].tag < pairs[j].tag
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.f.String() + "=" + p.tag
	}
	return strings.Join(parts, ",")
}

// DefaultTagMap returns the tags read when no map is given: for every field
// its own name and "train/<name>", and these tags that common trainers
// write:
//
//	lr:         learning_rate, train/learning_rate, lr-SGD, lr-Adam, lr-AdamW (PyTorch Lightning's LearningRateMonitor)
//	loss:       train_loss, Loss/train, loss/train, training_loss
//	grad_norm:  train/grad_norm (Hugging Face Trainer)
//	val_loss:   val/loss, Loss/val, loss/val, eval/loss, eval_loss, validation/loss
//	val_metric: val/acc, val/accuracy, val_acc, eval/accuracy
//
// Hugging Face's Trainer writes train/loss, train/learning_rate and
// eval/loss, which all map; a file that uses other names needs a TagMap.
func DefaultTagMap() TagMap {
	m := TagMap{}
	for _, fi := range fieldInfo {
		m[fi.name] = fi.f
		m["train/"+fi.name] = fi.f
	}
	extra := map[Field][]string{
		FieldLR:        {"learning_rate", "train/learning_rate", "lr-SGD", "lr-Adam", "lr-AdamW"},
		FieldLoss:      {"train_loss", "Loss/train", "loss/train", "training_loss"},
		FieldValLoss:   {"val/loss", "Loss/val", "loss/val", "eval/loss", "eval_loss", "validation/loss"},
		FieldValMetric: {"val/acc", "val/accuracy", "val_acc", "eval/accuracy"},
	}
	for f, tags := range extra {
		for _, t := range tags {
			m[t] = f
		}
	}
	return m
}

// ParseColumnMap parses "name=column,name=column" into a ReadOptions.Columns
// map, for CSV and JSONL logs whose columns have other names: for example
// "step=_step,loss=train/loss" reads a log with columns _step and
// train/loss. Each name is "step" or a field name; a column may be
// renamed once.
func ParseColumnMap(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("column map %q: empty, want name=column pairs such as step=_step", s)
	}
	m := map[string]string{}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, col, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("column map pair %d %q: want name=column", i+1, part)
		}
		name, col = strings.TrimSpace(name), strings.TrimSpace(col)
		if _, known := FieldByName(name); !known && name != NameStep {
			return nil, fmt.Errorf("column map pair %d %q: unknown name %q (did you mean %q?)", i+1, part, name, nearestName(name))
		}
		if col == "" {
			return nil, fmt.Errorf("column map pair %d %q: empty column", i+1, part)
		}
		if old, dup := m[col]; dup {
			return nil, fmt.Errorf("column map pair %d %q: column %q is already renamed to %s", i+1, part, col, old)
		}
		m[col] = name
	}
	return m, nil
}
