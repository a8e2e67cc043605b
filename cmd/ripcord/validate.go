package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// maxPlanFileSize bounds what is read from a plan file. A plan of 3000
// servers listed one by one is about 100 KiB.
const maxPlanFileSize = 8 << 20

// stdinName is how errors name a plan file read from standard input.
const stdinName = "stdin"

// validateConfig is the configuration of `ripcord validate`.
type validateConfig struct {
	File string // path of the plan file; "-" reads standard input
}

// Validate checks the flags.
func (c validateConfig) Validate() error {
	if c.File == "" {
		return errInvalid("missing -f: name the plan file to check, e.g. ripcord validate -f plans.yaml (- reads standard input)")
	}
	return nil
}

// newValidateCmd returns the `ripcord validate` command.
func newValidateCmd() *cobra.Command {
	var cfg validateConfig
	cmd := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Check a plan file and report every problem with its position",
		Long: `validate reads a plan file (targets, protection groups and recovery plans;
see docs/plans.md) and checks it without calling AWS: keys, values, names,
references between steps, groups and targets, dependency cycles, and servers
launched twice. It prints a summary when the file is valid. Otherwise it
prints every problem on standard error, one per line as FILE:LINE:COLUMN:
what is wrong; how to fix it, and exits with status 2.`,
		Example: "  ripcord validate -f examples/three-tier.yaml",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			return runValidate(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg)
		},
	}
	cmd.Flags().StringVarP(&cfg.File, "file", "f", "", "the plan file to check (- for standard input)")
	return cmd
}

// runValidate checks the plan file and reports on out, or on errOut with an
// EINVALID error when the file is not valid.
func runValidate(stdin io.Reader, out, errOut io.Writer, cfg validateConfig) error {
	f, name, err := loadPlanFile(stdin, cfg.File)
	var list plan.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(errOut, e)
		}
		return &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("%s is not valid: %s", name, count(len(list), "error")),
			Hint:    "fix each problem above, then run ripcord validate again"}
	} else if err != nil {
		return err
	}
	names := make([]string, len(f.Plans))
	steps := 0
	for i, p := range f.Plans {
		names[i] = p.Name
		steps += len(p.Steps)
	}
	_, err = fmt.Fprintf(out, "%s: OK: %s (%s), %s\n", name, count(len(f.Plans), "plan"), strings.Join(names, ", "), count(steps, "step"))
	return err
}

// loadPlanFile reads and decodes the plan file at path ("-": standard
// input) and returns it with the name its errors use. A file that does not
// decode gives a plan.ErrorList.
func loadPlanFile(stdin io.Reader, path string) (*ripcord.PlanFile, string, error) {
	data, name, err := readPlanFile(stdin, path)
	if err != nil {
		return nil, name, err
	}
	f, err := plan.Decode(name, data)
	return f, name, err
}

// readPlanFile reads the plan file at path ("-": stdin) as it is, and
// returns it with the name its problems are reported under.
func readPlanFile(stdin io.Reader, path string) ([]byte, string, error) {
	name := path
	r := stdin
	if path == "-" {
		name = stdinName
	} else {
		file, err := os.Open(path)
		if err != nil {
			return nil, name, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("cannot read the plan file: %v", err),
				Hint: "check the path given to -f"}
		}
		defer file.Close()
		if fi, err := file.Stat(); err == nil && fi.IsDir() {
			return nil, name, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s is a directory; give a plan file", name),
				Hint: "name a YAML plan file with -f, e.g. -f " + filepath.Join(name, "plans.yaml")}
		}
		r = file
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPlanFileSize+1))
	if err != nil {
		return nil, name, fmt.Errorf("read plan file %s: %w", name, err)
	}
	if len(data) > maxPlanFileSize {
		return nil, name, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("plan file %s is larger than %d MiB", name, maxPlanFileSize>>20),
			Hint: "a plan file holds targets, groups and plans; select servers with tags rather than listing thousands of IDs"}
	}
	return data, name, nil
}

// count writes n and noun, in the plural unless n is 1: "1 plan", "3 steps".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// loadOnePlan reads the plan file at path (- : stdin) and picks the plan
// named planName, or its only plan when planName is empty; verb says what
// the command does with it, for the error when the file holds several. It
// returns the file, the plan's extract and the plan's name.
func loadOnePlan(stdin io.Reader, path, planName, verb string) (*ripcord.PlanFile, *ripcord.PlanFile, string, error) {
	file, name, err := loadPlanFile(stdin, path)
	if err != nil {
		return nil, nil, "", engine.PlanError(err)
	}
	if planName == "" {
		if len(file.Plans) != 1 {
			var names []string
			for _, p := range file.Plans {
				names = append(names, p.Name)
			}
			return nil, nil, "", errInvalid("%s holds %d plans (%s): name the one to %s", name, len(file.Plans), strings.Join(names, ", "), verb)
		}
		planName = file.Plans[0].Name
	}
	one, err := file.Extract(planName)
	if err != nil {
		return nil, nil, "", err
	}
	return file, one, planName, nil
}

// planConnFlags are the flags of a command that reads one plan of a plan
// file and asks DRS about it (check, overrides): -f FILE, the plan's name
// and the connection flags.
type planConnFlags struct {
	connFlags
	File string
	Plan string
}

// validate checks the flags of the command named cmd.
func (c planConnFlags) validate(cmd string) error {
	if err := c.connFlags.Validate(); err != nil {
		return err
	}
	if c.File == "" {
		return errInvalid("missing -f: name the plan file, e.g. ripcord %s -f plans.yaml orders", cmd)
	}
	return nil
}

// planCommand completes cmd, a command of one plan of a plan file (check,
// overrides): its optional PLAN argument, cfg's flags, and a RunE that
// validates them and then calls run.
func planCommand(cmd *cobra.Command, cfg *planConnFlags, run func(ctx context.Context, stdin io.Reader, out io.Writer) error) *cobra.Command {
	name := strings.Fields(cmd.Use)[0]
	cmd.Args = usageArgs(cobra.MaximumNArgs(1))
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 1 {
			cfg.Plan = args[0]
		}
		if err := cfg.validate(name); err != nil {
			return err
		}
		return run(c.Context(), c.InOrStdin(), c.OutOrStdout())
	}
	cfg.register(cmd)
	return cmd
}

// register adds the connection flags and -f to cmd.
func (c *planConnFlags) register(cmd *cobra.Command) {
	c.connFlags.register(cmd)
	cmd.Flags().StringVarP(&c.File, "file", "f", "", "plan file (- reads standard input)")
}
