package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runRipcord runs the ripcord command with args and stdin, as a user would,
// and returns its standard output, standard error and error.
func runRipcord(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// writePlan writes a plan file named name in a fresh directory, makes that
// the working directory, and returns name.
func writePlan(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return name
}

const twoPlans = `targets: [{name: prod, account: "111122223333", region: us-east-1}]
plans:
  - name: orders
    waves:
      - {name: database, servers: [s-3c1730a9e0771ea14]}
      - {name: app, servers: [s-3afa164776f93ce4f]}
  - name: web
    steps:
      - {name: web, servers: [s-3578f52ef3bdd58b4]}
`

func TestValidateCmd(t *testing.T) {
	example, err := filepath.Abs("../../examples/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string // written as plans.yaml when set
		args    []string
		stdin   string
		wantOut string
		wantErr string // the error returned, for main to print; "" for none
		stderr  string // what the command itself printed on stderr
	}{
		{
			name:    "the example",
			args:    []string{"validate", "-f", example},
			wantOut: example + ": OK: 1 plan (orders), 3 steps\n",
		},
		{
			name:    "two plans",
			file:    twoPlans,
			args:    []string{"validate", "--file", "plans.yaml"},
			wantOut: "plans.yaml: OK: 2 plans (orders, web), 3 steps\n",
		},
		{
			name:    "standard input",
			args:    []string{"validate", "-f", "-"},
			stdin:   twoPlans,
			wantOut: "stdin: OK: 2 plans (orders, web), 3 steps\n",
		},
		{
			name: "invalid",
			file: strings.Replace(strings.Replace(twoPlans, "waves:", "wavez:", 1), "name: web\n", "name: orders\n", 1),
			args: []string{"validate", "-f", "plans.yaml"},
			stderr: `plans.yaml:4:5: unknown key "wavez" in plan "orders"; did you mean "waves"?
plans.yaml:7:11: duplicate plan name "orders"; the first is at line 3; names must be unique: rename one
`,
			wantErr: "plans.yaml is not valid: 2 errors",
		},
		{
			name:    "invalid from standard input",
			args:    []string{"validate", "-f", "-"},
			stdin:   "plans: []\n",
			stderr:  "stdin:1:1: the file declares no plans; add a plans: list; see docs/plans.md\n",
			wantErr: "stdin is not valid: 1 error",
		},
		{
			name:    "no file",
			args:    []string{"validate"},
			wantErr: "missing -f: name the plan file to check",
		},
		{
			name:    "missing file",
			args:    []string{"validate", "-f", "no-such-file.yaml"},
			wantErr: "cannot read the plan file: open no-such-file.yaml: no such file or directory",
		},
		{
			name:    "an argument",
			args:    []string{"validate", "-f", "x.yaml", "extra"},
			wantErr: `unknown command "extra"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file != "" {
				writePlan(t, "plans.yaml", tt.file)
			} else {
				t.Chdir(t.TempDir())
			}
			out, errOut, err := runRipcord(t, tt.stdin, tt.args...)
			if out != tt.wantOut {
				t.Errorf("stdout = %q, want %q", out, tt.wantOut)
			}
			if errOut != tt.stderr {
				t.Errorf("stderr =\n%s\nwant\n%s", errOut, tt.stderr)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error = %v, want none", err)
			case tt.wantErr == "":
				return
			case err == nil:
				t.Fatalf("no error, want %q", tt.wantErr)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if got := exitCode(err); got != 2 {
				t.Errorf("exitCode = %d, want 2", got)
			}
		})
	}
}

// TestValidateCmdTooLarge checks that a huge file is refused before it is
// parsed.
func TestValidateCmdTooLarge(t *testing.T) {
	big := "# " + strings.Repeat("x", maxPlanFileSize) + "\n"
	_, _, err := runRipcord(t, big, "validate", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") || exitCode(err) != 2 {
		t.Fatalf("error = %v, want a refusal with exit status 2", err)
	}
}
