package realtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// The mailboxes of the bed. Each test area has its own, so no test sees
// another's messages.
const (
	alice = "alice@example.test" // OAuth2 round trip
	bob   = "bob@example.test"   // password round trip
	exact = "exact@example.test" // byte-exact retrieval
	big   = "big@example.test"   // the 30 MB message
	carol = "carol@example.test" // refusals
	dave  = "dave@example.test"  // other programs signing in with `mailport token`
	dana  = "dana@example.test"  // folder listings
	erin  = "erin@example.test"  // served by a Google service account
	frank = "frank@example.test" // served by the same service account
	robot = "robot@example.test" // app-only access with certificate and federated credentials
)

// suiteUsers is how many fresh mailboxes the IMAP suite can hand out: one
// per suite test and encryption.
const suiteUsers = 40

const clientID = "7e1d2c3b-0000-4000-8000-00000000beef"

// The scopes an Outlook IMAP/POP/SMTP token config asks for, and a Graph one.
var (
	outlookScopes = []string{
		"https://outlook.office.com/IMAP.AccessAsUser.All",
		"https://outlook.office.com/POP.AccessAsUser.All",
		"https://outlook.office.com/SMTP.Send",
		"offline_access",
	}
	graphScopes = []string{"https://graph.microsoft.com/Mail.Read", "https://graph.microsoft.com/Mail.Send", "offline_access"}
)

// Dovecot accepts a token only when its audience is Outlook's and it
// carries this scope (a short name, as in the token's scp claim). The
// refusal tests change it for POP3 and SMTP and put it back.
const (
	outlookAudience = "https://outlook.office.com"
	imapScope       = "IMAP.AccessAsUser.All"
)

var (
	bed  = &testbed.Shared{}
	prov *oauthtest.Server
)

func password(user string) string { return strings.SplitN(user, "@", 2)[0] + "-password" }

func TestMain(m *testing.M) {
	prov = oauthtest.New(oauthtest.Options{User: alice})
	prov.AddClient(oauthtest.Client{ID: clientID})
	prov.RequireIntrospection(outlookAudience, imapScope)
	users := []testbed.User{}
	for _, u := range []string{alice, bob, exact, big, carol, dave, dana, erin, frank, robot} {
		users = append(users, testbed.User{Name: u, Password: password(u)})
	}
	for i := 1; i <= suiteUsers; i++ {
		u := fmt.Sprintf("suite%02d@example.test", i)
		users = append(users, testbed.User{Name: u, Password: password(u)})
	}
	bed.Options = testbed.Options{IntrospectionURL: prov.IntrospectURL(), Users: users}
	code := m.Run()
	removeBuilt()
	bed.Stop()
	prov.Close()
	os.Exit(code)
}

// tokenMu serialises sign-ins: the fake signs in whoever SetUser named last.
var tokenMu sync.Mutex

// tokenFor signs user in at the fake Microsoft with scopes (authorization
// code flow, as a browser and a client would) and returns the access token.
func tokenFor(t *testing.T, user string, scopes ...string) string {
	t.Helper()
	tokenMu.Lock()
	defer tokenMu.Unlock()
	prov.SetUser(user)
	defer prov.SetUser(alice)

	base := prov.MicrosoftBaseURL("")
	const redirect = "http://127.0.0.1:9/callback" // never contacted: the code is read from the redirect
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {strings.Join(scopes, " ")}, "state": {"realtest"},
	}
	noFollow := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := noFollow.Get(base + "oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize answered %s with Location %q, want a redirect carrying a code", resp.Status, resp.Header.Get("Location"))
	}
	resp, err = noFollow.PostForm(base+"oauth2/v2.0/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirect}, "client_id": {clientID},
	})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token answered %s: %s", resp.Status, body)
	}
	return tok.AccessToken
}

// requireScope makes Dovecot (through the fake's introspection) demand
// scope instead of the IMAP scope until the test ends.
func requireScope(t *testing.T, scope string) {
	t.Helper()
	prov.RequireIntrospection(outlookAudience, scope)
	t.Cleanup(func() { prov.RequireIntrospection(outlookAudience, imapScope) })
}

// endpoint is the bed's port with the encryption, trusting the bed's CA.
func endpoint(b *testbed.Bed, port int, enc mail.Encryption) mail.Endpoint {
	return mail.Endpoint{Host: b.Host, Port: port, Encryption: enc, CAFile: b.CAFile, Timeout: 15 * time.Second}
}

func basicCreds(user string) mail.Credentials {
	return mail.Credentials{Kind: mail.AuthBasic, Username: user, Password: password(user)}
}

func tokenCreds(user, token string) mail.Credentials {
	return mail.Credentials{Kind: mail.AuthOAuth2, Username: user, Token: func(context.Context) (string, error) { return token, nil }}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// fetchAll opens INBOX on an authenticated connection and returns every
// message's bytes, oldest first.
func fetchAll(t *testing.T, in mail.Inbound) [][]byte {
	t.Helper()
	ctx := ctxFor(t, 60*time.Second)
	if _, err := in.Open(ctx, "INBOX"); err != nil {
		t.Fatalf("open INBOX: %v", err)
	}
	msgs, err := in.List(ctx, mail.Criteria{})
	if err != nil {
		t.Fatalf("list INBOX: %v", err)
	}
	var out [][]byte
	err = in.Fetch(ctx, msgs, func(_ mail.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		out = append(out, b)
		return err
	})
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return out
}

// abbrev shortens a message for a failure report.
func abbrev(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q...(%d bytes)...%q", b[:100], len(b), b[len(b)-80:])
	}
	return fmt.Sprintf("%q", b)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
