// Package demo holds `mailport demo`: the whole flow on loopback servers,
// running the real commands and printing each command line before its
// output, so a newcomer learns the commands.
package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/demo"
	"github.com/mailport/mailport/pkg/iostreams"
)

// Runner runs mailport with args on a factory and returns the exit code (cmd.Run).
type Runner func(f *cmdutil.Factory, args []string) int

// Options are the inputs of `mailport demo`.
type Options struct {
	F    *cmdutil.Factory
	Run  Runner
	Dir  string
	Keep bool

	// has reports whether this build has a top-level command (a step
	// whose command is missing is skipped).
	has func(name string) bool
}

// NewCmdDemo is `mailport demo`.
func NewCmdDemo(f *cmdutil.Factory, run Runner, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f, Run: run}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try mailport without a mail account: the whole flow on local servers",
		Long: `Start, on 127.0.0.1 and inside this process, a fake Microsoft sign-in service, an IMAP
server, an SMTP server and a fake Microsoft Graph; write a throwaway config and secrets file in
a temporary directory; then run the real commands — token-config add, account add, authenticate
(approved automatically), status, test, send, fetch — printing each command line before its
output. The fetched mail lands in --dir (./mailport-demo by default); run again, the demo
first clears the mail an earlier demo fetched there, as that came from servers that are gone,
and it leaves a directory holding anything else alone. Nothing leaves this machine.`,
		Example: `  mailport demo
  go run github.com/mailport/mailport@latest demo
  mailport demo --dir /tmp/demo-mail`,
		Args: cmdutil.ExactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names := map[string]bool{}
			for _, c := range cmd.Root().Commands() {
				names[c.Name()] = true
			}
			opts.has = func(name string) bool { return names[name] }
			if runF != nil {
				return runF(opts)
			}
			return runDemo(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "mailport-demo", "where the fetched mail goes")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the throwaway config directory and say where it is")
	return cmd
}

type step struct {
	args  []string
	stdin string
	note  string // printed before the command, as a comment
	after func() error
}

