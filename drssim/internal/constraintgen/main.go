// Command constraintgen writes drssim/constraints_gen.go: the request
// constraints of the DRS service model (required members, string lengths,
// patterns, enums, number ranges, list and map sizes) for the input shape of
// every operation, as a table the simulator validates requests with.
//
// It reads botocore's DRS model (service-2.json, plain or gzipped). Without
// -model it uses $DRS_MODEL, or else asks python3 where botocore is
// installed and reads botocore/data/drs/2020-02-26/service-2.json.gz. The
// model is not committed; the generated file records which one it came
// from (source, botocore version, metadata, SHA-256).
//
//	cd drssim && go generate          # runs: go run ./internal/constraintgen -out constraints_gen.go
//	go run ./drssim/internal/constraintgen -model /path/to/service-2.json -out drssim/constraints_gen.go
//
// Patterns are ECMAScript regular expressions (Smithy's dialect) and the
// simulator uses Go's RE2, so each is translated and checked here, not at
// run time; the generator fails on any construct it cannot translate
// faithfully (see translatePattern).
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

func main() {
	modelPath := flag.String("model", os.Getenv("DRS_MODEL"), "botocore DRS model (service-2.json or .json.gz); default: botocore's, found with python3")
	out := flag.String("out", "constraints_gen.go", "output file")
	source := flag.String("source", "", "how to describe the model's origin in the header (default: derived from the path)")
	flag.Parse()
	if err := run(*modelPath, *out, *source); err != nil {
		fmt.Fprintln(os.Stderr, "constraintgen:", err)
		os.Exit(1)
	}
}

func run(modelPath, out, source string) error {
	if modelPath == "" {
		var err error
		if modelPath, source, err = findBotocoreModel(); err != nil {
			return err
		}
	}
	raw, err := readModel(modelPath)
	if err != nil {
		return err
	}
	if source == "" {
		source = describePath(modelPath)
	}
	code, err := generate(raw, source)
	if err != nil {
		return err
	}
	return os.WriteFile(out, code, 0o644)
}

// findBotocoreModel locates the DRS model of the botocore Python package.
func findBotocoreModel() (path, source string, err error) {
	cmd := exec.Command("python3", "-c", "import botocore, os; print(botocore.__version__); print(os.path.dirname(botocore.__file__))")
	b, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("no -model given and botocore not found with python3 (%v); pass -model or set DRS_MODEL", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return "", "", fmt.Errorf("unexpected answer from python3: %q", b)
	}
	rel := "data/drs/2020-02-26/service-2.json"
	for _, name := range []string{rel + ".gz", rel} {
		p := filepath.Join(lines[1], name)
		if _, err := os.Stat(p); err == nil {
			return p, "botocore " + lines[0] + ", botocore/" + name, nil
		}
	}
	return "", "", fmt.Errorf("botocore %s at %s has no %s", lines[0], lines[1], rel)
}

// describePath names a model file without the machine-specific part of its
// path: from "botocore/" on when it is inside a botocore tree.
func describePath(p string) string {
	p = filepath.ToSlash(p)
	if i := strings.LastIndex(p, "botocore/data/"); i >= 0 {
		return p[i:]
	}
	return filepath.Base(p)
}

func readModel(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return b, nil
}

// ---------------------------------------------------------------------------
// The botocore model format (only what the table needs).

type model struct {
	Version    string            `json:"version"`
	Metadata   map[string]any    `json:"metadata"`
	Operations map[string]op     `json:"operations"`
	Shapes     map[string]*shape `json:"shapes"`
}

type op struct {
	HTTP struct {
		Method     string `json:"method"`
		RequestURI string `json:"requestUri"`
	} `json:"http"`
	Input *ref `json:"input"`
}

type ref struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
}

type shape struct {
	Type      string       `json:"type"`
	Members   members      `json:"members"`
	Required  []string     `json:"required"`
	Member    *ref         `json:"member"`
	Key       *ref         `json:"key"`
	Value     *ref         `json:"value"`
	Min       *json.Number `json:"min"`
	Max       *json.Number `json:"max"`
	Pattern   *string      `json:"pattern"`
	Enum      []string     `json:"enum"`
	Sensitive bool         `json:"sensitive"`
	Union     bool         `json:"union"`
}

