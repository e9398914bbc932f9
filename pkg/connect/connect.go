// Package connect turns a configured account into a live connection: it
// resolves the endpoint (host, default port, encryption, TLS properties),
// the credentials (a password from the secret store or environment, or an
// OAuth2 token source), and picks the protocol adapter (pkg/imap,
// pkg/pop3, pkg/smtp, pkg/graph). Commands use it so none of them knows a
// protocol.
package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/pop3"
	"github.com/mailport/mailport/pkg/secret"
	"github.com/mailport/mailport/pkg/smtp"
)

// Account properties read here.
const (
	PropAllowPlaintextAuth = "allow_plaintext_auth"
	PropTLSCAFile          = "tls_ca_file"
	PropTLSInsecure        = "tls_insecure"
	PropGraphURL           = "graph_url"
)

// Opener opens connections for the accounts of one config.
type Opener struct {
	Config  *config.Config
	Secrets *secret.Resolver
	OAuth   *oauth.Manager
	// Trace receives protocol transcripts (adapters redact secrets).
	Trace io.Writer
	// Timeout bounds each network step; 0 means the adapters' default.
	Timeout time.Duration
	// HTTPClient is used for Graph when set (tests).
	HTTPClient *http.Client
}

// Account returns a configured account or an error naming it.
func (o *Opener) Account(name string) (*config.Account, error) {
	a, ok := o.Config.Accounts[name]
	if !ok || a == nil {
		return nil, fmt.Errorf("no account named %q", name)
	}
	return a, nil
}

// Endpoint resolves where and how to connect for an account.
func (o *Opener) Endpoint(a *config.Account) (mail.Endpoint, error) {
	ep := mail.Endpoint{
		Host:               a.Host,
		Port:               a.EffectivePort(),
		Encryption:         mail.Encryption(a.Encryption),
		CAFile:             a.Property(PropTLSCAFile, ""),
		InsecureSkipVerify: a.Property(PropTLSInsecure, "false") == "true",
		AllowPlaintextAuth: a.Property(PropAllowPlaintextAuth, "false") == "true",
		Timeout:            o.Timeout,
		Trace:              o.Trace,
		Properties:         a.Properties,
	}
	return ep, nil
}

// NoPasswordError means a basic-auth account has no password anywhere.
type NoPasswordError struct{ Account string }

func (e *NoPasswordError) Error() string {
	return fmt.Sprintf("account %s has no password: set %s or store one with `mailport account edit %s --password-stdin`",
		e.Account, secret.EnvName(secret.EnvPasswordPrefix, e.Account), e.Account)
}

// Credentials resolves how an account authenticates. For OAuth2 the token
// is fetched (and refreshed) only when an adapter asks for it.
func (o *Opener) Credentials(name string, a *config.Account) (mail.Credentials, error) {
	if a.Auth == config.AuthBasic {
		pw, _, err := o.Secrets.Password(name)
		if err != nil {
			if secret.IsNotFound(err) {
				return mail.Credentials{}, &NoPasswordError{Account: name}
			}
			return mail.Credentials{}, fmt.Errorf("read the password of account %s: %w", name, err)
		}
		return mail.Credentials{Kind: mail.AuthBasic, Username: a.Login, Password: pw}, nil
	}
	ts, err := o.OAuth.TokenSource(name)
	if err != nil {
		return mail.Credentials{}, err
	}
	return mail.Credentials{Kind: mail.AuthOAuth2, Username: a.Login, Token: ts.AccessToken}, nil
}

// tokenUser is who the account's token was issued for ("" when unknown).
func (o *Opener) tokenUser(ctx context.Context, name string) (string, error) {
	ts, err := o.OAuth.TokenSource(name)
	if err != nil {
		return "", err
	}
	tok, err := ts.Token(ctx)
	if err != nil {
		return "", err
	}
	if tok.User != "" {
		return tok.User, nil
	}
	if tok.Claims != nil {
		return tok.Claims.User(), nil
	}
	return "", nil
}

// tokenFirst gets an OAuth2 account's access token before any connection:
// a missing or refused token is then reported as such (re-authenticate,
// exit 3) whatever state the server is in, and no server sees a login
// attempt that cannot succeed. The token source keeps the token, so the
// login that follows does not fetch it again.
func tokenFirst(ctx context.Context, creds mail.Credentials) error {
	if creds.Kind != mail.AuthOAuth2 || creds.Token == nil {
		return nil
	}
	_, err := creds.Token(ctx)
	return err
}

