package server_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestAPIDocNamesEveryErrorCode: every error code the server's own code can
// answer (a literal passed to newErr or tooMany, or the Code of an errHTTP
// literal) appears in docs/api.md as `code`, so a new refusal cannot ship
// undocumented. Codes of package chat's validation are documented with the
// field they belong to and are not collected here.
func TestAPIDocNamesEveryErrorCode(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	codes := map[string]string{} // code -> where
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				fn, ok := n.Fun.(*ast.Ident)
				if !ok {
					break
				}
				arg := map[string]int{"newErr": 1, "tooMany": 0}
				if i, ok := arg[fn.Name]; ok && len(n.Args) > i {
					if c, ok := lit(n.Args[i]); ok {
						codes[c] = fset.Position(n.Pos()).String()
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
					if c, ok := lit(n.Value); ok {
						codes[c] = fset.Position(n.Pos()).String()
					}
				}
			}
			return true
		})
	}
	if len(codes) < 10 {
		t.Fatalf("found only %d codes (%v): the scan is broken", len(codes), codes)
	}
	var missing []string
	for c, where := range codes {
		if !strings.Contains(string(doc), "`"+c+"`") {
			missing = append(missing, c+" ("+where+")")
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Fatalf("docs/api.md does not name these error codes:\n%s", strings.Join(missing, "\n"))
	}
}