type namedRef struct {
	name string
	ref
}

// members keeps a structure's members in model order (a Go map would not),
// so the table and the order of reported violations follow the model.
type members []namedRef

func (m *members) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("members: want an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var r ref
		if err := dec.Decode(&r); err != nil {
			return err
		}
		*m = append(*m, namedRef{name: t.(string), ref: r})
	}
	return nil
}

// ---------------------------------------------------------------------------
// Generation

// supported are the shape types the validator understands; the generator
// refuses a model whose request shapes use any other, rather than emit a
// table that silently skips them.
var supported = map[string]string{
	"structure": "kindStructure", "list": "kindList", "map": "kindMap", "string": "kindString",
	"integer": "kindInteger", "long": "kindLong", "boolean": "kindBoolean",
}

func generate(raw []byte, source string) ([]byte, error) {
	var m model
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if len(m.Operations) == 0 || len(m.Shapes) == 0 {
		return nil, errors.New("model has no operations or shapes: not a botocore service model")
	}
	sum := sha256.Sum256(raw)

	// Every shape reachable from an operation's input.
	reach := map[string]bool{}
	var walk func(name string) error
	walk = func(name string) error {
		if reach[name] {
			return nil
		}
		s := m.Shapes[name]
		if s == nil {
			return fmt.Errorf("shape %s is referenced but not defined", name)
		}
		reach[name] = true
		if _, ok := supported[s.Type]; !ok {
			return fmt.Errorf("shape %s: type %q is not supported by the validator", name, s.Type)
		}
		if s.Union {
			return fmt.Errorf("shape %s: unions are not supported by the validator", name)
		}
		var refs []string
		switch s.Type {
		case "structure":
			for _, mb := range s.Members {
				refs = append(refs, mb.Shape)
			}
		case "list":
			refs = append(refs, s.Member.Shape)
		case "map":
			refs = append(refs, s.Key.Shape, s.Value.Shape)
		}
		for _, r := range refs {
			if err := walk(r); err != nil {
				return err
			}
		}
		return nil
	}
	opNames := sortedKeys(m.Operations)
	for _, name := range opNames {
		if in := m.Operations[name].Input; in != nil {
			if err := walk(in.Shape); err != nil {
				return nil, fmt.Errorf("operation %s: %w", name, err)
			}
		}
	}
	shapeNames := sortedKeys(reach)

	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var nMembers, nRequired, nLength, nPattern, nEnum, nRange int
	for _, name := range shapeNames {
		s := m.Shapes[name]
		nMembers += len(s.Members)
		nRequired += len(s.Required)
		if effectiveMin(s.Min) || s.Max != nil {
			switch s.Type {
			case "string", "list", "map":
				nLength++
			case "integer", "long":
				nRange++
			}
		}
		if s.Pattern != nil {
			nPattern++
		}
		if len(s.Enum) > 0 {
			nEnum++
		}
	}

	p("// Code generated by drssim/internal/constraintgen; DO NOT EDIT.\n\n")
	p("// The request constraints of the DRS service model: for the input shape of\n")
	p("// every operation, each member's wire name, location and required flag, and\n")
	p("// each shape's length, pattern, enum, range and size limits.\n//\n")
	p("// Model:  %s\n", source)
	p("//         uid %s, apiVersion %s, protocol %s, format version %s\n",
		meta(m, "uid"), meta(m, "apiVersion"), meta(m, "protocol"), m.Version)
	p("//         SHA-256 %s (uncompressed)\n", hex.EncodeToString(sum[:]))
	p("// Table:  %d operations, %d shapes, %d members; constraints: %d required members,\n",
		len(opNames), len(shapeNames), nMembers, nRequired)
	p("//         %d length/size limits, %d patterns, %d enums, %d value ranges\n", nLength, nPattern, nEnum, nRange)
	p("//\n// Regenerate with `go generate ./drssim` (see constraints.go).\n\n")
	p("package drssim\n\nimport \"regexp\"\n\n")
	p("// modelSource names the model this table was generated from.\n")
	p("const modelSource = %q\n\n", fmt.Sprintf("%s (%s, SHA-256 %s)", source, meta(m, "uid"), hex.EncodeToString(sum[:8])))
	p("// modelSHA256 is the SHA-256 of the uncompressed model file.\n")
	p("const modelSHA256 = %q\n\n", hex.EncodeToString(sum[:]))

	p("// modelOperations maps every operation of the model to its HTTP binding\n// and input shape.\n")
	p("var modelOperations = map[string]modelOperation{\n")
	for _, name := range opNames {
		o := m.Operations[name]
		in := ""
		if o.Input != nil {
			in = o.Input.Shape
		}
		p("\t%q: {method: %q, uri: %q, input: %q},\n", name, o.HTTP.Method, o.HTTP.RequestURI, in)
	}
	p("}\n\n")

	var patterns bytes.Buffer
	p("// modelShapes holds every shape reachable from an operation's input.\n")
	p("// Lengths count characters (runes); list and map limits count items.\n")
	p("var modelShapes = map[string]*modelShape{\n")
	for _, name := range shapeNames {
		s := m.Shapes[name]
		var f []string
		f = append(f, "kind: "+supported[s.Type])
		if s.Sensitive {
			f = append(f, "sensitive: true")
		}
		if l, err := limits(s); err != nil {
			return nil, fmt.Errorf("shape %s: %w", name, err)
		} else if l != "" {
			if s.Type == "integer" || s.Type == "long" {
				f = append(f, "valueRange: "+l)
			} else {
				f = append(f, "length: "+l)
			}
		}
		if s.Pattern != nil {
			maxLen, hasMax := int64(0), s.Max != nil
			if hasMax {
				maxLen, _ = s.Max.Int64()
			}
			expr, notes, err := translatePattern(*s.Pattern, maxLen, hasMax)
			if err != nil {
				return nil, fmt.Errorf("shape %s: pattern %q: %w", name, *s.Pattern, err)
			}
			v := "pat" + name
			for _, n := range notes {
				fmt.Fprintf(&patterns, "\t// %s: %s\n", name, n)
			}
			fmt.Fprintf(&patterns, "\t%s = &modelPattern{model: %s, re: regexp.MustCompile(%s)}\n", v, goString(*s.Pattern), goString(expr))
			f = append(f, "pattern: "+v)
		}
		if len(s.Enum) > 0 {
			q := make([]string, len(s.Enum))
			for i, e := range s.Enum {
				q[i] = strconv.Quote(e)
			}
			f = append(f, "enum: []string{"+strings.Join(q, ", ")+"}")
		}
		switch s.Type {
		case "list":
			f = append(f, fmt.Sprintf("member: %q", s.Member.Shape))
		case "map":
			f = append(f, fmt.Sprintf("key: %q", s.Key.Shape), fmt.Sprintf("value: %q", s.Value.Shape))
		}
		if s.Type != "structure" {
			p("\t%q: {%s},\n", name, strings.Join(f, ", "))
			continue
		}
		for _, r := range s.Required {
			if !slices.ContainsFunc(s.Members, func(mb namedRef) bool { return mb.name == r }) {
				return nil, fmt.Errorf("shape %s: required member %s does not exist", name, r)
			}
		}
		p("\t%q: {%s, members: []modelMember{\n", name, strings.Join(f, ", "))
		for _, mb := range s.Members {
			wire := mb.name
			if mb.LocationName != "" {
				wire = mb.LocationName
			}
			var mf []string
			mf = append(mf, fmt.Sprintf("name: %q", wire))
			switch mb.Location {
			case "":
			case "uri":
				mf = append(mf, "location: locURI")
			case "querystring":
				mf = append(mf, "location: locQuery")
			default:
				return nil, fmt.Errorf("shape %s member %s: location %q is not supported by the validator", name, mb.name, mb.Location)
			}
			if slices.Contains(s.Required, mb.name) {
				mf = append(mf, "required: true")
			}
			mf = append(mf, fmt.Sprintf("target: %q", mb.Shape))
			p("\t\t{%s},\n", strings.Join(mf, ", "))
		}
		p("\t}},\n")
	}
	p("}\n\n")
	p("// Patterns, compiled once. A model pattern must match the whole value;\n")
	p("// see modelPattern.\n")
	p("var (\n%s)\n", patterns.String())

	code, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the generated code: %w\n%s", err, b.Bytes())
	}
	return code, nil
}

