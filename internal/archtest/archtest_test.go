// Package archtest keeps docs/architecture.md true: the layers' import rules, the product kept
// apart from the lab, and the size limits of product code. It holds only this test, which needs
// the go command and no AWS.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/shardline/shardline"

// root is the module's directory, relative to this package's.
const root = "../.."

// pkg is what the rules read of one package of the module (go list -json).
type pkg struct {
	ImportPath     string
	Dir            string
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string
	Imports        []string // non-test imports: the layering rules bind these only
	TestImports    []string
	XTestImports   []string
	Error          *struct{ Err string }
}

// rel is p's import path inside the module ("processor", "internal/lab/chaos").
func (p pkg) rel() string { return strings.TrimPrefix(p.ImportPath, module+"/") }

var (
	listOnce sync.Once
	listed   []pkg
	listErr  error
)

// packages lists every package of the module once per test binary.
func packages(t *testing.T) []pkg {
	t.Helper()
	listOnce.Do(func() { listed, listErr = goList(root) })
	if listErr != nil {
		t.Fatal(listErr)
	}
	return listed
}

// goList lists the packages of the module in dir.
func goList(dir string) ([]pkg, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("no go command on PATH: %w", err)
	}
	cmd := exec.Command(gobin, "list", "-e",
		"-json=ImportPath,Dir,GoFiles,CgoFiles,IgnoredGoFiles,Imports,TestImports,XTestImports,Error", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list ./... in %s: %v\n%s", dir, err, stderr.Bytes())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list ./... in %s listed no packages", dir)
	}
	return pkgs, nil
}

// under reports whether path is prefix or inside it ("" is the whole module).
func under(path, prefix string) bool {
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

func underAny(path string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return under(path, p) })
}

// The layers of docs/architecture.md, top to bottom, as import path prefixes inside the module.
var (
	commands   = []string{"cmd/shardline", "cmd/forwarder-lambda", "internal/cli"}
	operations = []string{"internal/status", "internal/reshard", "internal/reprocess", "internal/reconcile",
		"internal/redrive", "internal/replay", "internal/ledgerreset"}
	services    = []string{"internal/forwarder", "internal/grayscale", "internal/setup"}
	public      = []string{"processor", "checkpoint"}
	foundations = []string{"internal/envelope", "internal/ledger", "internal/deadletter", "internal/expiry",
		"internal/notification", "internal/sequencer", "internal/bucket", "internal/shardmap",
		"internal/shardscan", "internal/awsclients", "internal/awsretry", "internal/telemetry",
		"internal/progress", "internal/jpegluma"}
	lab        = []string{"cmd/shardline-lab", "internal/lab"}
	notShipped = []string{"internal/archtest", "infra"}
)

// TestEveryPackageHasALayer: a new package is placed in one layer, here and in
// docs/architecture.md, before the rules can say what it may import.
func TestEveryPackageHasALayer(t *testing.T) {
	layers := map[string][]string{"commands": commands, "operations": operations, "services": services,
		"public library": public, "foundations": foundations, "lab": lab, "not shipped": notShipped}
	for _, p := range packages(t) {
		var in []string
		for name, prefixes := range layers {
			if underAny(p.rel(), prefixes) {
				in = append(in, name)
			}
		}
		slices.Sort(in)
		switch len(in) {
		case 0:
			t.Errorf("package %s is in no layer: add it to one in this test and in docs/architecture.md", p.rel())
		case 1:
		default:
			t.Errorf("package %s is in more than one layer: %s", p.rel(), strings.Join(in, ", "))
		}
	}
}

func join(lists ...[]string) []string { return slices.Concat(lists...) }

// rule forbids the packages under from (but not under except) to import anything under forbid.
type rule struct {
	name   string
	from   []string
	except []string
	forbid []string
	reason string
}

