package drssim

// Request validation from the DRS service model.
//
// constraints_gen.go is generated from the model (see its header for which
// one) by internal/constraintgen: for every operation its input shape, and
// for every shape reachable from an input the constraints the model puts on
// it. validateRequest checks a request against that table after the body
// has been decoded strictly (decodeInput: unknown members, wrong types) and
// before the operation runs, so every modelled operation refuses what the
// model refuses, nested members and list items included. The operations
// keep only the checks the model cannot express (duplicates in a list,
// existence, quotas, the aws: tag prefix, ...).
//
// How the model's constraints are read:
//   - required: the member is absent or JSON null ("Member must not be
//     null"). An empty string, list or map is present.
//   - length: strings count characters (runes), lists and maps count items.
//   - pattern: matched against the whole value, not searched for in it. The
//     model's patterns are written that way (AccountID's `.*[0-9]{12,}.*`
//     only makes sense as a whole-value match), and the simulator's ID checks
//     always were. The generator translates the ECMAScript syntax to RE2 and
//     says in a comment wherever the two differ.
//   - enum: one of the listed values, case-sensitively.
//   - range: integers and longs; an integer must also fit in 32 bits.
//
// Violations are answered in DRS's error shape, ValidationException (400)
// with reason fieldValidationFailed, worded as AWS's request validation
// words them (DRS's own wording is not documented): "Value 's-1' at
// 'sourceServerID' failed to satisfy constraint: Member must have length
// greater than or equal to 19 (got 3)". Every
// violation is reported (up to maxReportedViolations), in model order, one
// fieldList entry per member: its path (filters.jobIDs,
// sourceServers[1].sourceServerID) and what is wrong with it. As in AWS's
// messages, the items of a list of strings, and the keys and values of a
// map, are reported at the list or map ("Member must satisfy constraint:
// [...]"). Values of sensitive shapes (tags, tag keys) are never echoed.
//
// Deliberate departures from the model are in applyModelOverrides.
//
// To regenerate the table (the model is not committed: the generator finds
// botocore's with python3, or takes DRS_MODEL=path/to/service-2.json):
//
//	go generate ./drssim

//go:generate go run ./internal/constraintgen -out constraints_gen.go

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

type shapeKind uint8

const (
	kindStructure shapeKind = iota + 1
	kindList
	kindMap
	kindString
	kindInteger
	kindLong
	kindBoolean
)

type memberLocation uint8

const (
	locBody  memberLocation = iota // a member of the JSON body
	locURI                         // a label of the request path
	locQuery                       // a query-string parameter
)

// modelOperation is an operation's HTTP binding and input shape.
type modelOperation struct {
	method, uri, input string
}

// modelShape is one shape of the model with its constraints. The names in
// members, member, key and value are resolved to pointers at init.
type modelShape struct {
	kind       shapeKind
	sensitive  bool
	length     limits // strings: characters; lists and maps: items
	valueRange limits // integers and longs
	pattern    *modelPattern
	enum       []string
	members    []modelMember
	member     string // list member shape
	key, value string // map key and value shapes

	memberShape, keyShape, valueShape *modelShape
}

// modelMember is a member of a structure: its wire name (the JSON key, path
// label or query parameter), where it travels and its shape.
type modelMember struct {
	name     string
	location memberLocation
	required bool
	target   string
	shape    *modelShape
}

// limits is an optional minimum and maximum.
type limits struct {
	min, max       int64
	hasMin, hasMax bool
}

// modelPattern is a model pattern: its text as the model writes it (quoted
// in messages) and the Go regular expression that matches a whole value
// against it.
type modelPattern struct {
	model string
	re    *regexp.Regexp
	note  string // a departure from the model, added to messages
}

func init() {
	for name, s := range modelShapes {
		resolve := func(target string) *modelShape {
			t := modelShapes[target]
			if t == nil {
				panic(fmt.Sprintf("drssim: model shape %s refers to unknown shape %s", name, target))
			}
			return t
		}
		for i := range s.members {
			s.members[i].shape = resolve(s.members[i].target)
		}
		switch s.kind {
		case kindList:
			s.memberShape = resolve(s.member)
		case kindMap:
			s.keyShape, s.valueShape = resolve(s.key), resolve(s.value)
		}
	}
	applyModelOverrides()
}