func runDemo(opts *Options) error {
	f := opts.F
	out := f.IO.Out
	target, err := filepath.Abs(opts.Dir)
	if err != nil {
		return err
	}
	reset, err := demo.ResetDir(target)
	var notDemo *demo.NotDemoDirError
	if errors.As(err, &notDemo) {
		return cmdutil.FlagErrorf("the demo cannot fetch into %s: it holds %s; pass --dir with a new or empty directory", notDemo.Dir, notDemo.What)
	}
	if err != nil {
		return err
	}
	env, err := demo.Start()
	if err != nil {
		return err
	}
	defer env.Close()
	work, err := os.MkdirTemp("", "mailport-demo-config-")
	if err != nil {
		return fmt.Errorf("create the demo's config directory: %w", err)
	}
	if !opts.Keep {
		defer os.RemoveAll(work)
	}
	imapEP := env.IMAP.Endpoint()
	smtpPort := strconv.Itoa(env.SMTP.Port())
	outlookScopes := "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access"
	baseURL := env.OAuth.MicrosoftBaseURL(demo.Tenant)

	errOut := &onceWarning{w: f.IO.ErrOut, prefix: "warning: secrets are kept in plain text"}
	steps := []step{
		{note: "An OAuth2 client for IMAP and SMTP (its secret goes in on stdin, never on the command line)",
			args:  []string{"token-config", "add", "demo-outlook", "--provider", "microsoft", "--base-url", baseURL, "--client-id", demo.ClientID, "--scopes", outlookScopes, "--client-secret-stdin"},
			stdin: demo.ClientSecret},
		{note: "An inbound IMAP account and an outbound SMTP account using it",
			args: []string{"account", "add", demo.InboundAccount, "--type", "inbound", "--protocol", "imap", "--host", imapEP.Host, "--port", strconv.Itoa(imapEP.Port), "--encryption", "ssl",
				"--login", demo.User, "--token-config", "demo-outlook", "--property", "tls_ca_file=" + env.IMAP.CAFile()}},
		{args: []string{"account", "add", "demo-out", "--type", "outbound", "--protocol", "smtp", "--host", "127.0.0.1", "--port", smtpPort, "--encryption", "starttls",
			"--login", demo.User, "--token-config", "demo-outlook", "--property", "tls_ca_file=" + env.SMTPCAFile()}},
		{note: "Sign in (the demo's browser approves at once)", args: []string{"authenticate", demo.InboundAccount}},
		{args: []string{"authenticate", "demo-out"}},
		{note: "Microsoft Graph (account protocol \"microsoft\") needs its own token config: a token serves one resource",
			args:  []string{"token-config", "add", "demo-graph", "--provider", "microsoft", "--base-url", baseURL, "--client-id", demo.ClientID, "--for", "graph", "--client-secret-stdin"},
			stdin: demo.ClientSecret},
		{args: []string{"account", "add", demo.GraphAccount, "--type", "inbound", "--protocol", "microsoft", "--login", demo.User, "--token-config", "demo-graph",
			"--folder", "Inbox", "--property", "graph_url=" + env.Graph.URL}},
		{args: []string{"authenticate", demo.GraphAccount}},
		{note: "Where every account stands", args: []string{"status"}},
		{note: "The diagnosis support staff run when a mailbox fails", args: []string{"test", demo.InboundAccount}},
		{args: []string{"test", "demo-out"}},
		{note: "Send one message", args: []string{"send", "demo-out", "--to", demo.User, "--subject", "Hello from mailport demo", "--body", "Sent with mailport send, fetched with mailport fetch."},
			after: func() error { _, err := env.Deliver(); return err }},
		{note: "Fetch the inbox into a directory, one .eml file per message", args: []string{"fetch", demo.InboundAccount, "--to", target}},
		{note: "Run it again: nothing is fetched twice", args: []string{"fetch", demo.InboundAccount, "--to", target}},
		{note: "The same through Microsoft Graph", args: []string{"fetch", demo.GraphAccount, "--to", filepath.Join(target, demo.GraphDir)}},
	}

	fmt.Fprintf(out, "mailport demo: servers on 127.0.0.1, a throwaway config in %s\n", work)
	if reset {
		// Said so that nobody wonders where the earlier run's mail went.
		fmt.Fprintf(out, "The mail an earlier demo fetched into %s came from servers that are gone; it was cleared, so this run starts afresh.\n", target)
	}
	for _, s := range steps {
		if !opts.has(s.args[0]) {
			continue // a command this build does not have
		}
		if s.note != "" {
			fmt.Fprintf(out, "\n# %s\n", s.note)
		}
		fmt.Fprintf(out, "$ %s\n", commandLine(s))
		code := opts.Run(stepFactory(f, errOut, env, s.stdin), append([]string{"--config", filepath.Join(work, "config.yaml"), "--secrets", "file"}, s.args...))
		if code != 0 {
			return fmt.Errorf("the demo stopped: `mailport %s` exited %d", strings.Join(s.args[:2], " "), code)
		}
		if s.after != nil {
			if err := s.after(); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(out, "\nDone. The fetched mail is in %s\n", target)
	if opts.Keep {
		fmt.Fprintf(out, "The demo's config and secrets are in %s\n", work)
	}
	fmt.Fprintln(out, "Next: set up a real account, see `mailport token-config add --help` and `mailport account add --help`.")
	return nil
}

// commandLine renders a step as the user would type it.
func commandLine(s step) string {
	var b strings.Builder
	if s.stdin != "" {
		b.WriteString("printf '%s' \"$CLIENT_SECRET\" | ")
	}
	b.WriteString("mailport")
	for _, a := range s.args {
		b.WriteByte(' ')
		if a == "" || strings.ContainsAny(a, " \"'$&|;<>()*?") {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

// stepFactory is a fresh factory per command (each loads the config anew,
// as separate processes would), sharing the demo's output.
func stepFactory(f *cmdutil.Factory, errOut io.Writer, env *demo.Env, stdin string) *cmdutil.Factory {
	ios := &iostreams.IOStreams{In: strings.NewReader(stdin), Out: f.IO.Out, ErrOut: errOut}
	return &cmdutil.Factory{
		IO:          ios,
		Getenv:      func(k string) string { return "" },
		Now:         time.Now,
		OpenBrowser: env.Approve,
	}
}

// onceWarning passes stderr through but lets a line starting with prefix
// through only once: every step opens the demo's plain-text secrets file,
// and one warning says it.
type onceWarning struct {
	w       io.Writer
	prefix  string
	seen    bool
	pending []byte
}

func (o *onceWarning) Write(p []byte) (int, error) {
	o.pending = append(o.pending, p...)
	for {
		i := bytes.IndexByte(o.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := o.pending[:i+1]
		o.pending = o.pending[i+1:]
		if bytes.HasPrefix(line, []byte(o.prefix)) {
			if o.seen {
				continue
			}
			o.seen = true
		}
		if _, err := o.w.Write(line); err != nil {
			return len(p), err
		}
	}
}
