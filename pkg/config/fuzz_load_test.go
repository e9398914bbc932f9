package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad: whatever a config file holds, loading it never panics, every
// problem is reported on one line naming the file, and a config that
// loads comes back the same after Save and a second Load.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		`version: 1
token_configs:
  ms365:
    provider: microsoft
    flow: user
    client_id: 3f0c1a2b-0000-4000-8000-123456789abc
    base_url: https://login.microsoftonline.com/contoso.com/
    scopes: [https://outlook.office.com/IMAP.AccessAsUser.All, offline_access]
    inbound: true
    outbound: false
accounts:
  support:
    enabled: true
    type: inbound
    protocol: imap
    host: outlook.office365.com
    encryption: ssl
    auth: oauth2
    login: support@contoso.com
    token_config: ms365
    folder: Inbox/Endpoint # a comment
    properties: {tls_insecure: "false"}
`,
		"version: 1\naccounts:\n  a:\n    type: inbound\n    protocol: pop3\n    host: h\n    auth: basic\n    login: l\n    port: 99999\n",
		"version: 2\n",
		"version: [1]\nunknown: x\n",
		"a: &a [*a, *a]\nb: *a\n",
		"\t- bad",
		"",
		"accounts:\n  \"na\\nme\":\n    host: \"x\\ny\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "config.yaml")
		c, err := Parse(path, data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse error %T is not Errors: %v", err, err)
			}
			for _, e := range es {
				if strings.ContainsAny(e.Error(), "\r\n") {
					t.Fatalf("problem of more than one line: %q", e.Error())
				}
				if e.File != "config.yaml" {
					t.Fatalf("problem %q names file %q", e.Error(), e.File)
				}
			}
			return
		}
		if c.Validate() != nil {
			return
		}
		if err := c.Save(); err != nil {
			t.Fatalf("Save of a valid config: %v", err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatalf("the saved config does not load: %v", err)
		}
		if !reflect.DeepEqual(c.Accounts, back.Accounts) || !reflect.DeepEqual(c.TokenConfigs, back.TokenConfigs) {
			t.Fatalf("the saved config reads back otherwise:\n%+v\n%+v", c, back)
		}
	})
}
