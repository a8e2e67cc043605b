package plan_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// golden compares got with the golden file at path, or rewrites the file
// when -update is given.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./plan -update to create it, then review it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from %s (review, then go test ./plan -update)\n--- got:\n%s--- want:\n%s", path, got, want)
	}
}

// testFiles returns the files matching pattern, failing if there are fewer
// than min.
func testFiles(t *testing.T, pattern string, min int) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < min {
		t.Fatalf("%d files match %s, want at least %d", len(files), pattern, min)
	}
	return files
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDecodeInvalid decodes each malformed plan in testdata/invalid and
// compares every error it reports with the sibling .err file.
func TestDecodeInvalid(t *testing.T) {
	for _, file := range testFiles(t, "testdata/invalid/*.yaml", 24) {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			f, err := plan.Decode(name, readFile(t, file))
			if err == nil {
				t.Fatalf("Decode succeeded (%d plans), want errors", len(f.Plans))
			}
			if f != nil {
				t.Errorf("Decode returned a file along with errors")
			}
			var list plan.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Decode error is %T, want a non-empty plan.ErrorList", err)
			}
			for _, e := range list {
				if e.Pos.File != name || e.Pos.Line < 1 || e.Pos.Column < 1 {
					t.Errorf("error without a full position: %q", e)
				}
			}
			if code := ripcord.ErrorCode(err); code != ripcord.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", code, ripcord.EINVALID)
			}
			golden(t, strings.TrimSuffix(file, ".yaml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

// TestGoldenFilesHavePlans makes sure no .err file is left without its plan.
func TestGoldenFilesHavePlans(t *testing.T) {
	for _, file := range testFiles(t, "testdata/invalid/*.err", 24) {
		if _, err := os.Stat(strings.TrimSuffix(file, ".err") + ".yaml"); err != nil {
			t.Errorf("%s has no plan: %v", file, err)
		}
	}
}

// decoded is what TestDecodeValid records of a valid file.
type decoded struct {
	Hash  string              `json:"hash"`
	Order map[string][]string `json:"order"` // plan -> steps in topological order
	File  *ripcord.PlanFile   `json:"file"`
}

// TestDecodeValid decodes each plan in testdata/valid and compares the
// result (defaults applied, waves turned into steps), its hash and its step
// order with the sibling .json file.
func TestDecodeValid(t *testing.T) {
	for _, file := range testFiles(t, "testdata/valid/*.yaml", 3) {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			f, err := plan.Decode(name, readFile(t, file))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if err := plan.Validate(f); err != nil {
				t.Errorf("Validate of a decoded file: %v", err)
			}
			out := decoded{Hash: f.Hash(), Order: map[string][]string{}, File: f}
			for i := range f.Plans {
				g, err := plan.NewGraph(&f.Plans[i])
				if err != nil {
					t.Fatalf("NewGraph(%s): %v", f.Plans[i].Name, err)
				}
				out.Order[f.Plans[i].Name] = g.Order()
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(file, ".yaml")+".json", append(got, '\n'))
		})
	}
}

