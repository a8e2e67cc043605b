// Command ripcord orchestrates AWS Elastic Disaster Recovery (DRS) drills and
// recoveries, and runs a DRS simulator for demos, tests and other tools.
//
// This package only wires things together: it parses flags into configs,
// validates them, and hands plain values to the library packages. There is one
// file per subcommand.
//
// Exit status, the same for every command (exitCode is the one table):
//
//	0    success; for run, exec resume, exec watch and cleanup: the execution succeeded
//	1    any other error (the store or DRS failed, a bug)
//	2    invalid input, or a refusal before anything was done: a bad flag or
//	     argument, a plan file that is missing, a directory or not valid, an
//	     unknown plan, execution or step (codes EINVALID and ENOTFOUND), a
//	     control command the execution's state does not allow, an execution
//	     another process drives; with --server, a token the server refuses
//	     (unauthenticated, forbidden) or a plan file it does not accept
//	3    the execution failed
//	4    the execution was cancelled
//	5    the execution is paused (its reason and remedy are printed)
//	6    not ready: ripcord check found a blocking finding
//	130  stopped by a signal (Ctrl-C, SIGTERM); an execution is left resumable
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// version is the ripcord version. Release builds set it with
// -ldflags "-X main.version=v1.2.3"; otherwise it comes from the build info.
var version = ""

func main() {
	// The first SIGINT or SIGTERM cancels ctx so commands shut down softly;
	// after that the default handling is restored, so a second one kills the
	// process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, func() {
		stop()
		// os.Stderr is safe to write from this goroutine too.
		fmt.Fprintln(os.Stderr, "\nripcord: stopping softly: a DRS call in flight finishes and is recorded (press Ctrl-C again to stop at once)")
	})

	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		printError(os.Stderr, err)
		os.Exit(exitCode(err))
	}
}

// newRootCmd returns the `ripcord` command with every subcommand attached.
// Output goes to cmd.OutOrStdout (results, banners) and cmd.ErrOrStderr
// (logs), so a test can capture both with SetOut and SetErr.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ripcord",
		Short: "Orchestrate AWS Elastic Disaster Recovery drills and recoveries",
		Long: `ripcord recovers multi-tier applications protected by AWS Elastic Disaster
Recovery (DRS): it launches servers in dependency order, never trips over
DRS's one-job-per-server rule, and launches each server exactly once.

It ships a faithful DRS simulator (ripcord sim) that the AWS CLI and SDKs can
talk to, so everything can be tried without an AWS account.`,
		Version:       buildVersion(),
		SilenceUsage:  true, // a failed run is not a usage problem; usage errors say so themselves
		SilenceErrors: true, // main prints errors, with their hint
	}
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newBenchCmd(),
		newCheckCmd(),
		newCleanupCmd(),
		newDemoCmd(),
		newExecCmd(),
		newIAMPolicyCmd(),
		newMigrateCmd(),
		newOverridesCmd(),
		newPlanCmd(),
		newReportCmd(),
		newReprotectCmd(),
		newRunCmd(),
		newServersCmd(),
		newSchemaCmd(),
		newServeCmd(),
		newSimCmd(),
		newStoreCmd(),
		newTokenCmd(),
		newValidateCmd(),
	)
	return root
}

// flagError turns a flag parsing error into an EINVALID error that points to
// the command's help.
func flagError(cmd *cobra.Command, err error) error {
	return &ripcord.Error{
		Code:    ripcord.EINVALID,
		Message: err.Error(),
		Hint:    fmt.Sprintf("run '%s --help' for usage", cmd.CommandPath()),
	}
}

// usageArgs wraps a cobra argument validator so that its errors are EINVALID
// and point to the command's help, like flag errors.
func usageArgs(validate cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := validate(cmd, args); err != nil {
			return flagError(cmd, err)
		}
		return nil
	}
}

// printError writes err and, if it carries one, its hint.
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "ripcord: %v\n", err)
	if hint := ripcord.ErrorHint(err); hint != "" {
		fmt.Fprintf(w, "hint: %s\n", hint)
	}
}

// exitInvalid is the exit status of invalid input and of refusals before
// anything was done.
const exitInvalid = 2

// exitCode returns the process exit status for an error returned by a
// command: the table in the package documentation and in README.md.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	switch ripcord.ErrorCode(err) {
	case ripcord.EINVALID, ripcord.ENOTFOUND,
		// A server's refusals (--server): nothing was done.
		client.EUNAUTHENTICATED, client.EFORBIDDEN, client.EINVALIDPLAN, client.ETOOLARGE:
		return exitInvalid
	}
	if errors.Is(err, context.Canceled) {
		// The command's context ends only on SIGINT or SIGTERM (main).
		return exitInterrupted
	}
	return 1
}

// buildVersion returns version if set, else the main module version recorded
// by the Go toolchain, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// errInvalid returns an EINVALID error for a flag value.
func errInvalid(format string, args ...any) error {
	return ripcord.Errorf(ripcord.EINVALID, format, args...)
}

// Log formats accepted by --log-format.
const (
	logFormatAuto = "auto" // text on a terminal, JSON otherwise
	logFormatText = "text"
	logFormatJSON = "json"
)

// validLogFormat reports whether format is one of the --log-format values.
func validLogFormat(format string) bool {
	switch format {
	case logFormatAuto, logFormatText, logFormatJSON:
		return true
	}
	return false
}

// newLogger returns a structured logger writing to w in the given format
// (one of the logFormat constants). "auto" means text if w is a terminal and
// JSON otherwise, so people read text and log collectors get JSON.
func newLogger(w io.Writer, format string) *slog.Logger {
	if format == logFormatAuto {
		format = logFormatJSON
		if isTerminal(w) {
			format = logFormatText
		}
	}
	if format == logFormatText {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
