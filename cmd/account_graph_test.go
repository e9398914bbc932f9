package cmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A Graph account (protocol microsoft) talks to its Graph root: its
// graph_url, else the Graph of its token config's cloud, never its host
// field. account add, show and list name that server.
func TestAccountGraphServer(t *testing.T) {
	for _, tt := range []struct {
		name     string
		tcArgs   []string // how token config tc signs in
		acctArgs []string
		line     string // what account add prints first
		server   string // account show's server row
		graphURL string
		jsonAddr string // host:port of account show --json
	}{
		{"graph_url", []string{"--tenant", "contoso.com"},
			[]string{"--property", "graph_url=http://127.0.0.1:8123/v1.0"},
			`Added inbound account "g": microsoft on 127.0.0.1:8123 (none, oauth2)`,
			"127.0.0.1:8123", "http://127.0.0.1:8123/v1.0", "127.0.0.1:8123"},
		{"US Government cloud", []string{"--base-url", "https://login.microsoftonline.us/contoso.us/"},
			nil,
			`Added inbound account "g": microsoft on graph.microsoft.us:443 (ssl, oauth2)`,
			"graph.microsoft.us:443 (default)", "https://graph.microsoft.us/v1.0", "graph.microsoft.us:443"},
		{"global cloud, office365 preset", []string{"--tenant", "contoso.com"},
			[]string{"--preset", "office365"},
			`Added inbound account "g": microsoft on graph.microsoft.com:443 (ssl, oauth2)`,
			"graph.microsoft.com:443 (default)", "https://graph.microsoft.com/v1.0", "outlook.office365.com:443"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustRun(secretValue, append([]string{"token-config", "add", "tc", "--provider", "microsoft", "--client-id", clientID, "--client-secret-stdin"}, tt.tcArgs...)...)
			r := e.mustRun("", append([]string{"account", "add", "g", "--type", "inbound", "--protocol", "microsoft", "--login", "support@contoso.com", "--token-config", "tc"}, tt.acctArgs...)...)
			if first, _, _ := strings.Cut(r.out, "\n"); first != tt.line {
				t.Errorf("account add printed\n%s\nwant first line\n%s", r.out, tt.line)
			}

			r = e.mustRun("", "account", "show", "g")
			for _, want := range []string{"\nserver:        " + tt.server + "\n", "\ngraph url:     " + tt.graphURL + "\n"} {
				if !strings.Contains(r.out, want) {
					t.Errorf("account show lacks %q:\n%s", want, r.out)
				}
			}
			// JSON keeps a configured host (the preset's); without one, host
			// and port are the Graph's.
			r = e.mustRun("", "account", "show", "g", "--json")
			var d struct {
				Host string `json:"host"`
				Port int    `json:"port"`
			}
			if err := json.Unmarshal([]byte(r.out), &d); err != nil || fmt.Sprintf("%s:%d", d.Host, d.Port) != tt.jsonAddr {
				t.Errorf("account show --json: host %q port %d (%v), want %s:\n%s", d.Host, d.Port, err, tt.jsonAddr, r.out)
			}

			r = e.mustRun("", "account", "list")
			addr, _, _ := strings.Cut(tt.server, " ")
			if want := "g\tyes\tinbound\tmicrosoft\t" + addr + "\toauth2\tsupport@contoso.com\ttc\n"; !strings.Contains(r.out, want) {
				t.Errorf("account list lacks %q:\n%q", want, r.out)
			}
		})
	}
}
