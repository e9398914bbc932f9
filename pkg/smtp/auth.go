package smtp

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/mailport/mailport/pkg/mail"
)

// Authenticate logs in with the credentials. oauth2 uses XOAUTH2, or
// OAUTHBEARER when the server offers only that; basic uses PLAIN, else
// LOGIN, and is refused over an unencrypted session unless the endpoint
// allows it. A refusal is a *mail.AuthError whose Text is the server's
// reply verbatim, e.g. "535 5.7.139 Authentication unsuccessful, SMTP AUTH
// is disabled for the tenant."; the session stays usable after it.
func (c *Client) Authenticate(ctx context.Context, cr mail.Credentials) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := c.ep.CheckPlaintextAuth(cr); err != nil {
		return err
	}
	offered := c.mechanisms()
	if len(offered) == 0 {
		hint := ""
		if _, ok := c.ext["STARTTLS"]; ok && !c.isTLS {
			hint = " (it offers STARTTLS: use encryption starttls)"
		}
		return fmt.Errorf("%s offers no SMTP AUTH on this connection%s: %w", c.ep.Addr(), hint, ErrMechanismNotOffered)
	}
	has := func(m string) bool {
		for _, o := range offered {
			if o == m {
				return true
			}
		}
		return false
	}

	var client sasl.Client
	var mech string
	switch cr.Kind {
	case mail.AuthOAuth2:
		switch {
		case has(mail.XOAUTH2):
			mech = mail.XOAUTH2
		case has("OAUTHBEARER"):
			mech = "OAUTHBEARER"
		default:
			return fmt.Errorf("%s offers AUTH %s but neither XOAUTH2 nor OAUTHBEARER, so it cannot take an OAuth2 token: %w",
				c.ep.Addr(), strings.Join(offered, " "), ErrMechanismNotOffered)
		}
		if cr.Token == nil {
			return fmt.Errorf("no access token source for %s", cr.Username)
		}
		token, err := cr.Token(ctx)
		if err != nil {
			return fmt.Errorf("get an access token for %s: %w", cr.Username, err)
		}
		c.trace.secret(token)
		if mech == mail.XOAUTH2 {
			client = mail.NewXOAUTH2Client(cr.Username, token)
		} else {
			client = mail.NewOAuthBearerClient(cr.Username, c.ep.Host, c.ep.Port, token)
		}
	case mail.AuthBasic:
		c.trace.secret(cr.Password)
		switch {
		case has("PLAIN"):
			mech, client = "PLAIN", mail.NewPlainClient(cr.Username, cr.Password)
		case has("LOGIN"):
			mech, client = "LOGIN", mail.NewLoginClient(cr.Username, cr.Password)
		default:
			return fmt.Errorf("%s offers AUTH %s but neither PLAIN nor LOGIN, so it cannot take a password: %w",
				c.ep.Addr(), strings.Join(offered, " "), ErrMechanismNotOffered)
		}
	default:
		return fmt.Errorf("unknown authentication kind %q: use basic or oauth2", cr.Kind)
	}
	if err := c.auth(ctx, mech, client); err != nil {
		return err
	}
	c.authed = true
	return nil
}

// mechanisms are the offered SASL mechanisms, upper-cased.
func (c *Client) mechanisms() []string {
	return strings.Fields(strings.ToUpper(c.ext["AUTH"]))
}

// auth runs one RFC 4954 exchange. The initial response goes on the AUTH
// line (every submission server we target accepts it).
func (c *Client) auth(ctx context.Context, mech string, client sasl.Client) error {
	_, ir, err := client.Start()
	if err != nil {
		return fmt.Errorf("start %s: %w", mech, err)
	}
	c.trace.saslPayload(ir)
	line := "AUTH " + mech
	switch {
	case len(ir) > 0:
		line += " " + base64.StdEncoding.EncodeToString(ir)
	case ir != nil:
		line += " ="
	}
	code, msg, err := c.cmdAny(ctx, "AUTH "+mech, "%s", line)
	var challenge string
	for {
		if err != nil {
			return err
		}
		switch {
		case code == 235:
			return nil
		case code == 334:
			ch, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(msg))
			if derr != nil {
				// Not base64: cancel, then the server's verdict is read.
				_, _, _ = c.cmdAny(ctx, "AUTH "+mech, "*")
				return fmt.Errorf("%s sent a challenge that is not base64 during AUTH %s: %q", c.ep.Addr(), mech, msg)
			}
			challenge = string(ch)
			resp, nerr := client.Next(ch)
			if nerr != nil {
				_, _, _ = c.cmdAny(ctx, "AUTH "+mech, "*")
				return fmt.Errorf("AUTH %s with %s: %w", mech, c.ep.Addr(), nerr)
			}
			c.trace.saslPayload(resp)
			code, msg, err = c.cmdAny(ctx, "AUTH "+mech, "%s", base64.StdEncoding.EncodeToString(resp))
		default:
			ae := &mail.AuthError{Mechanism: mech, Text: fmt.Sprintf("%d %s", code, oneLine(msg))}
			// LOGIN's prompts ("Username:") are not error details.
			if mech == mail.XOAUTH2 || mech == "OAUTHBEARER" {
				ae.Challenge = challenge
			}
			return ae
		}
	}
}
