package archtest

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/lrkit/lrkit"

// rooms lists, for each room (the first path element of a package inside
// the module), the rooms it may import. A room may always import its own
// subpackages. docs/architecture.md holds the same table with reasons.
var rooms = map[string][]string{
	"internal":  {},
	"schedule":  {"internal"},
	"runlog":    {"internal"},
	"control":   {"schedule", "runlog", "internal"},
	"losscurve": {"schedule", "runlog", "internal"},
	"plot":      {"internal"},
	"store":     {"runlog", "internal"},
	"dispatch":  {"runlog", "internal"},
	"train":     {"schedule", "control", "runlog", "internal"},
	"workload":  {"train", "schedule", "control", "runlog", "internal"},
	"bench":     {"workload", "train", "control", "losscurve", "early", "dispatch", "store", "plot", "schedule", "runlog", "internal"},
	"fed":       {"workload", "train", "control", "dispatch", "plot", "schedule", "runlog", "internal"},
	"server":    {"schedule", "control", "losscurve", "early", "store", "plot", "runlog", "internal"},
	"early":     {"schedule", "runlog", "internal"},
	"scaling":   {"losscurve", "runlog", "internal"},
	"cmd":       nil, // every room
}

// pkg is what `go list` says of one package.
type pkg struct {
	path, name string
	imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Name}} {{join .Imports \" \"}}", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 {
			ps = append(ps, pkg{path: f[0], name: f[1], imports: f[2:]})
		}
	}
	if len(ps) < 10 {
		t.Fatalf("go list found only %d packages", len(ps))
	}
	return ps
}

// room returns the room of a package path inside the module.
func room(path string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	r, _, _ := strings.Cut(rest, "/")
	return r
}

func TestFloors(t *testing.T) {
	for _, p := range listPackages(t) {
		r := room(p.path)
		may, known := rooms[r]
		if !known {
			t.Errorf("%s: room %q is not in the table (add it here and to docs/architecture.md)", p.path, r)
			continue
		}
		if p.name == "main" && r != "cmd" {
			t.Errorf("%s: a main package outside cmd/", p.path)
		}
		if r == "cmd" {
			continue
		}
		for _, imp := range p.imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			ir := room(imp)
			ok := ir == r
			for _, m := range may {
				ok = ok || ir == m
			}
			if !ok {
				t.Errorf("%s imports %s: room %s may import only %v", p.path, imp, r, may)
			}
		}
	}
}

// TestThinCommands keeps lrkit's commands thin: no function (or function
// literal) of cmd/lrkit spans more than 60 lines.
func TestThinCommands(t *testing.T) {
	files, err := filepath.Glob("../../cmd/lrkit/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no files: %v", err)
	}
	fs := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fs, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			var body *ast.BlockStmt
			name := "a function literal"
			switch x := n.(type) {
			case *ast.FuncDecl:
				body, name = x.Body, x.Name.Name
			case *ast.FuncLit:
				body = x.Body
			}
			if body != nil {
				if l := fs.Position(body.Rbrace).Line - fs.Position(body.Lbrace).Line + 1; l > 60 {
					t.Errorf("%s: %s is %d lines; a command parses flags, calls one package function and prints", fs.Position(body.Lbrace), name, l)
				}
			}
			return true
		})
	}
}