// TestDecodeDefaults checks the defaults the decoder fills in.
func TestDecodeDefaults(t *testing.T) {
	f, err := plan.Decode("min.yaml", []byte(`
targets: [{name: prod, account: "111122223333", region: us-east-1}]
plans:
  - name: p
    steps:
      - name: s
        servers: [s-3c1730a9e0771ea14]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Plans[0]
	want := ripcord.Settings{FailurePolicy: ripcord.FailureStop, ConflictDeadline: 15 * time.Minute}
	if !reflect.DeepEqual(p.Settings, want) {
		t.Errorf("settings = %+v, want %+v", p.Settings, want)
	}
	s := p.Steps[0]
	if s.Kind != ripcord.StepLaunch {
		t.Errorf("kind = %q, want launch", s.Kind)
	}
	if got := s.Servers[0]; got != (ripcord.ServerRef{ID: "s-3c1730a9e0771ea14", Target: "prod"}) {
		t.Errorf("server = %+v, want it in the only target", got)
	}
}

// TestDecodeEquivalentForms checks that a plan written with waves and the
// same plan written as steps with after: decode alike and hash alike, and
// that the order of targets, groups and plans does not change the hash.
func TestDecodeEquivalentForms(t *testing.T) {
	const head = `
targets:
  - {name: a, account: "111122223333", region: us-east-1}
  - {name: b, account: "111122223333", region: us-west-2}
protectionGroups:
  - {name: g1, target: a, selector: {Tier: database}}
  - {name: g2, target: b, selector: {Tier: app}}
`
	waves := head + `
plans:
  - name: p
    waves:
      - {name: one, groups: [g1]}
      - {name: two, groups: [g2]}
`
	steps := head + `
plans:
  - name: p
    steps:
      - {name: one, groups: [g1]}
      - {name: two, groups: [g2], after: [one]}
`
	reordered := `
protectionGroups:
  - {name: g2, target: b, selector: {Tier: app}}
  - {name: g1, target: a, selector: {Tier: database}}
plans:
  - name: p
    waves:
      - {name: one, groups: [g1]}
      - {name: two, groups: [g2]}
targets:
  - {name: b, account: "111122223333", region: us-west-2}
  - {name: a, account: "111122223333", region: us-east-1}
`
	var hashes []string
	for _, src := range []string{waves, steps, reordered} {
		f, err := plan.Decode("p.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, f.Hash())
	}
	if hashes[0] != hashes[1] || hashes[0] != hashes[2] {
		t.Errorf("hashes differ: %v", hashes)
	}

	changed := strings.Replace(waves, "Tier: app", "Tier: web", 1)
	f, err := plan.Decode("p.yaml", []byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	if f.Hash() == hashes[0] {
		t.Errorf("changing a selector did not change the hash")
	}
}

// TestExtract checks that a plan's extract holds what it uses and that its
// hash ignores the rest of the file.
func TestExtract(t *testing.T) {
	f, err := plan.Decode("optional-servers.yaml", readFile(t, "testdata/valid/optional-servers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	web, err := f.Extract("orders-web-only")
	if err != nil {
		t.Fatal(err)
	}
	if len(web.Plans) != 1 || len(web.ProtectionGroups) != 0 || len(web.Targets) != 1 {
		t.Errorf("extract = %d plans, %d groups, %d targets; want 1, 0, 1", len(web.Plans), len(web.ProtectionGroups), len(web.Targets))
	}
	if err := plan.Validate(web); err != nil {
		t.Errorf("extract is invalid: %v", err)
	}
	before := web.Hash()
	f.ProtectionGroups[0].Selector = map[string]string{"Tier": "database"} // a group orders-web-only does not use
	again, err := f.Extract("orders-web-only")
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash() != before {
		t.Errorf("a change outside the plan changed its hash")
	}
	if _, err := f.Extract("nope"); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Errorf("Extract(nope) = %v, want ENOTFOUND", err)
	}
}

// TestValidateInCode checks Validate on a file built in code: the same
// rules, no positions.
func TestValidateInCode(t *testing.T) {
	f := &ripcord.PlanFile{
		Targets: []ripcord.Target{{Name: "prod", Account: "111122223333", Region: "us-east-1"}},
		Plans: []ripcord.Plan{{
			Name:     "p",
			Settings: ripcord.Settings{FailurePolicy: ripcord.FailureStop, ConflictDeadline: time.Minute},
			Steps: []ripcord.Step{
				{Name: "a", Kind: ripcord.StepLaunch, After: []string{"b"}, Servers: []ripcord.ServerRef{{ID: "s-3c1730a9e0771ea14", Target: "prod"}}},
				{Name: "b", Kind: ripcord.StepWait, After: []string{"a"}, Duration: time.Minute},
			},
		}},
	}
	err := plan.Validate(f)
	want := `dependency cycle: a -> b -> a ("a -> b" means a is after b); a step cannot wait for itself: remove one of these after: entries or reorder the waves`
	if err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
	f.Plans[0].Steps[1].After = nil
	if err := plan.Validate(f); err != nil {
		t.Errorf("Validate after the fix = %v", err)
	}
}
