package imap

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"github.com/mailport/mailport/pkg/mail"
)

// Capabilities lists the server's capabilities, upper-cased and sorted,
// e.g. "AUTH=XOAUTH2", "IMAP4REV1", "MOVE", "STARTTLS". Before
// authentication they are the pre-login set (often with AUTH= entries);
// afterwards the server's full set.
func (c *Client) Capabilities(ctx context.Context) ([]string, error) {
	caps, err := c.caps(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(caps))
	for cp := range caps {
		out = append(out, strings.ToUpper(string(cp)))
	}
	sort.Strings(out)
	return out, nil
}

// caps returns imapclient's cached capability set, asking the server when
// none is cached (imapclient drops it after STARTTLS and login).
func (c *Client) caps(ctx context.Context) (imap.CapSet, error) {
	var caps imap.CapSet
	err := c.step(ctx, "CAPABILITY", func() error {
		caps = c.c.Caps()
		if caps != nil {
			return nil
		}
		var err error
		caps, err = c.c.Capability().Wait()
		return err
	})
	return caps, err
}

// Authenticate logs in with c:
//   - basic: LOGIN, or AUTHENTICATE PLAIN when the server says LOGINDISABLED;
//     refused over an unencrypted connection unless the endpoint allows it;
//   - oauth2: AUTHENTICATE XOAUTH2, or OAUTHBEARER when only that is offered,
//     with the initial response inline when the server offers SASL-IR.
//
// A refusal (NO or BAD) is a *mail.AuthError carrying the server's words and
// any challenge it sent (XOAUTH2 servers send JSON naming the status and
// scope). After a refusal the connection is closed: servers differ in what
// state they leave a failed SASL exchange in, and a hang is worse than a
// reconnect.
func (c *Client) Authenticate(ctx context.Context, cr mail.Credentials) error {
	switch cr.Kind {
	case mail.AuthBasic:
		if err := c.ep.CheckPlaintextAuth(cr); err != nil {
			return err
		}
		c.secret(cr.Password)
		caps, err := c.caps(ctx)
		if err != nil {
			return err
		}
		if caps.Has(imap.CapLoginDisabled) {
			return c.authenticate(ctx, mail.NewPlainClient(cr.Username, cr.Password))
		}
		err = c.step(ctx, "LOGIN", func() error { return c.c.Login(cr.Username, cr.Password).Wait() })
		return c.authFailure(err, "LOGIN", "")
	case mail.AuthOAuth2:
		if cr.Token == nil {
			return fmt.Errorf("imap: no access token source for %s", cr.Username)
		}
		token, err := cr.Token(ctx)
		if err != nil {
			return fmt.Errorf("imap: get an access token for %s: %w", cr.Username, err)
		}
		c.secret(token)
		caps, err := c.caps(ctx)
		if err != nil {
			return err
		}
		switch {
		case caps.Has(imap.AuthCap(mail.XOAUTH2)):
			return c.authenticate(ctx, mail.NewXOAUTH2Client(cr.Username, token))
		case caps.Has(imap.AuthCap(sasl.OAuthBearer)):
			return c.authenticate(ctx, mail.NewOAuthBearerClient(cr.Username, c.ep.Host, c.ep.Port, token))
		}
		return fmt.Errorf("imap: %s offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER, so it cannot take an OAuth2 token: %w", c.ep.Addr(), mail.ErrUnsupported)
	}
	return fmt.Errorf("imap: unknown authorisation type %q", cr.Kind)
}

// authenticate runs one SASL exchange.
func (c *Client) authenticate(ctx context.Context, client sasl.Client) error {
	mech, _, err := client.Start()
	if err != nil {
		return fmt.Errorf("imap: start %s: %w", mech, err)
	}
	tc := &tracedSASL{Client: client, c: c}
	c.conn.emptySASL.Store(true)
	err = c.step(ctx, "AUTHENTICATE "+mech, func() error { return c.c.Authenticate(tc) })
	c.conn.emptySASL.Store(false)
	var challenge string
	switch cl := client.(type) {
	case *mail.XOAUTH2Client:
		challenge = cl.Challenge
	case *mail.OAuthBearerClient:
		challenge = cl.Challenge
	}
	return c.authFailure(err, mech, challenge)
}

// authFailure turns a NO or BAD answer into a *mail.AuthError and closes
// the connection after any failure.
func (c *Client) authFailure(err error, mech, challenge string) error {
	if err == nil {
		return nil
	}
	c.abort()
	var ie *imap.Error
	if errors.As(err, &ie) {
		// The server's words, cut to maxWords: a refusal is one
		// sentence, not the megabyte a hostile server may send.
		return &mail.AuthError{Mechanism: mech, Text: truncate(statusText(ie), maxWords), Challenge: truncate(challenge, maxWords)}
	}
	return err
}

// statusText rebuilds the server's status response without the tag:
// "NO [AUTHENTICATIONFAILED] AUTHENTICATE failed.".
func statusText(ie *imap.Error) string {
	s := string(ie.Type)
	if ie.Code != "" {
		s += " [" + string(ie.Code) + "]"
	}
	if ie.Text != "" {
		s += " " + ie.Text
	}
	return s
}

func isIMAPError(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie)
}

func (c *Client) secret(values ...string) {
	if c.red != nil {
		c.red.Secret(values...)
	}
}

// tracedSASL registers every payload it sends as a secret before imapclient
// writes it, so the transcript never shows one.
type tracedSASL struct {
	sasl.Client
	c *Client
}

func (t *tracedSASL) Start() (string, []byte, error) {
	mech, ir, err := t.Client.Start()
	if t.c.red != nil {
		t.c.red.SASLPayload(ir)
	}
	return mech, ir, err
}

func (t *tracedSASL) Next(challenge []byte) ([]byte, error) {
	resp, err := t.Client.Next(challenge)
	if t.c.red != nil {
		t.c.red.SASLPayload(resp)
	}
	return resp, err
}
