package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestXOAUTH2PayloadIsTheWireFormat(t *testing.T) {
	got := string(XOAUTH2Payload("a@b.c", "tok"))
	if got != "user=a@b.c\x01auth=Bearer tok\x01\x01" {
		t.Fatalf("payload %q", got)
	}
	c := NewXOAUTH2Client("a@b.c", "tok")
	mech, ir, err := c.Start()
	if mech != "XOAUTH2" || string(ir) != got || err != nil {
		t.Fatalf("Start: %s %q %v", mech, ir, err)
	}
	// On failure the server sends a JSON challenge; we answer empty and keep it.
	resp, err := c.Next([]byte(`{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`))
	if err != nil || len(resp) != 0 || !strings.Contains(c.Challenge, "mail.google.com") {
		t.Fatalf("Next: %q %v %q", resp, err, c.Challenge)
	}
}

func TestOAuthBearerAnswersErrorChallengeWithCtrlA(t *testing.T) {
	c := NewOAuthBearerClient("a@b.c", "imap.example.com", 993, "tok")
	mech, ir, _ := c.Start()
	if mech != "OAUTHBEARER" || !bytes.Contains(ir, []byte("auth=Bearer tok")) || !bytes.Contains(ir, []byte("a=a@b.c")) {
		t.Fatalf("Start: %s %q", mech, ir)
	}
	resp, err := c.Next([]byte(`{"status":"invalid_token"}`))
	if err != nil || !bytes.Equal(resp, []byte{1}) || c.Challenge == "" {
		t.Fatalf("Next: %q %v", resp, err)
	}
}

func TestLoginClient(t *testing.T) {
	c := NewLoginClient("user", "pw")
	if mech, ir, _ := c.Start(); mech != "LOGIN" || ir != nil {
		t.Fatalf("Start: %s %q", mech, ir)
	}
	a, _ := c.Next([]byte("Username:"))
	b, _ := c.Next([]byte("Password:"))
	if string(a) != "user" || string(b) != "pw" {
		t.Fatalf("got %q %q", a, b)
	}
	if _, err := c.Next(nil); err == nil {
		t.Fatal("a third challenge must fail")
	}
}

func TestRedactorNeverLetsASecretThrough(t *testing.T) {
	const token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature"
	const password = "correct horse battery staple"
	ir := base64.StdEncoding.EncodeToString(XOAUTH2Payload("a@b.c", token))
	var out bytes.Buffer
	r := NewRedactor(&out, "imap ")
	r.Secret(token, password)
	r.SASLPayload(XOAUTH2Payload("a@b.c", token))
	// Writes split mid-secret must still be caught.
	transcript := "* OK ready\r\nA1 AUTHENTICATE XOAUTH2 " + ir + "\r\nA1 NO AUTHENTICATE failed.\r\n" +
		"A2 LOGIN a@b.c \"" + password + "\"\r\nA2 OK\r\nUSER a\r\nPASS " + password + "\r\n" +
		"AUTH PLAIN\r\n+ \r\n" + base64.StdEncoding.EncodeToString([]byte("\x00a\x00"+password)) + "\r\n-ERR no\r\n" +
		"the token " + token + " again\r\n"
	for i := 0; i < len(transcript); i += 7 {
		end := min(i+7, len(transcript))
		r.Write([]byte(transcript[i:end]))
	}
	r.Flush()
	got := out.String()
	for _, s := range []string{token, password, ir, base64.StdEncoding.EncodeToString([]byte(password)), "payload.signature"} {
		if strings.Contains(got, s) {
			t.Fatalf("transcript contains %q:\n%s", s, got)
		}
	}
	for _, keep := range []string{"imap * OK ready", "imap A1 AUTHENTICATE XOAUTH2 [redacted]", "A1 NO AUTHENTICATE failed.", "PASS [redacted]", "A2 LOGIN a@b.c [redacted]"} {
		if !strings.Contains(got, keep) {
			t.Errorf("transcript lost %q:\n%s", keep, got)
		}
	}
}

func TestCheckPlaintextAuth(t *testing.T) {
	basic := Credentials{Kind: AuthBasic, Username: "u", Password: "p"}
	var pe *PlaintextAuthError
	if err := (Endpoint{Host: "h", Encryption: None}).CheckPlaintextAuth(basic); !errors.As(err, &pe) || !strings.Contains(err.Error(), "allow_plaintext_auth=true") {
		t.Fatalf("plain text password not refused: %v", err)
	}
	if err := (Endpoint{Host: "h", Encryption: None, AllowPlaintextAuth: true}).CheckPlaintextAuth(basic); err != nil {
		t.Fatal(err)
	}
	if err := (Endpoint{Host: "h", Encryption: StartTLS}).CheckPlaintextAuth(basic); err != nil {
		t.Fatal(err)
	}
}

func TestTLSConfigCAFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := (Endpoint{Host: "h", CAFile: bad}).TLSConfig(); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("bad CA file: %v", err)
	}
	if _, err := (Endpoint{Host: "h", CAFile: filepath.Join(dir, "missing.pem")}).TLSConfig(); err == nil {
		t.Fatal("missing CA file accepted")
	}
	cfg, err := (Endpoint{Host: "mail.example.com"}).TLSConfig()
	if err != nil || cfg.ServerName != "mail.example.com" {
		t.Fatalf("%v %v", cfg, err)
	}
}

func TestErrorsReadAsSentences(t *testing.T) {
	e := &AuthError{Mechanism: "XOAUTH2", Text: "NO AUTHENTICATE failed.", Challenge: `{"status":"400"}`}
	if e.Error() != `XOAUTH2 authentication refused: NO AUTHENTICATE failed. (server said {"status":"400"})` {
		t.Fatal(e.Error())
	}
	f := &FolderNotFoundError{Path: "Inbox/Endpoint", Missing: "Endpoint"}
	if f.Error() != `folder "Inbox/Endpoint" not found: no "Endpoint"` {
		t.Fatal(f.Error())
	}
	if DecodeChallenge(base64.StdEncoding.EncodeToString([]byte("{}"))) != "{}" || DecodeChallenge("not base64!") != "not base64!" {
		t.Fatal("DecodeChallenge")
	}
}
