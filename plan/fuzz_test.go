package plan_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/ripcord-dr/ripcord/plan"
)

// FuzzDecodePlan feeds the decoder arbitrary files, seeded with every plan
// in testdata and the examples. It must never panic; every error must name a
// position; a file it accepts must pass Validate, build a graph and hash.
func FuzzDecodePlan(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.yaml", "testdata/invalid/*.yaml", "../examples/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			f.Add(readFile(f, file))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := plan.Decode("fuzz.yaml", data)
		if err != nil {
			var list plan.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is %T, want a non-empty plan.ErrorList: %v", err, err)
			}
			for _, e := range list {
				if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 || e.Pos.Column < 1 || e.Message == "" {
					t.Fatalf("error without a position or message: %q", e)
				}
			}
			return
		}
		if err := plan.Validate(file); err != nil {
			t.Fatalf("Decode accepted a file that Validate rejects: %v", err)
		}
		for i := range file.Plans {
			if _, err := plan.NewGraph(&file.Plans[i]); err != nil {
				t.Fatalf("Decode accepted a plan whose graph fails: %v", err)
			}
		}
		if len(file.Hash()) != 64 {
			t.Fatalf("hash %q", file.Hash())
		}
	})
}