// isoDateTimeOffset is what the simulator accepts in place of the final Z
// of ISO8601DatetimeString, see applyModelOverrides.
const isoDateTimeOffset = `(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])`

// applyModelOverrides makes the simulator's deliberate departures from the
// model's constraints, each with its reason. TestModelOverridesStillApply
// fails when a new model makes one obsolete or wrong.
//
//   - ISO8601DatetimeString (DescribeJobs fromDate/toDate,
//     DescribeRecoverySnapshots fromDateTime/toDateTime): the model's pattern
//     ends in Z, but the service writes its own date-times with an offset,
//     2024-09-16T04:42:46.324841+00:00 (docs/drs.md §6), and the model's
//     maximum length, 32, is exactly the length of that form. A client must
//     be able to pass a creationDateTime it read back as a filter bound, so
//     an offset is accepted in place of the Z.
func applyModelOverrides() {
	if s := modelShapes["ISO8601DatetimeString"]; s != nil && s.pattern != nil && strings.HasSuffix(s.pattern.model, "Z") {
		s.pattern = &modelPattern{
			model: s.pattern.model,
			re:    regexp.MustCompile("^(?:" + strings.TrimSuffix(s.pattern.model, "Z") + isoDateTimeOffset + ")$"),
			note:  "or with an offset such as +00:00 in place of the Z",
		}
	}
}

// maxReportedViolations bounds the violations listed in one answer.
const maxReportedViolations = 50

// violation is one member that fails its constraints.
type violation struct {
	path  string
	value string // as quoted in the message; "" when not shown
	rules []string
}

// sentence says what is wrong, with the path when withPath.
func (v violation) sentence(withPath bool) string {
	var b strings.Builder
	b.WriteString("Value")
	if v.value != "" {
		b.WriteString(" " + v.value)
	}
	if withPath {
		b.WriteString(" at '" + v.path + "'")
	}
	b.WriteString(" failed to satisfy constraint: ")
	b.WriteString(strings.Join(v.rules, ", "))
	return b.String()
}

// validateRequest checks rq's input, its decoded body, path label and query
// parameters, against the model's constraints for its operation.
func validateRequest(rq *request, body []byte) *apiError {
	mo, ok := modelOperations[rq.op.name]
	if !ok || mo.input == "" {
		return nil
	}
	in := modelShapes[mo.input]
	var obj map[string]any
	if len(bytes.TrimSpace(body)) > 0 && slices.ContainsFunc(in.members, func(m modelMember) bool { return m.location == locBody }) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return errValidation(reasonCannotParse, "Request body is not valid JSON: "+jsonErrText(err))
		}
	}
	var c checker
	for _, m := range in.members {
		var x any
		switch m.location {
		case locBody:
			x = obj[m.name]
		case locURI:
			// The model's only path label is resourceArn (/tags/{resourceArn}),
			// which the router hands over as rq.arn.
			if rq.arn != "" {
				x = rq.arn
			}
		case locQuery:
			x = queryValue(rq.query[m.name], m.shape)
		}
		c.member(m, x, m.name, false)
	}
	return c.result()
}

// queryValue turns query parameters into the JSON form of shape s: a list
// of strings, or the first value (nil when absent).
func queryValue(vals []string, s *modelShape) any {
	if len(vals) == 0 {
		return nil
	}
	if s.kind == kindList {
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = v
		}
		return out
	}
	if s.kind == kindInteger || s.kind == kindLong {
		if _, err := strconv.ParseInt(vals[0], 10, 64); err == nil {
			return json.Number(vals[0])
		}
	}
	return vals[0]
}

// checker collects the violations of one request.
type checker struct {
	found []violation
	total int
}

func (c *checker) add(v violation) {
	c.total++
	if len(c.found) < maxReportedViolations {
		c.found = append(c.found, v)
	}
}

