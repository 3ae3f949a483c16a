package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Every write reaches the writer pool (s.w) through tx, writeExec,
// insertID or the committer's groupTx, which refuse writes after an I/O
// failure (writable). A new method calling s.w directly would write on a
// store that may have lost data: this test names it.
func TestWritesGoThroughTheGuards(t *testing.T) {
	allowed := map[string]string{
		"tx":              "the guard of transactions",
		"writeExec":       "the guard of single statements",
		"insertID":        "the guard of single INSERTs",
		"groupTx":         "the metrics committer's guarded transaction",
		"schemaVersion":   "a read at opening",
		"quickCheck":      "a read at opening",
		"prepare":         "prepares statements, run inside guarded transactions",
		"prepareLazy":     "the same, on first use",
		"Close":           "closes the pool",
		"migratePostgres": "guarded by writable; a connection of its own, whose session holds the migration lock",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !isWriterPool(sel.X) {
					return true
				}
				seen[fn.Name.Name] = true
				if _, ok := allowed[fn.Name.Name]; !ok {
					t.Errorf("%s: %s calls s.w.%s directly; write through tx, writeExec or insertID", fset.Position(call.Pos()), fn.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
	// The check sees the calls it is meant to see.
	for _, guard := range []string{"tx", "writeExec", "insertID", "groupTx"} {
		if !seen[guard] {
			t.Errorf("no call of s.w found in %s: the check does not see the writes", guard)
		}
	}
}

// isWriterPool reports whether e is s.w.
func isWriterPool(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "w" {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "s"
}
