package imaptest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/mailport/mailport/pkg/mail"
)

// Start runs a server for the length of a test.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Factory returns a suite Factory that gives every test a fresh server with
// the given encryption: in this process, or, for Features.Isolated, in a
// child process started from the test binary (the test's TestMain must call
// ChildMain first).
func NewFactory(enc mail.Encryption) Factory {
	return func(t *testing.T, f Features) *Fixture {
		user, pass := "alice@example.org", "pw-"+randomHex(8)
		cfg := Config{Encryption: enc, NoMove: f.NoMove, NoUIDPlus: f.NoUIDPlus, NoXOAUTH2: f.NoXOAUTH2}
		if f.Isolated {
			return startChild(t, cfg, user, pass)
		}
		good, bad := "ya29.good-"+randomHex(16), "ya29.bad-"+randomHex(16)
		cfg.TokenCheck = func(u, tok string) error {
			if u == user && tok == good {
				return nil
			}
			return errors.New("invalid token")
		}
		s := Start(t, cfg)
		s.AddUser(user, pass)
		return &Fixture{Endpoint: s.Endpoint(), User: user, Password: pass, Token: good, BadToken: bad}
	}
}

const childEnv = "MAILPORT_IMAPTEST_CHILD"

type childSpec struct {
	Enc      mail.Encryption
	NoMove   bool
	NoUID    bool
	NoXO     bool
	User     string
	Password string
}

type childReady struct {
	Endpoint mail.Endpoint
	Err      string
}

// ChildMain serves as an isolated server when the test binary was started
// for that by the Factory, and otherwise returns at once. Call it first in
// TestMain. The child serves until its standard input closes.
func ChildMain() {
	spec := os.Getenv(childEnv)
	if spec == "" {
		return
	}
	var cs childSpec
	var ready childReady
	s, err := func() (*Server, error) {
		if err := json.Unmarshal([]byte(spec), &cs); err != nil {
			return nil, err
		}
		return New(Config{Encryption: cs.Enc, NoMove: cs.NoMove, NoUIDPlus: cs.NoUID, NoXOAUTH2: cs.NoXO})
	}()
	if err != nil {
		ready.Err = err.Error()
	} else {
		s.AddUser(cs.User, cs.Password)
		ready.Endpoint = s.Endpoint()
	}
	json.NewEncoder(os.Stdout).Encode(ready)
	if s != nil {
		io.Copy(io.Discard, os.Stdin)
		s.Close()
	}
	os.Exit(0)
}

func startChild(t *testing.T, cfg Config, user, pass string) *Fixture {
	t.Helper()
	spec, err := json.Marshal(childSpec{Enc: cfg.Encryption, NoMove: cfg.NoMove, NoUID: cfg.NoUIDPlus, NoXO: cfg.NoXOAUTH2, User: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the isolated IMAP server: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("the isolated IMAP server did not start (does TestMain call imaptest.ChildMain?): %v", err)
	}
	var ready childReady
	if err := json.Unmarshal(line, &ready); err != nil {
		t.Fatalf("the isolated IMAP server said %q: %v", line, err)
	}
	if ready.Err != "" {
		t.Fatalf("the isolated IMAP server failed: %s", ready.Err)
	}
	return &Fixture{Endpoint: ready.Endpoint, User: user, Password: pass}
}
