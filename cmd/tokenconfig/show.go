package tokenconfig

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// Description is the documented JSON shape of a token config.
type Description struct {
	Name          string   `json:"name"`
	Provider      string   `json:"provider"`
	Flow          string   `json:"flow"`
	ClientID      string   `json:"client_id"`
	BaseURL       string   `json:"base_url,omitempty"`
	AuthURL       string   `json:"auth_url,omitempty"`
	TokenURL      string   `json:"token_url,omitempty"`
	DeviceURL     string   `json:"device_url,omitempty"`
	RedirectURL   string   `json:"redirect_url,omitempty"`
	Scopes        []string `json:"scopes"`
	IdentityClaim string   `json:"identity_claim,omitempty"`
	Inbound       bool     `json:"inbound"`
	Outbound      bool     `json:"outbound"`
	SecretExpires string   `json:"secret_expires,omitempty"`
	// ClientSecret tells where the secret (or the stored certificate)
	// lives: keyring, file, environment or "not set"; certificate_path or
	// federated when nothing is stored.
	ClientSecret string   `json:"client_secret"`
	UsedBy       []string `json:"used_by"`
	// Credential is secret, certificate or federated; the fields after it
	// describe a certificate or a federated token.
	Credential            string `json:"credential"`
	CertificateThumbprint string `json:"certificate_thumbprint,omitempty"`
	CertificateExpires    string `json:"certificate_expires,omitempty"`
	CertificatePath       string `json:"certificate_path,omitempty"`
	AssertionAlg          string `json:"assertion_alg,omitempty"`
	FederatedTokenFile    string `json:"federated_token_file,omitempty"`
	FederatedToken        string `json:"federated_token,omitempty"`
	FederatedAudience     string `json:"federated_audience,omitempty"`
	// ServiceAccount is the stored key's service account (flow service_account).
	ServiceAccount *ServiceAccount `json:"service_account,omitempty"`
}

// describe is a token config as show, list, add and edit print it; the
// accounts that use it come from cfg.
func describe(cfg *config.Config, name string, tc *config.TokenConfig, source secret.Source) Description {
	scopes := tc.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	users := usedBy(cfg, name)
	if users == nil {
		users = []string{}
	}
	d := Description{
		Name: name, Provider: tc.Provider, Flow: tc.Flow, ClientID: tc.ClientID, BaseURL: tc.BaseURL,
		AuthURL: tc.AuthURL, TokenURL: tc.TokenURL, DeviceURL: tc.DeviceURL, RedirectURL: tc.RedirectURL,
		Scopes: scopes, IdentityClaim: tc.IdentityClaim, Inbound: tc.Inbound, Outbound: tc.Outbound,
		SecretExpires: tc.SecretExpires, ClientSecret: string(source), UsedBy: users,
		Credential: tc.CredentialKind(), CertificateThumbprint: tc.CertificateThumbprint, CertificateExpires: tc.CertificateExpires,
		CertificatePath: tc.CertificatePath, AssertionAlg: tc.AssertionAlg,
		FederatedTokenFile: tc.FederatedTokenFile, FederatedToken: tc.FederatedToken,
	}
	if tc.Flow == config.FlowServiceAccount {
		d.Credential = config.CredentialServiceAccountKey
	}
	switch tc.CredentialKind() {
	case config.CredentialCertificate:
		d.AssertionAlg = tc.Alg()
		if tc.CertificatePath != "" {
			d.ClientSecret = string(oauth.SourceCertificatePath)
			// The mounted file is what counts, and it may have been renewed.
			if cert, err := oauth.ReadCertificateFile(tc.CertificatePath, ""); err == nil {
				d.CertificateThumbprint, d.CertificateExpires = cert.Thumbprint(), cert.Expires()
			}
		}
	case config.CredentialFederated:
		d.ClientSecret = string(oauth.SourceFederated)
		d.FederatedAudience = tc.Audience()
	}
	return d
}

// sourceOf tells where a token config's secret comes from, or an error
// word when the store cannot be read.
func sourceOf(f *cmdutil.Factory, name string) secret.Source {
	r, err := f.Resolver()
	if err != nil {
		return secret.Source("unknown (" + err.Error() + ")")
	}
	_, src, err := r.ClientSecret(name)
	if err != nil && !secret.IsNotFound(err) {
		return secret.Source("unknown (" + err.Error() + ")")
	}
	return src
}

func usedBy(cfg *config.Config, name string) []string {
	var names []string
	for _, an := range cmdutil.SortedNames(cfg.Accounts) {
		if cfg.Accounts[an].TokenConfig == name {
			names = append(names, an)
		}
	}
	return names
}

// ShowOptions are the inputs of `token-config show`.
type ShowOptions struct {
	F    *cmdutil.Factory
	Name string
}

// NewCmdShow is `mailport token-config show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{F: f}
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a token config and where its client secret lives",
		Example: `  mailport token-config show ms365
  mailport token-config show ms365 --json | jq -r .client_secret`,
		Args: cmdutil.ExactArgs(1, "a token config NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return showRun(opts)
		},
	}
}

// Lookup returns a token config or a ConfigError naming the known ones.
func Lookup(cfg *config.Config, name string) (*config.TokenConfig, error) {
	return cmdutil.Lookup(cfg.TokenConfigs, "token config", name)
}

func showRun(opts *ShowOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	if _, err := f.Store(); err != nil {
		return err
	}
	tc, err := Lookup(cfg, opts.Name)
	if err != nil {
		return err
	}
	d := describe(cfg, opts.Name, tc, sourceOf(f, opts.Name))
	d.ServiceAccount = serviceAccountOf(f, opts.Name, tc)
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, d)
	}
	w := f.IO.Out
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-15s %s\n", k+":", v)
		}
	}
	row("name", d.Name)
	row("provider", d.Provider)
	row("flow", d.Flow)
	row("client id", d.ClientID)
	row("base url", d.BaseURL)
	row("auth url", d.AuthURL)
	row("token url", d.TokenURL)
	row("device url", d.DeviceURL)
	row("redirect url", d.RedirectURL)
	row("scopes", strings.Join(d.Scopes, " "))
	row("identity claim", d.IdentityClaim)
	row("inbound", fmt.Sprint(d.Inbound))
	row("outbound", fmt.Sprint(d.Outbound))
	row("secret expires", d.SecretExpires)
	if tc.Flow == config.FlowServiceAccount {
		row("key", d.ClientSecret)
		if sa := d.ServiceAccount; sa != nil {
			row("delegation id", sa.ClientID+" (the client ID for domain-wide delegation in the Google Admin console)")
			row("project", sa.ProjectID)
			row("key id", sa.PrivateKeyID)
		}
	} else {
		row("credential", d.Credential)
		row("thumbprint", d.CertificateThumbprint)
		row("cert expires", d.CertificateExpires)
		row("cert path", d.CertificatePath)
		row("assertion alg", d.AssertionAlg)
		row("token file", d.FederatedTokenFile)
		row("token from", d.FederatedToken)
		row("token audience", d.FederatedAudience)
		if d.Credential == config.CredentialSecret {
			row("client secret", d.ClientSecret)
		} else if d.ClientSecret != string(oauth.SourceCertificatePath) && d.ClientSecret != string(oauth.SourceFederated) {
			row("stored in", d.ClientSecret)
		}
	}
	row("used by", strings.Join(d.UsedBy, ", "))
	return nil
}