func (c *checker) result() *apiError {
	if c.total == 0 {
		return nil
	}
	fields := make([]validationField, len(c.found))
	sentences := make([]string, len(c.found))
	for i, v := range c.found {
		fields[i] = validationField{Name: v.path, Message: v.sentence(false)}
		sentences[i] = v.sentence(true)
	}
	plural := "s"
	if c.total == 1 {
		plural = ""
	}
	msg := fmt.Sprintf("%d validation error%s detected: %s", c.total, plural, strings.Join(sentences, "; "))
	if c.total > len(c.found) {
		msg += fmt.Sprintf("; and %d more", c.total-len(c.found))
	}
	return errValidation(reasonFieldValidation, msg, fields...)
}

// member checks one member's value x (nil: absent or null) at path.
func (c *checker) member(m modelMember, x any, path string, sensitive bool) {
	if x == nil {
		if m.required {
			c.add(violation{path: path, value: "null", rules: []string{"Member must not be null"}})
		}
		return
	}
	c.value(m.shape, x, path, sensitive)
}

// value checks x against shape s.
func (c *checker) value(s *modelShape, x any, path string, sensitive bool) {
	sensitive = sensitive || s.sensitive
	switch s.kind {
	case kindStructure:
		obj, ok := x.(map[string]any)
		if !ok {
			c.add(violation{path: path, rules: []string{"Member must be a structure"}})
			return
		}
		for _, m := range s.members {
			c.member(m, obj[m.name], path+"."+m.name, sensitive)
		}
	case kindList:
		items, ok := x.([]any)
		if !ok {
			c.add(violation{path: path, rules: []string{"Member must be a list"}})
			return
		}
		if r := lengthRules(s.length, len(items)); len(r) > 0 {
			// A list of structures is not quoted: it says little and much.
			c.add(violation{path: path, value: shown(x, sensitive || !isScalar(s.memberShape)), rules: r})
		}
		if isScalar(s.memberShape) {
			if r := c.scalarItems(s.memberShape, items); len(r) > 0 {
				c.add(violation{path: path, value: shown(x, sensitive),
					rules: []string{"Member must satisfy constraint: [" + strings.Join(r, ", ") + "]"}})
			}
			return
		}
		for i, it := range items {
			p := fmt.Sprintf("%s[%d]", path, i)
			if it == nil {
				c.add(violation{path: p, value: "null", rules: []string{"Member must not be null"}})
				continue
			}
			c.value(s.memberShape, it, p, sensitive)
		}
	case kindMap:
		m, ok := x.(map[string]any)
		if !ok {
			c.add(violation{path: path, rules: []string{"Member must be a map"}})
			return
		}
		if r := lengthRules(s.length, len(m)); len(r) > 0 {
			c.add(violation{path: path, value: shown(x, sensitive), rules: r})
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var rules []string
		keyItems := make([]any, len(keys))
		for i, k := range keys {
			keyItems[i] = k
		}
		if r := c.scalarItems(s.keyShape, keyItems); len(r) > 0 {
			rules = append(rules, "Map keys must satisfy constraint: ["+strings.Join(r, ", ")+"]")
		}
		if isScalar(s.valueShape) {
			vals := make([]any, len(keys))
			for i, k := range keys {
				vals[i] = m[k]
			}
			if r := c.scalarItems(s.valueShape, vals); len(r) > 0 {
				rules = append(rules, "Map value must satisfy constraint: ["+strings.Join(r, ", ")+"]")
			}
		}
		if len(rules) > 0 {
			c.add(violation{path: path, value: shown(x, sensitive), rules: rules})
		}
		if !isScalar(s.valueShape) {
			for _, k := range keys {
				p := fmt.Sprintf("%s[%q]", path, k)
				if m[k] == nil {
					c.add(violation{path: p, value: "null", rules: []string{"Member must not be null"}})
					continue
				}
				c.value(s.valueShape, m[k], p, sensitive)
			}
		}
	default:
		if r := scalarRules(s, x, true); len(r) > 0 {
			c.add(violation{path: path, value: shown(x, sensitive), rules: r})
		}
	}
}

// scalarItems returns the rules that any of items (values of scalar shape
// s) breaks, each once, in the order first broken.
func (c *checker) scalarItems(s *modelShape, items []any) []string {
	var out []string
	for _, it := range items {
		r := []string{"Member must not be null"}
		if it != nil {
			r = scalarRules(s, it, false)
		}
		for _, rule := range r {
			if !slices.Contains(out, rule) {
				out = append(out, rule)
			}
		}
	}
	return out
}

func isScalar(s *modelShape) bool {
	return s.kind != kindStructure && s.kind != kindList && s.kind != kindMap
}

// scalarRules returns the constraints x breaks; a length rule says the
// length x has when withLength (not for the items of a list, whose rules are
// merged).
func scalarRules(s *modelShape, x any, withLength bool) []string {
	var out []string
	switch s.kind {
	case kindString:
		str, ok := x.(string)
		if !ok {
			return []string{"Member must be a string"}
		}
		out = lengthRules(s.length, utf8.RuneCountInString(str))
		if !withLength {
			for i, r := range out {
				out[i], _, _ = strings.Cut(r, " (got ")
			}
		}
		if p := s.pattern; p != nil && !p.re.MatchString(str) {
			r := "Member must satisfy regular expression pattern: " + p.model
			if p.note != "" {
				r += " (" + p.note + ")"
			}
			out = append(out, r)
		}
		if len(s.enum) > 0 && !slices.Contains(s.enum, str) {
			out = append(out, "Member must satisfy enum value set: ["+strings.Join(s.enum, ", ")+"]")
		}
	case kindInteger, kindLong:
		num, ok := x.(json.Number)
		n, err := num.Int64()
		if !ok || err != nil {
			return []string{"Member must be an integer"}
		}
		if s.kind == kindInteger && (n < math.MinInt32 || n > math.MaxInt32) {
			out = append(out, fmt.Sprintf("Member must be an integer from %d to %d", math.MinInt32, math.MaxInt32))
		}
		if l := s.valueRange; l.hasMin && n < l.min {
			out = append(out, fmt.Sprintf("Member must have value greater than or equal to %d", l.min))
		}
		if l := s.valueRange; l.hasMax && n > l.max {
			out = append(out, fmt.Sprintf("Member must have value less than or equal to %d", l.max))
		}
	case kindBoolean:
		if _, ok := x.(bool); !ok {
			return []string{"Member must be a boolean"}
		}
	}
	return out
}

// lengthRules checks a length (characters or items) n; the rule says what
// n is, since a long value is not quoted in full and a sensitive one not at
// all.
func lengthRules(l limits, n int) []string {
	switch {
	case l.hasMin && int64(n) < l.min:
		return []string{fmt.Sprintf("Member must have length greater than or equal to %d (got %d)", l.min, n)}
	case l.hasMax && int64(n) > l.max:
		return []string{fmt.Sprintf("Member must have length less than or equal to %d (got %d)", l.max, n)}
	}
	return nil
}

// maxShownValue bounds the characters of a value quoted in a message.
const maxShownValue = 128

// shown renders x for a message, quoted, in the style of AWS's messages
// (lists as [a, b], maps as {k=v}); "" for sensitive values.
func shown(x any, sensitive bool) string {
	if sensitive {
		return ""
	}
	var b strings.Builder
	render(&b, x)
	s := b.String()
	if utf8.RuneCountInString(s) > maxShownValue {
		r := []rune(s)
		s = string(r[:maxShownValue]) + "..."
	}
	return "'" + s + "'"
}

func render(b *strings.Builder, x any) {
	if b.Len() > 4*maxShownValue {
		return
	}
	switch v := x.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(v)
	case json.Number:
		b.WriteString(v.String())
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case []any:
		b.WriteByte('[')
		for i, it := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			render(b, it)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + "=")
			render(b, v[k])
		}
		b.WriteByte('}')
	}
}
