package tokenconfig

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// ServiceAccount is the documented JSON shape of a service account's key
// (never the key itself): who it is and the id the Admin console wants.
type ServiceAccount struct {
	ClientEmail  string `json:"client_email"`
	ClientID     string `json:"client_id"`
	ProjectID    string `json:"project_id,omitempty"`
	PrivateKeyID string `json:"private_key_id,omitempty"`
}

// readKeyFile reads and checks a service account's JSON key from path
// ("-" is stdin). It returns the file's bytes, as they are kept in the
// secret store, and the parsed key.
func readKeyFile(f *cmdutil.Factory, path string) (string, *oauth.ServiceAccountKey, error) {
	var r io.Reader
	name := path
	if path == "-" {
		r, name = f.IO.In, "stdin"
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return "", nil, cmdutil.FlagErrorf("--key-file: %v", err)
		}
		defer fh.Close()
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, oauth.MaxServiceAccountKey+1))
	if err != nil {
		return "", nil, cmdutil.FlagErrorf("--key-file: reading %s: %v", name, err)
	}
	k, err := oauth.ParseServiceAccountKey(data)
	if err != nil {
		return "", nil, cmdutil.FlagErrorf("--key-file %s: %v", name, err)
	}
	return string(data), k, nil
}

// applyKey makes tc the token config of key k: the client id is the
// service account's email (the assertion's issuer), and the token
// endpoint the key's own unless --token-url says otherwise.
func applyKey(fl *fields, tc *config.TokenConfig, k *oauth.ServiceAccountKey) error {
	if fl.changed("client-id") && fl.ClientID != "" && !strings.EqualFold(fl.ClientID, k.ClientEmail) && fl.ClientID != k.ClientID {
		return cmdutil.FlagErrorf("--client-id %s is not the service account of the key file (%s, client ID %s): leave --client-id out", fl.ClientID, k.ClientEmail, k.ClientID)
	}
	tc.ClientID = k.ClientEmail
	tc.Flow = config.FlowServiceAccount
	if !fl.changed("token-url") && k.TokenURI != "" {
		tc.TokenURL = k.TokenURI
	}
	return nil
}

// keyNote is what add and edit say after storing a service account's key:
// where it is, and the grant an administrator must make.
func keyNote(f *cmdutil.Factory, store secret.Store, tc *config.TokenConfig, k *oauth.ServiceAccountKey) {
	fmt.Fprintf(f.IO.Out, "Service account key of %s (client ID %s) stored in the %s; the key file may be deleted.\n",
		k.ClientEmail, k.ClientID, cmdutil.StoreWord(store.Name()))
	scopes := tc.Scopes
	if len(scopes) == 0 {
		scopes = []string{oauth.ScopeGoogleMail}
	}
	fmt.Fprintf(f.IO.Out, "Grant it domain-wide delegation in the Google Admin console (Security → Access and data control → API controls → Domain-wide delegation → Add new): client ID %s, OAuth scopes %s.\n",
		k.ClientID, strings.Join(scopes, ","))
}

// serviceAccountOf describes the stored key of a service_account token
// config; nil when there is none or it cannot be read.
func serviceAccountOf(f *cmdutil.Factory, name string, tc *config.TokenConfig) *ServiceAccount {
	if tc.Flow != config.FlowServiceAccount {
		return nil
	}
	r, err := f.Resolver()
	if err != nil {
		return nil
	}
	v, _, err := r.ClientSecret(name)
	if err != nil {
		return nil
	}
	k, err := oauth.ParseServiceAccountKey([]byte(v))
	if err != nil {
		return nil
	}
	return &ServiceAccount{ClientEmail: k.ClientEmail, ClientID: k.ClientID, ProjectID: k.ProjectID, PrivateKeyID: k.PrivateKeyID}
}
