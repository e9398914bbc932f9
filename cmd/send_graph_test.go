package cmd

import (
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// The product guide's outbound account: protocol microsoft (Graph sendMail).
func TestSendThroughGraph(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{User: "out@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{})
	g.AddUser("out@contoso.com")
	g.AddUser("someone@contoso.com")
	g.SetAuthorize(func(token string) (string, error) { return "out@contoso.com", nil })
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID)
	e.mustRun("", "account", "add", "outbox", "--preset", "office365", "--type", "outbound", "--login", "out@contoso.com", "--token-config", "ms", "--property", "graph_url="+g.URL)
	e.mustRun("", "authenticate", "outbox", "--timeout", "20s")
	r := e.mustRun("", "send", "outbox", "--to", "someone@contoso.com", "--subject", "via Graph", "--body", "hello over sendMail")
	if !strings.HasPrefix(r.out, "Sent <") {
		t.Fatalf("send output %q", r.out)
	}
	got := g.Messages("someone@contoso.com", "Inbox")
	if len(got) != 1 {
		t.Fatalf("delivered %d messages", len(got))
	}
	raw, err := g.Content(got[0].ID)
	if err != nil || !strings.Contains(string(raw), "Subject: via Graph") || !strings.Contains(string(raw), "hello over sendMail") {
		t.Fatalf("delivered message: %v\n%s", err, raw)
	}
}
