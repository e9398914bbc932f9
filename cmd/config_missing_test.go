package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/secret"
)

// runNoFlag runs mailport without --config, with vars as the environment,
// on a non-terminal, and records the secret backend the store was opened
// with.
func runNoFlag(t *testing.T, vars map[string]string, stdin string, backends *[]string, args ...string) result {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(false, false, false)
	in.WriteString(stdin)
	store := secret.NewMemory()
	f := &cmdutil.Factory{
		IO:     ios,
		Getenv: func(k string) string { return vars[k] },
		Now:    time.Now,
		OpenStore: func(backend, configPath string) (secret.Store, error) {
			if backends != nil {
				*backends = append(*backends, backend)
			}
			return store, nil
		},
	}
	code := Run(f, args)
	return result{out.String(), errOut.String(), code}
}

// A config file named by --config or MAILPORT_CONFIG that does not exist
// is a mistake in the path: every command but the two that create the
// file says which file it looked for, exits 2 and creates nothing.
func TestMissingNamedConfigIsAnError(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "confg.yaml")
	commands := [][]string{
		{"account", "list"}, {"account", "show", "support"}, {"account", "edit", "support", "--folder", "x"},
		{"token-config", "list"}, {"status"}, {"fetch", "support", "--to", filepath.Join(dir, "in")},
		{"send", "support", "--to", "a@example.com", "--subject", "s", "--body", "b"},
		{"test", "support"}, {"authenticate", "support"}, {"logout", "support"}, {"config", "validate"},
	}
	for _, named := range []string{"--config", "MAILPORT_CONFIG"} {
		for _, args := range commands {
			vars := map[string]string{}
			if named == "--config" {
				args = append([]string{"--config", typo}, args...)
			} else {
				vars["MAILPORT_CONFIG"] = typo
			}
			r := runNoFlag(t, vars, "", nil, args...)
			if r.code != 2 || !strings.Contains(r.err, "error: no config at "+typo+": check --config or MAILPORT_CONFIG") {
				t.Errorf("%s: %v: exit %d, stderr %q; want exit 2 naming %s", named, args, r.code, r.err, typo)
			}
			if _, err := os.Stat(typo); !os.IsNotExist(err) {
				t.Fatalf("%v created %s", args, typo)
			}
		}
	}
	// config path still prints it; add creates it.
	if r := runNoFlag(t, map[string]string{"MAILPORT_CONFIG": typo}, "", nil, "config", "path"); r.code != 0 || r.out != typo+"\n" {
		t.Errorf("config path: exit %d, out %q, err %q", r.code, r.out, r.err)
	}
	r := runNoFlag(t, nil, "pw", nil, "--config", typo, "account", "add", "ci", "--type", "inbound", "--protocol", "imap",
		"--host", "imap.example.com", "--login", "ci@example.com", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("account add into a new file: exit %d: %s", r.code, r.err)
	}
	if r := runNoFlag(t, nil, "", nil, "--config", typo, "account", "list"); r.code != 0 || !strings.Contains(r.out, "ci") {
		t.Errorf("account list after add: exit %d, out %q, err %q", r.code, r.out, r.err)
	}
}

// With no config at the default location a first-time user gets the
// empty listing's hint, not an error; config validate still says there
// is nothing to validate.
func TestNoConfigAtTheDefaultLocation(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	def, err := os.UserConfigDir()
	if err != nil {
		t.Skip(err)
	}
	path := filepath.Join(def, "mailport", "config.yaml")
	for _, args := range [][]string{{"account", "list", "--json"}, {"status", "--json"}, {"token-config", "list", "--json"}} {
		if r := runNoFlag(t, nil, "", nil, args...); r.code != 0 || strings.TrimSpace(r.out) != "[]" {
			t.Errorf("%v with no config: exit %d, out %q, err %q; want an empty list", args, r.code, r.out, r.err)
		}
	}
	if r := runNoFlag(t, nil, "", nil, "status"); r.code != 0 || !strings.Contains(r.err, "No accounts yet") {
		t.Errorf("status with no config: exit %d, err %q", r.code, r.err)
	}
	r := runNoFlag(t, nil, "", nil, "config", "validate")
	if r.code != 2 || !strings.Contains(r.err, "error: no config at "+path+": ") {
		t.Errorf("config validate with no config: exit %d, err %q", r.code, r.err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a command created %s", path)
	}
}
