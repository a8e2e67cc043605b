package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestTranslatePattern(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		maxLen  int64
		hasMax  bool
		want    string // "" when an error is expected
		wantErr string
		match   map[string]bool
	}{
		{name: "kept as written, anchored", src: `s-[0-9a-zA-Z]{17}`, want: `^(?:s-[0-9a-zA-Z]{17})$`,
			match: map[string]bool{"s-0123456789abcdef0": true, "xs-0123456789abcdef0": false, "s-0123456789abcdef0x": false}},
		{name: "alternation stays whole", src: `(s-[0-9]{2}$|lct-[0-9]{2})`, want: `^(?:(s-[0-9]{2}$|lct-[0-9]{2}))$`,
			match: map[string]bool{"s-12": true, "lct-12": true, "lct-123": false}},
		{name: "repeat over RE2's limit bounded by the length", src: `arn:.{16,2044}`, maxLen: 2048, hasMax: true,
			want:  `^(?:arn:[^\n\r\x{2028}\x{2029}]{16,})$`,
			match: map[string]bool{"arn:" + strings.Repeat("a", 2044): true, "arn:" + strings.Repeat("a", 15): false, "arn:aaaaaaaa\naaaaaaaaaa": false}},
		{name: "repeat over the limit, length allows more", src: `arn:.{16,2044}`, maxLen: 4096, hasMax: true, wantErr: "allows 4092 repetitions"},
		{name: "repeat over the limit, no length limit", src: `a{1,5000}`, wantErr: "no length limit"},
		{name: "minimum over the limit", src: `a{1001}`, wantErr: "minimum 1001"},
		{name: "dot", src: `.*[0-9]{12,}.*`, want: `^(?:[^\n\r\x{2028}\x{2029}]*[0-9]{12,}[^\n\r\x{2028}\x{2029}]*)$`},
		{name: "escaped dot and class dot are literal", src: `a\.[.]b`, want: `^(?:a\.[.]b)$`,
			match: map[string]bool{"a..b": true, "axxb": false}},
		{name: "lookahead", src: `(?=a)a`, wantErr: "not valid RE2"},
		{name: "backreference", src: `(a)\1`, wantErr: "not valid RE2"},
		{name: "Unicode whitespace class", src: `a\sb`, wantErr: `\s and \S`},
		{name: "class starting with ]", src: `[]a]`, wantErr: "starting with ']'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := translatePattern(tc.src, tc.maxLen, tc.hasMax)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an error about %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			re := regexp.MustCompile(got)
			for v, want := range tc.match {
				if re.MatchString(v) != want {
					t.Errorf("%q: match %v, want %v", v, !want, want)
				}
			}
		})
	}
}

const tinyModel = `{
  "version": "2.0",
  "metadata": {"apiVersion": "2020-02-26", "uid": "drs-2020-02-26", "protocol": "rest-json"},
  "operations": {
    "Op": {"http": {"method": "POST", "requestUri": "/Op"}, "input": {"shape": "OpRequest"}}
  },
  "shapes": {
    "OpRequest": {"type": "structure", "required": ["zeta"], "members": {
      "zeta": {"shape": "Id"},
      "alpha": {"shape": "Ids", "location": "querystring", "locationName": "a"}
    }},
    "Ids": {"type": "list", "member": {"shape": "Id"}, "min": 1, "max": 3},
    "Id": {"type": "string", "min": 3, "max": 3, "pattern": "x-[0-9]"}
  }
}`

func TestGenerate(t *testing.T) {
	code, err := generate([]byte(tinyModel), "test model")
	if err != nil {
		t.Fatal(err)
	}
	s := string(code)
	for _, want := range []string{
		"Model:  test model",
		"uid drs-2020-02-26, apiVersion 2020-02-26, protocol rest-json, format version 2.0",
		"1 operations, 3 shapes, 2 members; constraints: 1 required members",
		`"Op": {method: "POST", uri: "/Op", input: "OpRequest"}`,
		// members in model order, wire names from locationName
		"{name: \"zeta\", required: true, target: \"Id\"},\n\t\t{name: \"a\", location: locQuery, target: \"Ids\"},",
		`"Ids": {kind: kindList, length: limits{min: 1, hasMin: true, max: 3, hasMax: true}, member: "Id"}`,
		"patId = &modelPattern{model: `x-[0-9]`, re: regexp.MustCompile(`^(?:x-[0-9])$`)}",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("generated code lacks %q:\n%s", want, s)
		}
	}

	for name, edit := range map[string][2]string{
		"unsupported type": {`"type": "string", "min": 3`, `"type": "timestamp", "min": 3`},
		"union":            {`"type": "list",`, `"type": "list", "union": true,`},
		"header location":  {`"location": "querystring"`, `"location": "header"`},
		"float limit":      {`"max": 3, "pattern"`, `"max": 3.5, "pattern"`},
		"unknown required": {`"required": ["zeta"]`, `"required": ["eta"]`},
		"bad pattern":      {`"pattern": "x-[0-9]"`, `"pattern": "(?<=x)-"`},
	} {
		if _, err := generate([]byte(strings.Replace(tinyModel, edit[0], edit[1], 1)), "test"); err == nil {
			t.Errorf("%s: generated without error", name)
		}
	}
}
