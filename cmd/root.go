// Package cmd is mailport's command tree: Cobra commands that parse flags,
// call into pkg/ and print. Execute runs it and maps errors to exit codes.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/auth"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/cmd/configcmd"
	"github.com/mailport/mailport/cmd/demo"
	"github.com/mailport/mailport/cmd/diagnose"
	"github.com/mailport/mailport/cmd/discover"
	"github.com/mailport/mailport/cmd/explain"
	"github.com/mailport/mailport/cmd/fetch"
	"github.com/mailport/mailport/cmd/folders"
	"github.com/mailport/mailport/cmd/send"
	"github.com/mailport/mailport/cmd/tokencmd"
	"github.com/mailport/mailport/cmd/tokenconfig"
	"github.com/mailport/mailport/pkg/resolver"
)

// NewCmdRoot builds the command tree on a factory.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	build := cmdutil.CurrentBuild()
	root := &cobra.Command{
		Use:   "mailport <command>",
		Short: "Set up mail accounts and run one-shot mail operations",
		Long: `mailport connects to mailboxes at Microsoft 365, Google and any IMAP, POP3 or SMTP server,
with OAuth2 or passwords. Set up a token config and an account, authenticate, then test,
fetch or send. Configuration is YAML; secrets live in the OS keyring (or a file for CI,
encrypted when MAILPORT_SECRETS_PASSPHRASE or MAILPORT_SECRETS_PASSPHRASE_FILE is set).

Exit codes: 0 success, 1 the operation or a check failed, 2 usage or configuration error,
3 authentication required, 130 interrupted.`,
		Example: `  mailport token-config add ms365 --provider microsoft --tenant contoso.com --client-id <guid> --client-secret-stdin
  mailport account add support --preset office365 --type inbound --login support@contoso.com --token-config ms365
  mailport authenticate support
  mailport test support
  mailport fetch support --to ./in`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       build.Version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f.IO.SetNeverPrompt(f.NoInput)
			// Every lookup and dial reads MAILPORT_RESOLVER; an invalid
			// value is a configuration error before anything runs, except
			// for the commands that never look anything up.
			if offline(cmd) {
				return nil
			}
			if _, err := resolver.FromEnv(); err != nil {
				return &cmdutil.ConfigError{Err: fmt.Errorf("%w; unset it to use the system's resolver", err)}
			}
			return nil
		},
	}
	// --version prints the same line as `mailport version`.
	root.SetVersionTemplate(build.String() + "\n")
	pf := root.PersistentFlags()
	pf.StringVar(&f.ConfigFlag, "config", "", "config `FILE` (default $MAILPORT_CONFIG, else <user config dir>/mailport/config.yaml); a named file must exist, except for account add and token-config add")
	cmdutil.EnumVar(root, pf, &f.SecretsFlag, "secrets", "", "secret store: keyring or file (default $MAILPORT_SECRETS, else the config's secrets field, else keyring); recorded in the config by commands that save it", cmdutil.EnumSecrets)
	pf.BoolVar(&f.JSON, "json", false, "print results as JSON")
	pf.BoolVar(&f.NoInput, "no-input", false, "never prompt; fail listing what is missing instead")
	pf.BoolVarP(&f.Verbose, "verbose", "v", false, "show the protocol transcript (secrets redacted) on stderr, unless --trace names a file")
	pf.StringVar(&f.TraceFile, "trace", "", "write a protocol transcript to `FILE` (secrets redacted)")

	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return cmdutil.FlagParseError(cmd, err, plainFlagError)
	})
	root.AddCommand(
		tokenconfig.NewCmdTokenConfig(f),
		account.NewCmdAccount(f),
		auth.NewCmdAuthenticate(f, nil),
		auth.NewCmdStatus(f, nil),
		auth.NewCmdLogout(f, nil),
		tokencmd.NewCmdToken(f, nil),
		diagnose.NewCmdTest(f, nil),
		discover.NewCmdDiscover(f, nil),
		explain.NewCmdExplain(f, nil),
		fetch.NewCmdFetch(f, nil),
		folders.NewCmdFolders(f, nil),
		send.NewCmdSend(f, nil),
		demo.NewCmdDemo(f, Run, nil),
		configcmd.NewCmdConfig(f),
		newCmdVersion(f),
		newCmdCompletion(f),
	)
	addCompletions(root, f)
	// An unknown subcommand of a group is a usage error, not silent help.
	for _, c := range root.Commands() {
		if c.HasSubCommands() && c.RunE == nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return cmd.Help()
				}
				return cmdutil.UnknownCommandError(cmd, args[0])
			}
			c.Args = cobra.ArbitraryArgs
		}
	}
	return root
}

func newCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Example: `  # bash, for the current shell
  source <(mailport completion bash)
  # zsh, installed
  mailport completion zsh > "${fpath[1]}/_mailport"`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      cmdutil.ExactArgs(1, "a shell: bash, zsh, fish or powershell"),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(f.IO.Out, true)
			case "zsh":
				return root.GenZshCompletion(f.IO.Out)
			case "fish":
				return root.GenFishCompletion(f.IO.Out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(f.IO.Out)
			}
			return cmdutil.FlagErrorf("unknown shell %q: use bash, zsh, fish or powershell", args[0])
		},
	}
}

// Execute runs mailport with the process's arguments and returns the exit code.
func Execute() int {
	return Run(cmdutil.NewFactory(), os.Args[1:])
}

// Run runs the command tree on f with args, printing any error as one
// clear message on f.IO.ErrOut, and returns the exit code.
func Run(f *cmdutil.Factory, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	f.Close()
	var flagErr *cmdutil.FlagError
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") && !errors.As(err, &flagErr) {
		// Cobra's own words for the root ("...\n\nDid you mean this?\n\tfetch")
		// become the one sentence the groups give.
		if m := unknownCommandRE.FindStringSubmatch(err.Error()); m != nil {
			err = cmdutil.UnknownCommandError(root, m[1])
		} else {
			err = &cmdutil.FlagError{Err: fmt.Errorf("%w; see `mailport --help`", err)}
		}
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %v", cmdutil.ErrCancel, err)
	}
	code := cmdutil.ExitCode(err)
	if err != nil && !errors.Is(err, cmdutil.ErrSilent) {
		printError(f, err)
	}
	return code
}

func printError(f *cmdutil.Factory, err error) {
	msg := err.Error()
	if errors.Is(err, cmdutil.ErrCancel) {
		msg = "interrupted"
	}
	// Cobra's own messages ("unknown command", "unknown flag") start in lower case; keep them.
	msg = strings.TrimSpace(msg)
	var cfgErr *cmdutil.ConfigError
	if errors.As(err, &cfgErr) && strings.Contains(msg, "\n") {
		fmt.Fprintln(f.IO.ErrOut, "error: the configuration has problems:")
		for _, line := range strings.Split(msg, "\n") {
			fmt.Fprintln(f.IO.ErrOut, "  "+line)
		}
		return
	}
	fmt.Fprintln(f.IO.ErrOut, "error: "+msg)
}

// unknownCommandRE matches cobra's error for an unknown top-level command.
var unknownCommandRE = regexp.MustCompile(`^unknown command "(.*)" for "[^"]*"`)

// badValueRE matches pflag's words for a value its type refuses, e.g.
// `invalid argument "abc" for "--port" flag: strconv.ParseInt: parsing
// "abc": invalid syntax`.
var badValueRE = regexp.MustCompile(`^invalid argument "(.*)" for "(-\w, )?(--[\w-]+)" flag: (.*)$`)

// plainFlagError says what pflag's parse errors mean without Go's
// strconv/time internals.
func plainFlagError(err error) string {
	m := badValueRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	value, flag, why := m[1], m[3], m[4]
	switch {
	case strings.Contains(why, " is not one of "):
		// An enum flag's own sentence, e.g. `"x" is not one of ssl, starttls or none`.
		return fmt.Sprintf("%s: %s", flag, why)
	case strings.Contains(why, "strconv.ParseInt"), strings.Contains(why, "strconv.ParseUint"):
		if strings.Contains(why, "value out of range") {
			return fmt.Sprintf("%s: %q is too large", flag, value)
		}
		return fmt.Sprintf("%s: %q is not a whole number", flag, value)
	case strings.Contains(why, "strconv.ParseBool"):
		return fmt.Sprintf("%s: %q is not true or false", flag, value)
	case strings.Contains(why, "time: "):
		return fmt.Sprintf("%s: %q is not a duration like 30s, 5m or 1h", flag, value)
	}
	return fmt.Sprintf("%s: %q: %s", flag, value, why)
}

// offline reports whether cmd is one that never looks up or dials a host
// (version, help, completion, explain), so a bad MAILPORT_RESOLVER cannot
// stop it.
func offline(cmd *cobra.Command) bool {
	for c := cmd; c != nil && c.HasParent(); c = c.Parent() {
		if c.Parent().HasParent() {
			continue
		}
		switch c.Name() {
		case "version", "help", "completion", "explain", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return true
		}
	}
	return false
}
