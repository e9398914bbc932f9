package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

var (
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// Choices of the enumerated fields, in the order messages list them.
var (
	Providers   = []string{ProviderMicrosoft, ProviderGoogle, ProviderGeneric}
	Flows       = []string{FlowUser, FlowDevice, FlowClientCredentials, FlowServiceAccount}
	Types       = []string{Inbound, Outbound}
	Protocols   = []string{IMAP, POP3, Microsoft, SMTP}
	Encryptions = []string{SSL, StartTLS, None}
	AuthTypes   = []string{AuthBasic, AuthOAuth2}
	OnReceived  = []string{OnReceivedHold, OnReceivedExec}
	// SecretStores are the values of the top-level secrets field.
	SecretStores = []string{"keyring", "file"}
)

// DateLayout is the format of secret_expires.
const DateLayout = "2006-01-02"

// ValidName reports whether a token config or account name is allowed.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// IsGUID reports whether s looks like an Entra application (client) id.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

// validator collects problems with their line numbers.
type validator struct {
	c     *Config
	errs  Errors
	warns Errors
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, v.problem(path, format, args...))
}

// warn records a problem that does not stop mailport (see Warnings).
func (v *validator) warn(path, format string, args ...any) {
	v.warns = append(v.warns, v.problem(path, format, args...))
}

func (v *validator) problem(path, format string, args ...any) *FieldError {
	e := &FieldError{Field: path, Msg: fmt.Sprintf(format, args...)}
	// A missing field is reported at its entry's line; an entry that did
	// not come from the file (added or changed by a command) has none.
	if v.c.Path != "" {
		for _, p := range placesOf(path) {
			if line := v.c.lines[p]; line > 0 {
				e.File, e.Line = filepath.Base(v.c.Path), line
				break
			}
		}
	}
	return e
}

func (v *validator) oneOf(path, value string, choices []string) bool {
	for _, c := range choices {
		if value == c {
			return true
		}
	}
	if value == "" {
		v.add(path, "missing; set one of %s", strings.Join(choices, ", "))
	} else {
		v.add(path, "%q is not one of %s", value, strings.Join(choices, ", "))
	}
	return false
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// placesOf lists where a field's line may be found: the field, then its
// ancestors up to its entry ("accounts.x"); a top-level field falls back
// to the document's first line.
func placesOf(path string) []string {
	parts := strings.Split(path, ".")
	if len(parts) == 1 {
		return []string{path, ""}
	}
	var out []string
	for n := len(parts); n >= 2; n-- {
		out = append(out, strings.Join(parts[:n], "."))
	}
	return out
}

// Warnings are the problems of the last Validate (or Load) that do not
// stop mailport: property keys it does not read. config validate reports
// them as problems.
func (c *Config) Warnings() Errors { return c.warnings }

// SetAccount puts an account (new or changed) into the config, with
// graph_url and hold_dir normalised (see NormalizeGraphURL; a relative
// hold_dir is relative to the config file's directory), and validates the whole config with it. Nothing reaches the file until
// Save, so a caller that gets an error simply does not save.
func (c *Config) SetAccount(name string, a *Account) error {
	a.normalize(c.baseDir())
	c.Accounts[name] = a
	c.unplace("accounts." + name)
	return c.Validate()
}

// SetTokenConfig is SetAccount for a token config.
func (c *Config) SetTokenConfig(name string, tc *TokenConfig) error {
	c.TokenConfigs[name] = tc
	c.unplace("token_configs." + name)
	return c.Validate()
}

// unplace forgets the file lines of an entry (e.g. "accounts.support")
// that is being set, so problems with it are not reported at a line of
// the file it never came from.
func (c *Config) unplace(entry string) {
	for p := range c.lines {
		if p == entry || strings.HasPrefix(p, entry+".") {
			delete(c.lines, p)
		}
	}
}

// Validate checks every field, cross-reference and combination and
// reports all problems at once as Errors. Problems that do not stop
// mailport are kept for Warnings.
func (c *Config) Validate() error {
	v := &validator{c: c}
	if c.Version != Version && (len(c.TokenConfigs) > 0 || len(c.Accounts) > 0 || c.doc != nil) {
		if c.Version == 0 {
			v.add("version", "missing; add \"version: %d\" at the top of the file", Version)
		} else {
			v.add("version", "%d is not supported by this mailport (it reads version %d)", c.Version, Version)
		}
	}
	if c.Secrets != "" {
		v.oneOf("secrets", c.Secrets, SecretStores)
	}
	for _, name := range sortedKeys(c.TokenConfigs) {
		v.tokenConfig(name, c.TokenConfigs[name])
	}
	for _, name := range sortedKeys(c.Accounts) {
		v.account(name, c.Accounts[name])
	}
	c.warnings = v.warns
	if len(v.errs) > 0 {
		return v.errs
	}
	return nil
}

func (v *validator) checkURL(path, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(path, "%q is not an http(s) URL", raw)
	}
}

