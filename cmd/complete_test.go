package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/secret"
)

// completion is what `mailport __complete ARGS` printed: the candidates
// (without descriptions) and the directive line.
type completion struct {
	names     []string
	directive string
	stderr    string
	code      int
}

func parseCompletion(r result) completion {
	c := completion{stderr: r.err, code: r.code}
	for _, line := range strings.Split(strings.TrimRight(r.out, "\n"), "\n") {
		if strings.HasPrefix(line, ":") {
			c.directive = line
			continue
		}
		if line != "" {
			name, _, _ := strings.Cut(line, "\t")
			c.names = append(c.names, name)
		}
	}
	return c
}

func (e *env) complete(args ...string) completion {
	e.t.Helper()
	return parseCompletion(e.run("", append([]string{"__complete"}, args...)...))
}

// completionEnv has two inbound accounts (one disabled), an outbound one
// and two token configs.
func completionEnv(t *testing.T) *env {
	e := newEnv(t)
	e.setupMicrosoft()
	e.mustRun("", "token-config", "add", "gmail", "--provider", "google", "--client-id", "1234-abc.apps.googleusercontent.com")
	e.vars["PW"] = "pw"
	e.mustRun("", "account", "add", "popbox", "--type", "inbound", "--protocol", "pop3", "--host", "pop.example.com", "--auth", "basic", "--login", "pop@example.com", "--password-env", "PW", "--disabled")
	e.mustRun("", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", "smtp.example.com", "--auth", "basic", "--login", "out@example.com", "--password-env", "PW")
	return e
}

const noFileComp = ":4" // cobra.ShellCompDirectiveNoFileComp

func TestCompletionOffersTheConfigsNames(t *testing.T) {
	e := completionEnv(t)
	all := "outbox popbox support"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"fetch", ""}, "popbox support"},
		{[]string{"send", ""}, "outbox"},
		{[]string{"folders", ""}, "popbox support"},
		{[]string{"folders", "support", ""}, ""},
		{[]string{"test", ""}, all},
		{[]string{"authenticate", ""}, all},
		{[]string{"logout", ""}, all},
		{[]string{"status", ""}, all},
		{[]string{"status", "popbox", ""}, "outbox support"},
		{[]string{"account", "show", ""}, all},
		{[]string{"account", "edit", "s"}, "support"},
		{[]string{"account", "remove", ""}, all},
		{[]string{"account", "rm", ""}, all},
		{[]string{"account", "enable", "popbox", ""}, "outbox support"},
		{[]string{"account", "disable", ""}, all},
		{[]string{"account", "show", "support", ""}, ""},
		{[]string{"token-config", "show", ""}, "gmail ms365"},
		{[]string{"token-config", "edit", "m"}, "ms365"},
		{[]string{"token-config", "remove", ""}, "gmail ms365"},
		{[]string{"account", "add", "x", "--token-config", ""}, "gmail ms365"},
		{[]string{"account", "edit", "support", "--token-config", "g"}, "gmail"},
		{[]string{"account", "add", "x", "--encryption", ""}, "ssl starttls none"},
		{[]string{"token-config", "add", "x", "--flow", ""}, "user device client_credentials service_account"},
		{[]string{"fetch", "support", "--format", ""}, "eml maildir"},
		{[]string{"--secrets", ""}, "keyring file"},
	}
	for _, tt := range tests {
		c := e.complete(tt.args...)
		if got := strings.Join(c.names, " "); got != tt.want || c.directive != noFileComp || c.code != 0 {
			t.Errorf("__complete %q: %q %s (exit %d), want %q %s", tt.args, got, c.directive, c.code, tt.want, noFileComp)
		}
	}
	// Descriptions say what each name is.
	r := e.run("", "__complete", "fetch", "")
	if !strings.Contains(r.out, "popbox\tinbound pop3 pop@example.com (disabled)\n") || !strings.Contains(r.out, "support\tinbound microsoft support@contoso.com\n") {
		t.Errorf("fetch completion descriptions:\n%s", r.out)
	}
}

// The config completion reads is the one the command would use:
// MAILPORT_CONFIG when --config is not given.
func TestCompletionReadsMAILPORT_CONFIG(t *testing.T) {
	e := completionEnv(t)
	ios, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IO: ios, Now: time.Now,
		Getenv:    func(k string) string { return map[string]string{"MAILPORT_CONFIG": e.config}[k] },
		OpenStore: func(string, string) (secret.Store, error) { return e.store, nil },
	}
	if code := Run(f, []string{"__complete", "send", ""}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if c := parseCompletion(result{out: out.String()}); strings.Join(c.names, " ") != "outbox" {
		t.Fatalf("with MAILPORT_CONFIG: %q", out.String())
	}
}

