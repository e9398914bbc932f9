package oauth_test

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

func TestAADSTSTableRowsAreComplete(t *testing.T) {
	seen := map[int]string{}
	for _, a := range oauth.AADSTSTable() {
		if len(a.Codes) == 0 || a.Title == "" || a.Message == "" || a.Cause == "" || a.Fix == "" {
			t.Errorf("row %v lacks a field: %+v", a.Codes, a)
			continue
		}
		if want := fmt.Sprintf("AADSTS%d", a.Codes[0]); !strings.HasPrefix(a.Title, want) {
			t.Errorf("title %q does not start with its main code %s", a.Title, want)
		}
		if !strings.HasPrefix(a.Message, "AADSTS") {
			t.Errorf("row %v: the message is not Microsoft's words: %q", a.Codes, a.Message)
		}
		for _, c := range a.Codes {
			if other, dup := seen[c]; dup {
				t.Errorf("AADSTS%d is in two rows: %q and %q", c, other, a.Title)
			}
			seen[c] = a.Title
		}
	}
	// The codes the hints knew before the table must still have advice.
	for _, c := range []int{50194, 7000215, 7000222, 700016, 90002, 50011, 65001, 7000218, 501481, 54005, 70011, 28000, 50020, 50076} {
		if _, ok := oauth.AADSTSAdviceFor(c); !ok {
			t.Errorf("AADSTS%d has no advice", c)
		}
	}
	if _, ok := oauth.AADSTSAdviceFor(65004); ok {
		t.Error("AADSTS65004 has advice; the access_denied hint should speak for it")
	}
}

// TestHintIsTheTablesFixWithNames: a refusal with any code of the table
// hints the row's Fix, with the account and token config named, or the
// generic ACCOUNT and TOKENCONFIG when they are unknown; no placeholder
// survives either way, and Error stays one line.
func TestHintIsTheTablesFixWithNames(t *testing.T) {
	for _, a := range oauth.AADSTSTable() {
		for _, code := range a.Codes {
			pe := &oauth.ProviderError{Endpoint: "token", Status: 400, Code: "invalid_grant", AADSTS: code,
				Description: a.Message + "\r\nTrace ID: 0000\r\nCorrelation ID: 1111",
				Account:     "support", TokenConfig: "ms365"}
			h := pe.Hint()
			want := strings.NewReplacer("<account>", "support", "<token-config>", "ms365").Replace(a.Fix)
			if h != want {
				t.Errorf("AADSTS%d: hint %q, want %q", code, h, want)
			}
			if strings.Contains(h, "<") {
				t.Errorf("AADSTS%d: a placeholder is left in %q", code, h)
			}
			if strings.Contains(a.Fix, "<account>") && !strings.Contains(h, "support") {
				t.Errorf("AADSTS%d: the hint does not name the account: %q", code, h)
			}
			if strings.Contains(a.Fix, "<token-config>") && !strings.Contains(h, "ms365") {
				t.Errorf("AADSTS%d: the hint does not name the token config: %q", code, h)
			}
			msg := pe.Error()
			if strings.ContainsAny(msg, "\r\n") || !strings.Contains(msg, strings.TrimSuffix(h, ".")) {
				t.Errorf("AADSTS%d: Error() = %q", code, msg)
			}

			pe.Account, pe.TokenConfig = "", ""
			h = pe.Hint()
			if strings.Contains(h, "<") {
				t.Errorf("AADSTS%d without names: a placeholder is left in %q", code, h)
			}
			if strings.Contains(a.Fix, "<account>") && !strings.Contains(h, "ACCOUNT") {
				t.Errorf("AADSTS%d without names: %q", code, h)
			}
			if strings.Contains(a.Fix, "<token-config>") && !strings.Contains(h, "TOKENCONFIG") {
				t.Errorf("AADSTS%d without names: %q", code, h)
			}
		}
	}
}

// The hints that are not AADSTS codes keep their words.
func TestHintWithoutAADSTS(t *testing.T) {
	for code, want := range map[string]string{
		"invalid_client":        "check the client id and client secret of the token config",
		"redirect_uri_mismatch": "register the redirect URI mailport printed with the app",
		"access_denied":         "an administrator may have to grant consent to the app",
		"invalid_scope":         "check the token config's scopes and the app's API permissions",
		"server_error":          "",
	} {
		pe := &oauth.ProviderError{Endpoint: "token", Code: code, Account: "support", TokenConfig: "ms365"}
		if h := pe.Hint(); !strings.Contains(h, want) || (want == "" && h != "") {
			t.Errorf("%s: hint %q, want %q", code, h, want)
		}
	}
}

// A refusal at the token endpoint names the token config of the client:
// the client credentials flow with a secret ID instead of its Value.
func TestAuthenticateRefusalNamesTheTokenConfig(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.Microsoft)
	e.tc().Flow = config.FlowClientCredentials
	e.tc().Scopes = oauth.AppScopesFor(config.Microsoft)
	e.srv.AddClient(oauthtest.Client{ID: clientID, Secret: "the-real-one"})
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out})
	a, _ := oauth.AADSTSAdviceFor(7000215)
	want := strings.TrimSuffix(strings.ReplaceAll(a.Fix, "<token-config>", "tc"), ".")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant the fix %q", err, want)
	}
	var pe *oauth.ProviderError
	if !errors.As(err, &pe) || pe.TokenConfig != "tc" || pe.Account != "support" {
		t.Fatalf("provider error names %q and %q", pe.TokenConfig, pe.Account)
	}
}

// A refusal in the browser callback names the account, in the error and
// on the page the browser shows.
func TestAuthorizeRefusalNamesTheAccount(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.srv.FailAuthorize(oauthtest.Error{Code: "invalid_request", AADSTS: 50020,
		Description: "User account 'bob@fabrikam.com' from identity provider 'live.com' does not exist in tenant 'Mailport Test' and cannot access the application."})
	b := newBrowser()
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open})
	a, _ := oauth.AADSTSAdviceFor(50020)
	want := strings.TrimSuffix(strings.NewReplacer("<account>", "support", "<token-config>", "tc").Replace(a.Fix), ".")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant the fix %q", err, want)
	}
	if _, page := b.result(t); !strings.Contains(page, html.EscapeString(want)) {
		t.Fatalf("page = %s", page)
	}
}