// rules is the "What may import what" table of docs/architecture.md.
var rules = []rule{
	{
		name: "product never imports the lab", from: []string{""}, except: lab, forbid: []string{"internal/lab"},
		reason: "what runs in production (forward, work, operations) never links the demo, chaos or benchmark harness",
	},
	{
		name: "only commands import the cli", from: []string{"processor", "checkpoint", "internal"},
		except: []string{"internal/cli", "internal/lab/labcli"}, forbid: []string{"internal/cli"},
		reason: "internal/cli is flags, env, exit codes and output: the top layer; logic lives below it so tests and other commands can drive it",
	},
	{
		name: "checkpoint stands alone", from: []string{"checkpoint"}, forbid: []string{""},
		reason: "checkpoint is the KCL Checkpointer (leases and checkpoints in DynamoDB); it knows shards and leases, not events, and another module can use it as it is",
	},
	{
		name: "processor knows handlers only through Handler", from: []string{"processor"},
		forbid: join(services, operations, []string{"internal/notification", "internal/jpegluma"}),
		reason: "the worker library orders, leases, ledgers and dead-letters events; what a handler does (grayscale) and how events are produced (forwarder, notification) sit above or beside it",
	},
	{
		name: "foundations import no upper layer", from: foundations,
		forbid: join(public, services, operations, commands),
		reason: "foundations are the bottom layer every other one builds on; an upward import would make the worker, a command or a cycle part of everything",
	},
	{
		name: "the producer speaks only the envelope", from: []string{"internal/forwarder"},
		forbid: []string{"processor", "checkpoint", "internal/ledger", "internal/deadletter", "internal/grayscale"},
		reason: "forwarder and worker share the envelope contract (docs/envelope.md) and nothing else, so either can be replaced by another program",
	},
	{
		name: "a handler converges one object", from: []string{"internal/grayscale"},
		forbid: []string{"checkpoint", "internal/ledger", "internal/deadletter", "internal/forwarder", "internal/notification"},
		reason: "ordering, leases, the ledger and dead letters are the processor's; the handler only makes one output match one input",
	},
	{
		name: "services import no operation", from: services, forbid: operations,
		reason: "the forwarder, the handler and setup run inside forward, work and setup; operations build on them, not the other way round",
	},
	{
		name: "operations stand alone", from: operations, forbid: join(operations, []string{"processor", "internal/setup"}),
		reason: "each operation acts on the stream, the tables and the buckets directly, never through a running worker or another operation; shared logic belongs one layer down",
	},
}

// TestImportRules checks every rule against every package's non-test imports.
func TestImportRules(t *testing.T) {
	pkgs := packages(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			checkRuleIsLive(t, r, pkgs)
			for _, p := range pkgs {
				if !underAny(p.rel(), r.from) || underAny(p.rel(), r.except) {
					continue
				}
				for _, imp := range p.Imports {
					in, ok := strings.CutPrefix(imp, module+"/")
					if !ok || in == p.rel() || !underAny(in, r.forbid) {
						continue
					}
					t.Errorf("%s imports %s (in %s): %s", p.rel(), in, importingFiles(t, p, imp), r.reason)
				}
			}
		})
	}
}

// TestExamplesImportOnlyPublicPackages: the examples module, tests included, uses only what
// another module can use: processor and checkpoint. (The go command would let it import
// internal/..., since its import path lies under this module's.)
func TestExamplesImportOnlyPublicPackages(t *testing.T) {
	pkgs, err := goList(filepath.Join(root, "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, imp := range join(p.Imports, p.TestImports, p.XTestImports) {
			in, ok := strings.CutPrefix(imp, module+"/")
			if ok && !under(in, "examples") && !underAny(in, public) {
				t.Errorf("%s imports %s: an example builds only on the public packages (processor, checkpoint)", p.ImportPath, imp)
			}
		}
	}
}

// checkRuleIsLive fails a rule whose packages or forbidden imports no longer exist (a rename
// would otherwise make it pass without checking anything).
func checkRuleIsLive(t *testing.T, r rule, pkgs []pkg) {
	t.Helper()
	prefixes := join(r.from, r.forbid, r.except)
	slices.Sort(prefixes)
	for _, prefix := range slices.Compact(prefixes) {
		if !slices.ContainsFunc(pkgs, func(p pkg) bool { return under(p.rel(), prefix) }) {
			t.Errorf("rule %q names %s, which holds no package: update the rule and docs/architecture.md", r.name, prefix)
		}
	}
}

// importingFiles names the non-test files of p that import path.
func importingFiles(t *testing.T, p pkg, path string) string {
	t.Helper()
	var names []string
	for _, name := range p.nonTestFiles() {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range f.Imports {
			if strings.Trim(s.Path.Value, `"`) == path {
				names = append(names, filepath.ToSlash(filepath.Join(p.rel(), name)))
			}
		}
	}
	return strings.Join(names, ", ")
}

// nonTestFiles is every Go file of p but its tests, whatever its build constraints.
func (p pkg) nonTestFiles() []string {
	var names []string
	for _, name := range join(p.GoFiles, p.CgoFiles, p.IgnoredGoFiles) {
		if !strings.HasSuffix(name, "_test.go") {
			names = append(names, name)
		}
	}
	return names
}

const (
	maxFileLines = 400
	maxFuncLines = 80
)

