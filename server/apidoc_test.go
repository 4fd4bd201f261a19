package server_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestAPIDocNamesEveryErrorCode keeps docs/api.md's table of error codes and
// the code in step, both ways: every code the server can answer (a value of
// the catalogue in errors.go, or a rule of package chat's validation, always
// 422) is a row of the table with the same statuses, and every row of the
// table is a code the server answers. It also checks that the catalogue is
// the only place an errHTTP is built, so a refusal cannot be invented
// elsewhere and escape the check.
func TestAPIDocNamesEveryErrorCode(t *testing.T) {
	answered := map[string]map[int]bool{} // code -> statuses
	add := func(code string, status int) {
		if answered[code] == nil {
			answered[code] = map[int]bool{}
		}
		answered[code][status] = true
	}
	for code, status := range catalogueCodes(t) {
		for s := range status {
			add(code, s)
		}
	}
	chatCodes := validationCodes(t)
	for _, code := range chatCodes {
		add(code, http.StatusUnprocessableEntity)
	}
	if len(answered) < 25 || len(chatCodes) < 8 {
		t.Fatalf("found only %d codes (%d of chat's): the scan is broken", len(answered), len(chatCodes))
	}

	listed := documentedCodes(t)
	var faults []string
	for _, code := range slices.Sorted(maps.Keys(answered)) {
		doc, ok := listed[code]
		switch {
		case !ok:
			faults = append(faults, "answered but not in docs/api.md's table: "+code)
		case !maps.Equal(doc, answered[code]):
			faults = append(faults, "statuses differ for "+code+": docs "+statusList(doc)+", code "+statusList(answered[code]))
		}
	}
	for _, code := range slices.Sorted(maps.Keys(listed)) {
		if _, ok := answered[code]; !ok {
			faults = append(faults, "in docs/api.md's table but never answered: "+code)
		}
	}
	if len(faults) > 0 {
		t.Fatalf("docs/api.md and the code disagree:\n%s", strings.Join(faults, "\n"))
	}
}

// catalogueCodes reads the codes and statuses of every errHTTP literal in
// the package, failing the test for one outside errors.go. A code built as
// "bad_"+field is the documented pattern bad_<field>.
func catalogueCodes(t *testing.T) map[string]map[int]bool {
	t.Helper()
	statusOf := map[string]int{} // "StatusNotFound" -> 404
	for c := 100; c < 600; c++ {
		if text := http.StatusText(c); text != "" {
			statusOf["Status"+strings.NewReplacer(" ", "", "-", "").Replace(text)] = c
		}
	}
	codes := map[string]map[int]bool{}
	inspectSources(t, "*.go", func(fset *token.FileSet, name string, n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "errHTTP" {
			return true
		}
		where := fset.Position(lit.Pos()).String()
		if name != "errors.go" {
			t.Errorf("%s: an errHTTP built outside the catalogue in errors.go", where)
			return true
		}
		var code string
		status := 0
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				t.Errorf("%s: give errHTTP's fields by name", where)
				continue
			}
			switch kv.Key.(*ast.Ident).Name {
			case "Code":
				code = codeOf(kv.Value)
			case "Status":
				if sel, ok := kv.Value.(*ast.SelectorExpr); ok {
					status = statusOf[sel.Sel.Name]
				}
			}
		}
		switch {
		case code == "" && status == http.StatusUnprocessableEntity:
			// errValidation: chat's codes, collected by validationCodes.
		case code == "" || status == 0:
			t.Errorf("%s: an errHTTP whose code or status the test cannot read", where)
		default:
			if codes[code] == nil {
				codes[code] = map[int]bool{}
			}
			codes[code][status] = true
		}
		return true
	})
	return codes
}

// inspectSources parses every Go file but tests that pattern matches and
// walks each with visit (ast.Inspect's rule: false skips the children).
// The catalogue check and the validation codes both read source this way.
func inspectSources(t *testing.T, pattern string, visit func(fset *token.FileSet, name string, n ast.Node) bool) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool { return visit(fset, name, n) })
	}
}

// codeOf reads a Code field: a string literal, or "bad_"+field.
func codeOf(e ast.Expr) string {
	if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
		if prefix := codeOf(b.X); prefix != "" {
			return prefix + "<field>"
		}
		return ""
	}
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return ""
	}
	s, err := strconv.Unquote(b.Value)
	if err != nil {
		return ""
	}
	return s
}

// validationCodes reads the codes of package chat's rules: the second
// argument of every call to its invalid helper.
func validationCodes(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	inspectSources(t, filepath.Join("..", "chat", "*.go"), func(_ *token.FileSet, _ string, n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "invalid" && len(call.Args) > 1 {
			if code := codeOf(call.Args[1]); code != "" {
				seen[code] = true
			}
		}
		return true
	})
	return slices.Sorted(maps.Keys(seen))
}

// documentedCodes reads the rows of the table under "## Error codes" in
// docs/api.md: | `code` | status[, status] | meaning |.
func documentedCodes(t *testing.T) map[string]map[int]bool {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Error codes\n")
	if !ok {
		t.Fatal(`docs/api.md has no "## Error codes" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	codes := map[string]map[int]bool{}
	for line := range strings.Lines(section) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		code := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if codes[code] != nil {
			t.Errorf("docs/api.md lists %s twice", code)
		}
		codes[code] = map[int]bool{}
		for s := range strings.SplitSeq(cells[2], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				t.Errorf("docs/api.md: the status of %s is not a number: %q", code, cells[2])
				continue
			}
			codes[code][n] = true
		}
	}
	if len(codes) == 0 {
		t.Fatal("docs/api.md's error table has no rows: the parse is broken")
	}
	return codes
}

func statusList(m map[int]bool) string {
	var s []string
	for _, n := range slices.Sorted(maps.Keys(m)) {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ", ")
}
