package secret

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestOpenKeyringByDefault(t *testing.T) {
	for _, backend := range []string{"", "keyring", " Keyring "} {
		s, err := Open(backend, "/etc/mailport/config.yaml", nil)
		if err != nil {
			t.Fatalf("Open(%q): %v", backend, err)
		}
		k, ok := s.(*Keyring)
		if !ok {
			t.Fatalf("Open(%q) = %T, want *Keyring", backend, s)
		}
		if k.Name() != "keyring" {
			t.Errorf("Open(%q).Name() = %q", backend, k.Name())
		}
	}
}

func TestOpenFileBesideConfig(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	var warn bytes.Buffer
	s, err := Open("file", config, &warn)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := s.(*File)
	if !ok {
		t.Fatalf("Open(file) = %T, want *File", s)
	}
	if want := filepath.Join(dir, "secrets.yaml"); f.Path() != want {
		t.Errorf("path = %q, want %q", f.Path(), want)
	}
	if warn.Len() != 0 {
		t.Errorf("opening alone warned: %q", warn.String())
	}
	if err := s.Set(PasswordKey("support"), "hunter2"); err != nil {
		t.Fatal(err)
	}
	if want := "warning: secrets are kept in plain text at " + f.Path() + " (set MAILPORT_SECRETS_PASSPHRASE to encrypt them)\n"; warn.String() != want {
		t.Errorf("warning = %q, want %q", warn.String(), want)
	}

	// What status and show report for a stored secret.
	r := &Resolver{Store: s, Getenv: func(string) string { return "" }}
	if _, src, err := r.Password("support"); err != nil || src != SourceFile {
		t.Errorf("Password source = %q, %v; want file", src, err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct{ backend, config, want string }{
		{"vault", "/c/config.yaml", `unknown secret store "vault": choose keyring or file (--secrets or MAILPORT_SECRETS)`},
		{"files", "/c/config.yaml", `unknown secret store "files": choose keyring or file (--secrets or MAILPORT_SECRETS)`},
		{"file", "", "the file secret store needs the config file's path, to keep secrets.yaml beside it"},
	}
	for _, tt := range tests {
		s, err := Open(tt.backend, tt.config, nil)
		if err == nil {
			t.Errorf("Open(%q, %q) = %v, want an error", tt.backend, tt.config, s)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Open(%q) error =\n%s\nwant\n%s", tt.backend, err, tt.want)
		}
	}
}