// TestProductCodeSize keeps product code (not tests, not the lab) in files of at most 400 lines
// and functions of at most 80, counted from the func keyword to the closing brace.
func TestProductCodeSize(t *testing.T) {
	for _, p := range packages(t) {
		if underAny(p.rel(), lab) {
			continue
		}
		for _, name := range p.nonTestFiles() {
			path := filepath.Join(p.Dir, name)
			shown := filepath.ToSlash(filepath.Join(p.rel(), name))
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := lineCount(src); n > maxFileLines {
				t.Errorf("%s is %d lines (at most %d): split it by concern", shown, n, maxFileLines)
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
				if n := end.Line - start.Line + 1; n > maxFuncLines {
					t.Errorf("%s:%d: %s is %d lines (at most %d)", shown, start.Line, funcName(fn), n, maxFuncLines)
				}
			}
		}
	}
}

// lineCount counts lines as wc -l does, plus an unterminated last line.
func lineCount(src []byte) int {
	n := bytes.Count(src, []byte("\n"))
	if len(src) > 0 && src[len(src)-1] != '\n' {
		n++
	}
	return n
}

// funcName is fn's name as a reader looks for it: F, T.M or (*T).M.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	star := false
	if s, ok := typ.(*ast.StarExpr); ok {
		typ, star = s.X, true
	}
	switch x := typ.(type) {
	case *ast.IndexExpr:
		typ = x.X
	case *ast.IndexListExpr:
		typ = x.X
	}
	recv := fmt.Sprint(typ)
	if star {
		return "(*" + recv + ")." + fn.Name.Name
	}
	return recv + "." + fn.Name.Name
}

// symbolsIn matches "`A`, `B` and `C` in `dir/file.go`" in the doc: symbols and the file that
// declares them.
var symbolsIn = regexp.MustCompile("((?:`[A-Za-z_][A-Za-z0-9_.]*`(?:, | and ))*`[A-Za-z_][A-Za-z0-9_.]*`) in `([a-z][a-z0-9_/.-]*\\.go)`")

// TestArchitectureDocSymbolsExist: each symbol the doc names with a file ("`ledger.Decide` in
// `internal/ledger/ledger.go`") is declared in that file (a func, method, type, const, var or
// struct field), so a rename or a move fails here instead of misleading a newcomer.
func TestArchitectureDocSymbolsExist(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	matches := symbolsIn.FindAllSubmatch(doc, -1)
	if len(matches) == 0 {
		t.Fatal("docs/architecture.md names no symbol in a file: has the where-to-find table moved?")
	}
	for _, m := range matches {
		file := string(m[2])
		declared, err := declaredIn(filepath.Join(root, filepath.FromSlash(file)))
		if err != nil {
			t.Errorf("docs/architecture.md names %s: %v", file, err)
			continue
		}
		for _, sym := range regexp.MustCompile("`([^`]+)`").FindAllSubmatch(m[1], -1) {
			name := string(sym[1])
			if i := strings.LastIndexByte(name, '.'); i >= 0 {
				name = name[i+1:] // ledger.Decide, Config.ReadInterval
			}
			if !declared[name] {
				t.Errorf("docs/architecture.md says %s is in %s, which does not declare %s", sym[1], file, name)
			}
		}
	}
}

// declaredIn is the set of names path declares at top level, its methods and its struct fields.
func declaredIn(path string) (map[string]bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			names[n.Name.Name] = true
			return false
		case *ast.TypeSpec:
			names[n.Name.Name] = true
		case *ast.ValueSpec:
			for _, id := range n.Names {
				names[id.Name] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				names[id.Name] = true
			}
		}
		return true
	})
	return names, nil
}

// TestArchitectureDocPlacesEveryPackage keeps docs/architecture.md complete and its references
// alive: every product package is named in it (the lab's as internal/lab/**), and every file or
// directory it names in backquotes exists.
func TestArchitectureDocPlacesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packages(t) {
		if underAny(p.rel(), lab) {
			continue
		}
		if !regexp.MustCompile("`" + regexp.QuoteMeta(p.rel()) + "[/`]").Match(doc) {
			t.Errorf("docs/architecture.md does not place package %s in a layer", p.rel())
		}
	}
	for _, m := range regexp.MustCompile("`((?:cmd|docs|internal|processor|checkpoint|examples|infra)/[^` *]*|processor|checkpoint)`").FindAllSubmatch(doc, -1) {
		name := strings.TrimSuffix(string(m[1]), "/")
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Errorf("docs/architecture.md names %s, which does not exist", name)
		}
	}
}