func (v *validator) tokenConfig(name string, tc *TokenConfig) {
	p := "token_configs." + name
	if !ValidName(name) {
		v.add(p, "the name may only contain letters, digits, '.', '_' and '-'")
	}
	if tc == nil {
		v.add(p, "is empty")
		return
	}
	v.oneOf(p+".provider", tc.Provider, Providers)
	if v.oneOf(p+".flow", tc.Flow, Flows) && tc.Flow == FlowServiceAccount {
		v.serviceAccount(p, tc)
	}
	switch {
	case tc.ClientID == "":
		v.add(p+".client_id", "missing; set the application (client) id from the provider's console")
	case tc.Provider == ProviderMicrosoft && !IsGUID(tc.ClientID):
		v.add(p+".client_id", "%q is not an Entra application (client) id: it looks like %s; copy the \"Application (client) ID\" GUID from the app's overview page", tc.ClientID, guessWhat(tc.ClientID))
	}
	for _, f := range []struct{ key, val string }{{"base_url", tc.BaseURL}, {"auth_url", tc.AuthURL}, {"token_url", tc.TokenURL}, {"device_url", tc.DeviceURL}} {
		v.checkURL(p+"."+f.key, f.val)
	}
	switch tc.Provider {
	case ProviderMicrosoft:
		if tc.BaseURL == "" && (tc.AuthURL == "" || tc.TokenURL == "") {
			v.add(p+".base_url", "missing; set it to https://login.microsoftonline.com/<tenant>/ (or use --tenant)")
		}
	case ProviderGeneric:
		if tc.TokenURL == "" {
			v.add(p+".token_url", "missing; a generic provider needs its token endpoint URL")
		}
		if tc.Flow == FlowUser && tc.AuthURL == "" {
			v.add(p+".auth_url", "missing; the user flow needs the provider's authorization endpoint URL")
		}
		if tc.Flow == FlowDevice && tc.DeviceURL == "" {
			v.add(p+".device_url", "missing; the device flow needs the provider's device authorization endpoint URL")
		}
	}
	if tc.RedirectURL != "" {
		u, err := url.Parse(tc.RedirectURL)
		switch {
		case err != nil || u.Scheme != "http" || u.Host == "":
			v.add(p+".redirect_url", "%q must be an http URL on this machine, e.g. http://localhost:8400/receiveTokenAuthentication.htm", tc.RedirectURL)
		case u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1" && u.Hostname() != "::1":
			v.add(p+".redirect_url", "%q must point at this machine (localhost or 127.0.0.1) so mailport can receive the redirect; register that URL in the app too", tc.RedirectURL)
		}
	}
	if !tc.Inbound && !tc.Outbound {
		v.add(p, "supports neither inbound nor outbound mail; set inbound: true and/or outbound: true")
	}
	if tc.SecretExpires != "" {
		if _, err := time.Parse(DateLayout, tc.SecretExpires); err != nil {
			v.add(p+".secret_expires", "%q is not a date like 2027-05-01", tc.SecretExpires)
		}
	}
	v.credential(p, tc)
}

// serviceAccount checks a token config of the service_account flow: only
// Google has it, and its client id is the service account's email.
func (v *validator) serviceAccount(p string, tc *TokenConfig) {
	switch tc.Provider {
	case ProviderGoogle:
	case ProviderMicrosoft:
		v.add(p+".flow", "service_account is Google's flow and Microsoft has none; for app-only access without a secret use flow client_credentials with a certificate (--flow client_credentials --certificate FILE)")
	case "":
	default:
		v.add(p+".flow", "service_account is only for provider google")
	}
}

// guessWhat names what a wrong client id most likely is.
func guessWhat(s string) string {
	switch {
	case strings.Contains(s, "@"):
		return "a user name"
	case strings.Contains(s, "~") || len(s) >= 34:
		return "a client secret value"
	}
	return "something else"
}

