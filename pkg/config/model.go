// Package config is mailport's YAML configuration: the model, loading with
// errors that name file, line and field, validation of every cross-reference,
// atomic saving that keeps an admin's comments, provider presets and default
// ports.
//
// Secrets are never part of this package's data: client secrets, passwords
// and tokens live in the secret store (pkg/secret).
package config

import "go.yaml.in/yaml/v3"

// Version is the schema version this build reads and writes.
const Version = 1

// Config is the whole configuration file.
type Config struct {
	Version int `yaml:"version"`
	// Secrets is the secret store (keyring or file) chosen by --secrets or
	// MAILPORT_SECRETS when the file was last written; "" is keyring.
	Secrets      string                  `yaml:"secrets,omitempty"`
	TokenConfigs map[string]*TokenConfig `yaml:"token_configs"`
	Accounts     map[string]*Account     `yaml:"accounts"`

	// Path is the file the config was loaded from or will be saved to.
	Path string `yaml:"-"`
	// doc is the parsed document, kept so saving preserves comments and order.
	doc *yaml.Node
	// lines maps field paths to the line they were read from.
	lines map[string]int
	// warnings are the last validation's problems that do not stop mailport.
	warnings Errors
}

// Providers.
const (
	ProviderMicrosoft = "microsoft"
	ProviderGoogle    = "google"
	ProviderGeneric   = "generic"
)

// OAuth2 flows.
const (
	FlowUser              = "user"               // authorization code + PKCE in a browser
	FlowDevice            = "device"             // device code
	FlowClientCredentials = "client_credentials" // app-only
	// FlowServiceAccount is Google's service account with domain-wide
	// delegation: a JWT-bearer grant signed with the account's key, for
	// the mailbox named by each account's login.
	FlowServiceAccount = "service_account"
)

// TokenConfig is an OAuth2 client registration (a "Client Token
// Configuration"). Its client secret lives in the secret store.
type TokenConfig struct {
	Provider      string   `yaml:"provider"`
	Flow          string   `yaml:"flow"`
	ClientID      string   `yaml:"client_id"`
	BaseURL       string   `yaml:"base_url,omitempty"`
	AuthURL       string   `yaml:"auth_url,omitempty"`
	TokenURL      string   `yaml:"token_url,omitempty"`
	DeviceURL     string   `yaml:"device_url,omitempty"`
	RedirectURL   string   `yaml:"redirect_url,omitempty"`
	Scopes        []string `yaml:"scopes,flow"`
	IdentityClaim string   `yaml:"identity_claim,omitempty"`
	Inbound       bool     `yaml:"inbound"`
	Outbound      bool     `yaml:"outbound"`
	SecretExpires string   `yaml:"secret_expires,omitempty"` // YYYY-MM-DD

	// Credential is how the client proves itself at the token endpoint:
	// secret (also when empty), certificate or federated. See credential.go.
	Credential            string `yaml:"credential,omitempty"`
	CertificatePath       string `yaml:"certificate_path,omitempty"`
	CertificateThumbprint string `yaml:"certificate_thumbprint,omitempty"` // hex SHA-256 of the DER certificate
	CertificateExpires    string `yaml:"certificate_expires,omitempty"`    // YYYY-MM-DD, the certificate's notAfter
	AssertionAlg          string `yaml:"assertion_alg,omitempty"`          // RS256 (default) or PS256
	FederatedTokenFile    string `yaml:"federated_token_file,omitempty"`
	FederatedToken        string `yaml:"federated_token,omitempty"` // github
	FederatedAudience     string `yaml:"federated_audience,omitempty"`
}

// Account types.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// Protocols.
const (
	IMAP      = "imap"
	POP3      = "pop3"
	Microsoft = "microsoft" // Microsoft Graph
	SMTP      = "smtp"
)

// Encryptions.
const (
	SSL      = "ssl"
	StartTLS = "starttls"
	None     = "none"
)

// Authorisation types.
const (
	AuthBasic  = "basic"
	AuthOAuth2 = "oauth2"
)

// What happens to received mail.
const (
	OnReceivedHold = "hold"
	OnReceivedExec = "exec"
)

// Account is one mailbox connection (an "Email Account").
type Account struct {
	Enabled     bool              `yaml:"enabled"`
	Type        string            `yaml:"type"`
	Protocol    string            `yaml:"protocol"`
	Host        string            `yaml:"host,omitempty"`
	Port        int               `yaml:"port"`
	Encryption  string            `yaml:"encryption"`
	Auth        string            `yaml:"auth"`
	Login       string            `yaml:"login"`
	TokenConfig string            `yaml:"token_config,omitempty"`
	Folder      string            `yaml:"folder,omitempty"`
	OnReceived  string            `yaml:"on_received,omitempty"`
	Exec        string            `yaml:"exec,omitempty"`
	HoldDir     string            `yaml:"hold_dir,omitempty"`
	Properties  map[string]string `yaml:"properties,omitempty"`
}

// Property returns an account property or def when unset.
func (a *Account) Property(key, def string) string {
	if v, ok := a.Properties[key]; ok {
		return v
	}
	return def
}

// DefaultFolder is used when an inbound account names none.
const DefaultFolder = "INBOX"

// FolderOrDefault is the folder to open.
func (a *Account) FolderOrDefault() string {
	if a.Folder == "" {
		return DefaultFolder
	}
	return a.Folder
}

// DefaultPort is the well-known port of a protocol for an encryption.
// It is the one place ports are resolved.
func DefaultPort(protocol, encryption string) int {
	switch protocol {
	case IMAP:
		if encryption == SSL {
			return 993
		}
		return 143
	case POP3:
		if encryption == SSL {
			return 995
		}
		return 110
	case SMTP:
		switch encryption {
		case SSL:
			return 465
		case StartTLS:
			return 587
		}
		return 25
	case Microsoft:
		return 443
	}
	return 0
}

// EffectivePort is the configured port, or the default when it is 0.
func (a *Account) EffectivePort() int {
	if a.Port != 0 {
		return a.Port
	}
	return DefaultPort(a.Protocol, a.Encryption)
}