// A broken or missing config completes nothing, quietly.
func TestCompletionWithABrokenConfigIsQuiet(t *testing.T) {
	e := newEnv(t)
	for name, text := range map[string]string{
		"invalid YAML":   "version: 1\naccounts: [\n",
		"invalid config": "version: 1\naccounts:\n  x:\n    type: sideways\n",
	} {
		if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"fetch", ""}, {"token-config", "show", ""}, {"account", "add", "x", "--token-config", ""}} {
			c := e.complete(args...)
			if len(c.names) != 0 || c.directive != noFileComp || c.code != 0 || strings.Contains(c.stderr, "error") {
				t.Errorf("%s: __complete %q: %q %s exit %d stderr %q", name, args, c.names, c.directive, c.code, c.stderr)
			}
		}
	}
	e.config = filepath.Join(e.dir, "missing", "config.yaml")
	if c := e.complete("fetch", ""); len(c.names) != 0 || c.directive != noFileComp || c.code != 0 {
		t.Errorf("missing config: %+v", c)
	}
}

// listsValues spots a flag whose help names a fixed set of values:
// "a|b|c", or "[intro: ]a, b (note) or c".
var listsValues = regexp.MustCompile(`\||^([^:]*: )?[a-z0-9_]+( \([^)]*\))?(, [a-z0-9_]+( \([^)]*\))?)*,? or [a-z0-9_]+`)

// Every flag with a fixed set of values completes them, and accepts them
// in any case: a new enum flag without completion fails here.
func TestEveryEnumFlagCompletes(t *testing.T) {
	e := newEnv(t)
	root := NewCmdRoot(cmdutil.NewFactory())
	checked := 0
	for _, c := range allCommands(root) {
		path := strings.Fields(c.CommandPath())[1:]
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if fl.Hidden || fl.Value.Type() == "bool" {
				return
			}
			enum := cmdutil.IsEnumFlag(fl)
			if !enum && !listsValues.MatchString(fl.Usage) && !strings.Contains(fl.Value.Type(), "|") {
				return
			}
			checked++
			args := append(append([]string{}, path...), "--"+fl.Name, "")
			if fl.NoOptDefVal != "" {
				// A flag whose value is optional takes it after '='.
				args = append(append([]string{}, path...), "--"+fl.Name+"=")
			}
			got := e.complete(args...)
			if len(got.names) < 2 || got.directive != noFileComp {
				t.Errorf("mailport %s --%s (%q) completes %q %s; want its values", strings.Join(path, " "), fl.Name, fl.Usage, got.names, got.directive)
			}
			if !enum {
				t.Errorf("mailport %s --%s lists values in its help but is not bound with cmdutil.EnumVar", strings.Join(path, " "), fl.Name)
			}
		})
	}
	if checked < 15 {
		t.Fatalf("only %d enum flags found; the walk is broken", checked)
	}
}

// Every command that takes an existing account or token config by name
// completes names.
func TestEveryNameArgumentCompletes(t *testing.T) {
	root := NewCmdRoot(cmdutil.NewFactory())
	for _, c := range allCommands(root) {
		use := c.Use
		takesName := strings.Contains(use, "ACCOUNT") || (strings.Contains(use, "NAME") && !strings.HasPrefix(use, "add "))
		if takesName && c.ValidArgsFunction == nil {
			t.Errorf("%s (%s) does not complete names", c.CommandPath(), use)
		}
	}
}

// A login with a tab or newline in it cannot break the completion lines.
func TestCompletionDescriptionsStayOnOneLine(t *testing.T) {
	e := newEnv(t)
	text := "version: 1\naccounts:\n  box:\n    enabled: true\n    type: inbound\n    protocol: imap\n    host: h.example.com\n    encryption: ssl\n    auth: basic\n    login: \"me\\t@x\\nsupport\\tevil\"\n"
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "__complete", "fetch", "")
	if r.out != "box\tinbound imap me @x support evil\n:4\n" {
		t.Fatalf("completion output %q (stderr %q)", r.out, r.err)
	}
}
