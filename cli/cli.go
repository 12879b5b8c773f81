// Package cli is ninja's command line: a cobra tree that runs in-process
// (Run), so tests drive every command without a binary. `ninja serve`
// runs the server; the other commands manage a running (or stopped) one
// through the admin socket, a remote server's HTTP API, or the data
// directory opened directly, all over the same HTTP API (client.go).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// exitError carries an exit code for errors already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Run runs the command line args (without the program name) and returns
// the process exit code: 0 on success, 2 for a usage error (an unknown
// command or flag), 1 for anything else.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "ninja:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageError is a command line that does not name a command or flag.
type usageError struct{ error }

// globalFlags are shared by every command.
type globalFlags struct {
	dataDir string
	server  string
	apiKey  string
	account string
	json    bool
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "ninja",
		Short:         "A self-hosted IPFS pinning service with secure client-side upload tokens",
		Version:       Version().Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Environment variables apply to every command's unset flags; a
		// value that does not parse is an error, as the flag would be.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applyEnv(cmd) },
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data", "./ninja-data", "data directory (NINJA_DATA); client commands use it to find the server's admin socket, or its database when none runs")
	pf.StringVar(&g.server, "server", "", "URL of a remote ninja server for client commands (NINJA_SERVER)")
	pf.StringVar(&g.apiKey, "api-key", "", "API key for --server (NINJA_API_KEY)")
	pf.StringVar(&g.account, "account", "", "account (id or name) a client command acts on; default: the first account (NINJA_ACCOUNT)")
	pf.BoolVar(&g.json, "json", false, "print JSON")
	bindEnv(pf, "data", "NINJA_DATA")
	bindEnv(pf, "server", "NINJA_SERVER")
	bindEnv(pf, "api-key", "NINJA_API_KEY")
	bindEnv(pf, "account", "NINJA_ACCOUNT")
	root.AddCommand(newServeCmd(g), newAccountCmd(g), newKeyCmd(g), newTokenCmd(g), newSigningKeyCmd(g), newNameCmd(g),
		newUploadCmd(g), newGCCmd(g), newExportCmd(g), newVersionCmd(g), newReadyCmd(g), newConfigCmd(g), newBackupCmd(g), newRestoreCmd(g))
	forbidUnknownSubcommands(root)
	return root
}

// forbidUnknownSubcommands makes every command group (a command with
// subcommands and no action of its own) fail on an unknown subcommand
// instead of printing help and exiting 0, as cobra does by default.
func forbidUnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		forbidUnknownSubcommands(c)
	}
	if !cmd.HasSubCommands() || cmd.Run != nil || cmd.RunE != nil {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			cmd.Help()
			return usageError{fmt.Errorf("%s needs a subcommand", cmd.CommandPath())}
		}
		names := make([]string, 0, len(cmd.Commands()))
		for _, c := range cmd.Commands() {
			if !c.Hidden && c.Name() != "help" {
				names = append(names, c.Name())
			}
		}
		msg := fmt.Sprintf("unknown command %q for %q (try: %s)", args[0], cmd.CommandPath(), strings.Join(names, ", "))
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		return usageError{errors.New(msg)}
	}
}