// Dial connects an inbound account without authenticating (the diagnosis
// runs the steps one by one).
func (o *Opener) Dial(ctx context.Context, name string) (mail.Inbound, error) {
	a, err := o.Account(name)
	if err != nil {
		return nil, err
	}
	ep, err := o.Endpoint(a)
	if err != nil {
		return nil, err
	}
	// Each adapter's nil *Client is returned as a nil mail.Inbound, never
	// as an interface holding a nil pointer that callers would Close.
	switch a.Protocol {
	case config.IMAP:
		c, err := imap.Dial(ctx, ep)
		if err != nil {
			return nil, err
		}
		return c, nil
	case config.POP3:
		c, err := pop3.Dial(ctx, ep)
		if err != nil {
			return nil, err
		}
		return c, nil
	case config.Microsoft:
		c, err := o.graphClient(ctx, name, a)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("account %s: protocol %s is not an inbound protocol", name, a.Protocol)
}

func (o *Opener) graphClient(ctx context.Context, name string, a *config.Account) (*graph.Client, error) {
	user, err := o.tokenUser(ctx, name)
	if err != nil {
		return nil, err
	}
	ts, err := o.OAuth.TokenSource(name)
	if err != nil {
		return nil, err
	}
	return graph.New(graph.Options{
		BaseURL:    o.GraphURL(a),
		Login:      a.Login,
		TokenUser:  user,
		Token:      ts.AccessToken,
		HTTPClient: o.HTTPClient,
		Timeout:    o.Timeout,
		Trace:      o.Trace,
	})
}

// GraphURL is the Graph root of an account of protocol microsoft: its
// graph_url property, else the Graph of its token config's cloud
// (https://graph.microsoft.us/v1.0 for a token config signing in at
// login.microsoftonline.us), as a token of one cloud is refused by the
// Graph of another.
func (o *Opener) GraphURL(a *config.Account) string {
	if u := a.Property(PropGraphURL, ""); u != "" {
		return u
	}
	return oauth.CloudOf(o.Config.TokenConfigs[a.TokenConfig]).GraphRoot
}

// Inbound connects and authenticates an inbound account.
func (o *Opener) Inbound(ctx context.Context, name string) (mail.Inbound, error) {
	a, err := o.Account(name)
	if err != nil {
		return nil, err
	}
	if a.Type != config.Inbound {
		return nil, fmt.Errorf("account %s is an outbound account; use an inbound one", name)
	}
	creds, err := o.Credentials(name, a)
	if err != nil {
		return nil, err
	}
	if err := tokenFirst(ctx, creds); err != nil {
		return nil, err
	}
	in, err := o.Dial(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := in.Authenticate(ctx, creds); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// Outbound connects and authenticates an outbound account.
func (o *Opener) Outbound(ctx context.Context, name string) (mail.Outbound, error) {
	a, err := o.Account(name)
	if err != nil {
		return nil, err
	}
	if a.Type != config.Outbound {
		return nil, fmt.Errorf("account %s is an inbound account; send needs an outbound one", name)
	}
	creds, err := o.Credentials(name, a)
	if err != nil {
		return nil, err
	}
	if err := tokenFirst(ctx, creds); err != nil {
		return nil, err
	}
	switch a.Protocol {
	case config.SMTP:
		ep, err := o.Endpoint(a)
		if err != nil {
			return nil, err
		}
		c, err := smtp.Dial(ctx, ep)
		if err != nil {
			return nil, err
		}
		if err := c.Authenticate(ctx, creds); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	case config.Microsoft:
		g, err := o.graphClient(ctx, name, a)
		if err != nil {
			return nil, err
		}
		if err := g.Authenticate(ctx, creds); err != nil {
			g.Close()
			return nil, err
		}
		return g, nil
	}
	return nil, fmt.Errorf("account %s: protocol %s cannot send", name, a.Protocol)
}

// IsAuthFailure reports whether err is a server's refusal of credentials.
func IsAuthFailure(err error) bool {
	var ae *mail.AuthError
	return errors.As(err, &ae)
}

// Describe names an account's server for messages: "imap imap.example.com:993 (ssl)".
func Describe(a *config.Account) string {
	host := a.Host
	if a.Protocol == config.Microsoft {
		if u := a.Property(PropGraphURL, ""); u != "" {
			return "microsoft graph " + u
		}
		return "microsoft graph"
	}
	return a.Protocol + " " + host + ":" + strconv.Itoa(a.EffectivePort()) + " (" + a.Encryption + ")"
}