func meta(m model, k string) string {
	if v, ok := m.Metadata[k].(string); ok {
		return v
	}
	return "?"
}

// effectiveMin reports whether a min limit constrains anything (a minimum
// of 0 items or characters does not).
func effectiveMin(n *json.Number) bool {
	if n == nil {
		return false
	}
	v, err := n.Int64()
	return err != nil || v != 0
}

// limits renders a shape's min and max as a limits literal ("" if none).
func limits(s *shape) (string, error) {
	var f []string
	for _, x := range []struct {
		name string
		n    *json.Number
	}{{"min", s.Min}, {"max", s.Max}} {
		if x.n == nil {
			continue
		}
		v, err := x.n.Int64()
		if err != nil {
			return "", fmt.Errorf("%s %s is not an integer; the validator handles integer limits only", x.name, *x.n)
		}
		f = append(f, fmt.Sprintf("%s: %d, has%s: true", x.name, v, strings.ToUpper(x.name[:1])+x.name[1:]))
	}
	if len(f) == 0 {
		return "", nil
	}
	return "limits{" + strings.Join(f, ", ") + "}", nil
}

// goString quotes s as a raw string literal when it can, for readable
// patterns.
func goString(s string) string {
	if !strings.Contains(s, "`") && strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ---------------------------------------------------------------------------
// Patterns

// re2MaxRepeat is the largest repetition count RE2 (Go's regexp) accepts.
const re2MaxRepeat = 1000

// translatePattern turns a model pattern (ECMAScript syntax, as Smithy
// specifies) into a Go regular expression that matches the whole value.
// maxLen is the shape's length limit in runes, if hasMax.
//
// Differences handled:
//   - Repetition counts over 1000 do not compile in RE2. {m,n} with n > 1000
//     becomes {m,}, but only when the length limit already implies at most
//     n repetitions; otherwise generation fails.
//   - '.' outside a class excludes only '\n' in RE2, but every ECMAScript
//     line terminator (\n, \r, U+2028, U+2029); it is translated to a class
//     excluding those four.
//   - \s and \S are Unicode-aware in ECMAScript and ASCII-only in RE2; no
//     DRS pattern uses them, so they are refused rather than translated.
//   - Lookaround and backreferences do not exist in RE2: Go's parser
//     refuses them and so does the generator.
//
// The result is anchored (^(?:...)$) because a model pattern constrains the
// whole value, see modelPattern in constraints.go. Patterns needing no
// translation keep the model's text inside the anchors.
func translatePattern(src string, maxLen int64, hasMax bool) (string, []string, error) {
	var notes []string
	rewritten, big, err := capRepeats(src)
	if err != nil {
		return "", nil, err
	}
	if esc := escapes(src); strings.ContainsAny(esc, "sS") {
		return "", nil, errors.New(`\s and \S differ between ECMAScript (Unicode) and RE2 (ASCII); extend the generator`)
	}
	re, err := syntax.Parse(rewritten, syntax.Perl)
	if err != nil {
		return "", nil, fmt.Errorf("not valid RE2 syntax: %w", err)
	}
	// The capped repeats are the nodes with Max == re2MaxRepeat, in order.
	var capped []*syntax.Regexp
	visit(re, func(n *syntax.Regexp) {
		if n.Op == syntax.OpRepeat && n.Max == re2MaxRepeat {
			capped = append(capped, n)
		}
	})
	if len(capped) != len(big) {
		return "", nil, fmt.Errorf("found %d capped repeats after parsing, want %d", len(capped), len(big))
	}
	for i, n := range capped {
		orig := big[i]
		if !hasMax {
			return "", nil, fmt.Errorf("repeat {%d,%d} exceeds RE2's limit of %d and the shape has no length limit to imply it", orig.min, orig.max, re2MaxRepeat)
		}
		unit := minLen(n.Sub[0])
		if unit < 1 {
			return "", nil, fmt.Errorf("repeat {%d,%d} of a possibly empty expression cannot be bounded by length", orig.min, orig.max)
		}
		rest := minLen(re) - n.Min*unit
		if most := (int(maxLen) - rest) / unit; most > orig.max {
			return "", nil, fmt.Errorf("repeat {%d,%d} exceeds RE2's limit of %d and the length limit %d allows %d repetitions", orig.min, orig.max, re2MaxRepeat, maxLen, most)
		}
		n.Max = -1
		notes = append(notes, fmt.Sprintf("RE2 repeats at most %d times, so {%d,%d} is matched as {%d,}: the length limit of %d characters already allows at most %d repetitions",
			re2MaxRepeat, orig.min, orig.max, orig.min, maxLen, (int(maxLen)-rest)/unit))
	}
	dots := 0
	visit(re, func(n *syntax.Regexp) {
		if n.Op == syntax.OpAnyCharNotNL {
			n.Op = syntax.OpCharClass
			n.Rune = []rune{0, '\n' - 1, '\n' + 1, '\r' - 1, '\r' + 1, 0x2027, 0x202a, 0x10ffff}
			dots++
		}
	})
	if dots > 0 {
		notes = append(notes, `'.' is any character but an ECMAScript line terminator (\n, \r, U+2028, U+2029)`)
	}
	expr := src
	if len(notes) > 0 {
		expr = re.String()
	}
	expr = "^(?:" + expr + ")$"
	if _, err := regexp.Compile(expr); err != nil {
		return "", nil, fmt.Errorf("translated to %q, which does not compile: %w", expr, err)
	}
	return expr, notes, nil
}

type repeat struct{ min, max int }

// capRepeats rewrites {m,n} and {n} counts above RE2's limit to {m,1000}
// (a marker the caller finds again after parsing) and returns them.
func capRepeats(src string) (string, []repeat, error) {
	var out strings.Builder
	var big []repeat
	inClass := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			out.WriteByte(c)
			i++
			out.WriteByte(src[i])
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if strings.HasPrefix(src[i+1:], "]") || strings.HasPrefix(src[i+1:], "^]") {
				return "", nil, errors.New("a class starting with ']' is parsed differently by ECMAScript and RE2")
			}
		case c == '{':
			if m := repeatRe.FindStringSubmatch(src[i:]); m != nil {
				lo, _ := strconv.Atoi(m[1])
				hi := lo
				if m[2] != "" {
					hi = -1
					if m[3] != "" {
						hi, _ = strconv.Atoi(m[3])
					}
				}
				if lo > re2MaxRepeat {
					return "", nil, fmt.Errorf("repeat minimum %d exceeds RE2's limit of %d", lo, re2MaxRepeat)
				}
				if hi > re2MaxRepeat {
					if lo == re2MaxRepeat {
						return "", nil, fmt.Errorf("repeat {%d,%d} cannot be marked", lo, hi)
					}
					big = append(big, repeat{lo, hi})
					fmt.Fprintf(&out, "{%d,%d}", lo, re2MaxRepeat)
					i += len(m[0]) - 1
					continue
				}
			}
		}
		out.WriteByte(c)
	}
	return out.String(), big, nil
}

var repeatRe = regexp.MustCompile(`^\{([0-9]+)(,([0-9]*))?\}`)

// escapes returns the characters escaped with a backslash in src.
func escapes(src string) string {
	var out strings.Builder
	for i := 0; i+1 < len(src); i++ {
		if src[i] == '\\' {
			i++
			out.WriteByte(src[i])
		}
	}
	return out.String()
}

func visit(re *syntax.Regexp, fn func(*syntax.Regexp)) {
	fn(re)
	for _, s := range re.Sub {
		visit(s, fn)
	}
}

// minLen is the fewest characters re can match.
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minLen(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if l := minLen(s); n < 0 || l < n {
				n = l
			}
		}
		return max(n, 0)
	}
	return 0 // empty matches, anchors, star, quest
}
