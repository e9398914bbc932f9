package account

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// Description is the documented JSON shape of an account.
type Description struct {
	Name        string            `json:"name"`
	Enabled     bool              `json:"enabled"`
	Type        string            `json:"type"`
	Protocol    string            `json:"protocol"`
	Host        string            `json:"host"`
	Port        int               `json:"port"`         // the port used: configured, or the default
	PortDefault bool              `json:"port_default"` // true when port is the protocol's default
	Encryption  string            `json:"encryption"`
	Auth        string            `json:"auth"`
	Login       string            `json:"login"`
	TokenConfig string            `json:"token_config,omitempty"`
	Folder      string            `json:"folder,omitempty"`
	OnReceived  string            `json:"on_received,omitempty"`
	Exec        string            `json:"exec,omitempty"`
	HoldDir     string            `json:"hold_dir,omitempty"`
	Properties  map[string]string `json:"properties"`
	// Secrets tells where each secret the account needs lives: keyring,
	// file, environment or "not set". Never a value.
	Secrets map[string]string `json:"secrets"`
	// Discovery is what account add --email found and chose.
	Discovery *DiscoveryDescription `json:"discovery,omitempty"`
}

func describe(f *cmdutil.Factory, cfg *config.Config, name string, a *config.Account) Description {
	d := Description{
		Name: name, Enabled: a.Enabled, Type: a.Type, Protocol: a.Protocol, Host: a.Host,
		Port: a.EffectivePort(), PortDefault: a.Port == 0, Encryption: a.Encryption, Auth: a.Auth,
		Login: a.Login, TokenConfig: a.TokenConfig, OnReceived: a.OnReceived,
		Exec: a.Exec, HoldDir: a.HoldDir, Properties: a.Properties, Secrets: map[string]string{},
	}
	if a.Type == config.Inbound {
		d.Folder = a.FolderOrDefault()
	}
	if d.Host == "" && a.Protocol == config.Microsoft {
		// The Graph the account talks to (graph_url, else its cloud's).
		srv := serverOf(cfg, a)
		d.Host, d.Port, d.PortDefault = srv.Host, srv.Port, srv.PortDefault
	}
	if d.Properties == nil {
		d.Properties = map[string]string{}
	}
	r, err := f.Resolver()
	word := func(src secret.Source, err error) string {
		if err != nil && !secret.IsNotFound(err) {
			return "unknown (" + err.Error() + ")"
		}
		return string(src)
	}
	if err != nil {
		for _, k := range secretNames(a) {
			d.Secrets[k] = "unknown (" + err.Error() + ")"
		}
		return d
	}
	if a.Auth == config.AuthBasic {
		_, src, err := r.Password(name)
		d.Secrets["password"] = word(src, err)
	} else {
		src, err := r.TokenSource(name)
		d.Secrets["token"] = word(src, err)
		if a.TokenConfig != "" {
			_, src, err := r.ClientSecret(a.TokenConfig)
			d.Secrets["client_secret"] = word(src, err)
			// Certificates kept by path and federated tokens store nothing:
			// "not set" would read as something missing.
			if tc := cfg.TokenConfigs[a.TokenConfig]; tc != nil && tc.Flow != config.FlowServiceAccount {
				switch {
				case tc.CredentialKind() == config.CredentialFederated:
					d.Secrets["client_secret"] = string(oauth.SourceFederated)
				case tc.CredentialKind() == config.CredentialCertificate && tc.CertificatePath != "":
					d.Secrets["client_secret"] = string(oauth.SourceCertificatePath)
				}
			}
		}
	}
	return d
}

func secretNames(a *config.Account) []string {
	if a.Auth == config.AuthBasic {
		return []string{"password"}
	}
	return []string{"token", "client_secret"}
}

// ShowOptions are the inputs of `account show`.
type ShowOptions struct {
	F    *cmdutil.Factory
	Name string
}

// NewCmdShow is `mailport account show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{F: f}
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show an account with its resolved host, port and where its secrets live",
		Example: `  mailport account show support
  mailport account show support --json`,
		Args: cmdutil.ExactArgs(1, "an account NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return showRun(opts)
		},
	}
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
	a, err := Lookup(cfg, opts.Name)
	if err != nil {
		return err
	}
	d := describe(f, cfg, opts.Name, a)
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, d)
	}
	w := f.IO.Out
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-14s %s\n", k+":", v) // "client secret:" is the longest
		}
	}
	row("name", d.Name)
	row("enabled", fmt.Sprint(d.Enabled))
	row("type", d.Type)
	row("protocol", d.Protocol)
	srv := serverOf(cfg, a)
	server := srv.Addr()
	if srv.PortDefault {
		server += " (default)"
	}
	row("server", server)
	row("graph url", srv.GraphURL)
	row("encryption", srv.Encryption)
	row("auth", d.Auth)
	row("login", d.Login)
	row("token config", d.TokenConfig)
	row("folder", d.Folder)
	row("on received", d.OnReceived)
	row("exec", d.Exec)
	row("hold dir", d.HoldDir)
	keys := make([]string, 0, len(d.Properties))
	for k := range d.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row("property", k+"="+d.Properties[k])
	}
	for _, k := range []string{"password", "token", "client_secret"} {
		if v, ok := d.Secrets[k]; ok {
			row(strings.ReplaceAll(k, "_", " "), v)
		}
	}
	return nil
}