func (v *validator) account(name string, a *Account) {
	p := "accounts." + name
	if !ValidName(name) {
		v.add(p, "the name may only contain letters, digits, '.', '_' and '-'")
	}
	if a == nil {
		v.add(p, "is empty")
		return
	}
	typeOK := v.oneOf(p+".type", a.Type, Types)
	protoOK := v.oneOf(p+".protocol", a.Protocol, Protocols)
	v.oneOf(p+".encryption", a.Encryption, Encryptions)
	authOK := v.oneOf(p+".auth", a.Auth, AuthTypes)
	if typeOK && protoOK {
		switch {
		case a.Type == Inbound && a.Protocol == SMTP:
			v.add(p+".protocol", "smtp sends mail; an inbound account uses imap, pop3 or microsoft")
		case a.Type == Outbound && (a.Protocol == IMAP || a.Protocol == POP3):
			v.add(p+".protocol", "%s receives mail; an outbound account uses smtp or microsoft", a.Protocol)
		}
	}
	if a.Port < 0 || a.Port > 65535 {
		v.add(p+".port", "%d is out of range; use 0 for the default port or 1-65535", a.Port)
	}
	if a.Host == "" && a.Protocol != Microsoft {
		server := "mail server"
		if a.Protocol != "" {
			server = a.Protocol + " server"
		}
		v.add(p+".host", "missing; set the %s's host name", server)
	}
	if a.Host != "" {
		switch hp := CheckHost(a.Host); {
		case hp == nil:
		case hp.Kind == "url" && hp.Host != "":
			v.add(p+".host", "%q is a URL, not a host name; %s", a.Host, hp.Fix())
		case hp.Kind == "port":
			v.add(p+".host", "%q includes a port; %s", a.Host, hp.Fix())
		default:
			v.add(p+".host", "%q is not a host name or IP address", a.Host)
		}
	}
	if a.Login == "" {
		v.add(p+".login", "missing; set the mailbox's login (usually its email address)")
	}
	if protoOK && authOK && a.Protocol == Microsoft && a.Auth != AuthOAuth2 {
		v.add(p+".auth", "protocol microsoft (Graph) needs auth: oauth2")
	}
	if authOK && a.Auth == AuthOAuth2 && a.TokenConfig == "" {
		v.add(p+".token_config", "missing; auth: oauth2 needs a token config (see mailport token-config list)")
	}
	if a.TokenConfig != "" {
		tc, ok := v.c.TokenConfigs[a.TokenConfig]
		switch {
		case !ok:
			v.add(p+".token_config", "%q does not exist%s", a.TokenConfig, known(v.c.TokenConfigs))
		case tc == nil:
		case authOK && a.Auth == AuthBasic:
			v.add(p+".token_config", "is set but auth is basic; set auth: oauth2 or remove token_config")
		case a.Type == Inbound && !tc.Inbound:
			v.add(p+".token_config", "%q does not support inbound mail; set inbound: true on it or pick another", a.TokenConfig)
		case a.Type == Outbound && !tc.Outbound:
			v.add(p+".token_config", "%q does not support outbound mail; set outbound: true on it or pick another", a.TokenConfig)
		case a.Protocol == Microsoft && tc.Provider != ProviderMicrosoft:
			v.add(p+".token_config", "%q is a %s token config; protocol microsoft (Graph) needs a microsoft one", a.TokenConfig, tc.Provider)
		}
	}
	if a.OnReceived != "" {
		if v.oneOf(p+".on_received", a.OnReceived, OnReceived) && a.OnReceived == OnReceivedExec && strings.TrimSpace(a.Exec) == "" {
			v.add(p+".exec", "missing; on_received: exec needs the command to run for each message")
		}
	}
	if a.Type == Outbound {
		for _, f := range []struct{ key, val string }{{"folder", a.Folder}, {"on_received", a.OnReceived}, {"exec", a.Exec}, {"hold_dir", a.HoldDir}} {
			if f.val != "" {
				v.add(p+"."+f.key, "only applies to inbound accounts")
			}
		}
	}
	if a.Protocol == POP3 && a.Folder != "" && !strings.EqualFold(a.Folder, DefaultFolder) {
		v.add(p+".folder", "%q: POP3 only reaches the inbox; use imap or microsoft for other folders", a.Folder)
	}
	for _, k := range sortedKeys(a.Properties) {
		val := a.Properties[k]
		if msg := UnknownProperty(k); msg != "" {
			// A key mailport does not read does nothing: config validate
			// fails on it, other commands warn and go on (a file that
			// worked before keeps working).
			v.warn(p+".properties."+k, "%s", msg)
		} else if isBoolProperty(k) && val != "true" && val != "false" {
			v.add(p+".properties."+k, "%q must be \"true\" or \"false\"", val)
		}
	}
}

// Properties whose values are booleans.
var boolProperties = map[string]bool{
	"allow_plaintext_auth": true, "tls_insecure": true, "pop3.xoauth2.two_line": true,
}

func isBoolProperty(k string) bool { return boolProperties[k] }

func known[T any](m map[string]T) string {
	if len(m) == 0 {
		return " (there are none yet)"
	}
	return " (known: " + strings.Join(sortedKeys(m), ", ") + ")"
}
