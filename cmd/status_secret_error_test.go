package cmd

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/secret"
)

// brokenKeyStore fails to read one key, as a keyring that times out on
// one item or a damaged entry would.
type brokenKeyStore struct {
	secret.Store
	key string
}

func (s brokenKeyStore) Get(key string) (string, error) {
	if key == s.key {
		return "", errors.New("the keyring did not answer within 3s")
	}
	return s.Store.Get(key)
}

// status shows an account whose secret cannot be read as an ERROR row
// with the reason, lists every other account, and exits 1.
func TestStatusReportsASecretErrorInItsRow(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	e.mustRun("pw", "account", "add", "a-broken", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--login", "a@example.com", "--password-stdin")
	e.mustRun("pw", "account", "add", "z-fine", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--login", "z@example.com", "--password-stdin")
	e.wrapStore = func(s secret.Store) secret.Store { return brokenKeyStore{s, secret.PasswordKey("a-broken")} }
	r := e.run("", "status")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", r.code, r.err)
	}
	rows := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "a-broken\tERROR\t") || !strings.HasPrefix(rows[1], "support\t") || !strings.HasPrefix(rows[2], "z-fine\tPASSWORD SET\t") {
		t.Fatalf("status rows:\n%s", r.out)
	}
	if !strings.Contains(r.err, "a-broken: error: reading the password of account a-broken: the keyring did not answer within 3s\n") || strings.HasPrefix(r.err, "error:") {
		t.Fatalf("stderr %q", r.err)
	}
	r = e.run("", "status", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || r.code != 1 || len(list) != 3 {
		t.Fatalf("--json: exit %d, %v\n%s", r.code, err, r.out)
	}
	if list[0]["state"] != "ERROR" || !strings.Contains(list[0]["cause"].(string), "did not answer") || list[2]["state"] != "PASSWORD SET" {
		t.Fatalf("--json: %v", list)
	}
}

// A secret store chosen by --secrets or MAILPORT_SECRETS on a command
// that writes the config is recorded there, so a later command without
// either opens the same store; the flag and the variable still win.
func TestChosenSecretStoreIsRecorded(t *testing.T) {
	path := t.TempDir() + "/config.yaml"
	var backends []string
	r := runNoFlag(t, map[string]string{"MAILPORT_SECRETS": "file"}, "pw", &backends, "--config", path, "account", "add", "ci", "--type", "inbound", "--protocol", "imap",
		"--host", "imap.example.com", "--login", "ci@example.com", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("add: exit %d: %s", r.code, r.err)
	}
	cfg := readFile(t, path)
	if !strings.Contains(cfg, "\nsecrets: file\n") {
		t.Fatalf("config does not record the store:\n%s", cfg)
	}
	backends = nil
	if r := runNoFlag(t, nil, "", &backends, "--config", path, "status"); r.code != 0 || strings.Join(backends, ",") != "file" {
		t.Fatalf("status without MAILPORT_SECRETS: exit %d, opened %v, stderr %q", r.code, backends, r.err)
	}
	backends = nil
	if r := runNoFlag(t, nil, "", &backends, "--config", path, "--secrets", "keyring", "status"); r.code != 0 || strings.Join(backends, ",") != "keyring" {
		t.Fatalf("status --secrets keyring: exit %d, opened %v", r.code, backends)
	}
	if readFile(t, path) != cfg {
		t.Fatal("a command that does not write the config changed it")
	}
	// An unknown store is never recorded, even by a command that saves
	// without opening the store.
	if r := runNoFlag(t, map[string]string{"MAILPORT_SECRETS": "vault"}, "", nil, "--config", path, "account", "edit", "ci", "--folder", "Archive"); r.code != 0 || strings.Contains(readFile(t, path), "vault") {
		t.Fatalf("edit with MAILPORT_SECRETS=vault: exit %d %s\n%s", r.code, r.err, readFile(t, path))
	}
	r = runNoFlag(t, map[string]string{"MAILPORT_SECRETS": "keyring"}, "", nil, "--config", path, "account", "edit", "ci", "--folder", "INBOX")
	if r.code != 0 || !strings.Contains(readFile(t, path), "\nsecrets: keyring\n") {
		t.Fatalf("edit with MAILPORT_SECRETS=keyring: exit %d %s\n%s", r.code, r.err, readFile(t, path))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
