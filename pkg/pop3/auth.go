package pop3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/mailport/mailport/pkg/mail"
)

// TwoLineProperty is the account property that chooses the XOAUTH2 form:
// "true" (the default) sends "AUTH XOAUTH2" and the response after the
// server's "+"; "false" sends both on one line.
const TwoLineProperty = "pop3.xoauth2.two_line"

// maxCommand is RFC 2449's limit on a command line, CRLF included.
const maxCommand = 255

// Authenticate logs in. Basic credentials use AUTH PLAIN when the server
// offers it and USER/PASS otherwise, and are refused over an unencrypted
// connection unless the endpoint allows it. OAuth2 credentials use XOAUTH2.
// A refusal is a *mail.AuthError whose Text is the server's -ERR line,
// verbatim, and whose Challenge is the decoded error challenge, if any.
func (c *Client) Authenticate(ctx context.Context, cr mail.Credentials) error {
	if c.authed {
		return errors.New("pop3: already authenticated")
	}
	var err error
	switch cr.Kind {
	case mail.AuthBasic:
		if err := c.ep.CheckPlaintextAuth(cr); err != nil {
			return err
		}
		c.secret(cr.Password)
		if _, err := c.Capabilities(ctx); err != nil {
			return err
		}
		if c.has("SASL PLAIN") {
			err = c.authSASL(ctx, mail.NewPlainClient(cr.Username, cr.Password), true)
		} else {
			err = c.userPass(ctx, cr.Username, cr.Password)
		}
	case mail.AuthOAuth2:
		if cr.Token == nil {
			return errors.New("pop3: oauth2 credentials without a token source")
		}
		twoLine, perr := c.twoLine()
		if perr != nil {
			return perr
		}
		if _, err := c.Capabilities(ctx); err != nil {
			return err
		}
		// A server that lists its mechanisms and not XOAUTH2 would refuse
		// it with words that hide the cause; say it plainly instead.
		if ms := c.saslMechanisms(); len(ms) > 0 && !slices.Contains(ms, mail.XOAUTH2) {
			return fmt.Errorf("pop3: %s does not offer SASL XOAUTH2 (it offers %s): %w", c.ep.Addr(), strings.Join(ms, ", "), mail.ErrUnsupported)
		}
		token, terr := cr.Token(ctx)
		if terr != nil {
			return fmt.Errorf("pop3: get an access token for %s: %w", cr.Username, terr)
		}
		c.secret(token)
		err = c.authSASL(ctx, mail.NewXOAUTH2Client(cr.Username, token), !twoLine)
	default:
		return fmt.Errorf("pop3: unknown authorisation type %q", cr.Kind)
	}
	if err != nil {
		return err
	}
	c.authed = true
	c.capsOK = false // RFC 2449: capabilities may differ after login
	return nil
}

func (c *Client) twoLine() (bool, error) {
	v, ok := c.ep.Properties[TwoLineProperty]
	if !ok || v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("pop3: the property %s must be true or false, not %q", TwoLineProperty, v)
	}
	return b, nil
}

func (c *Client) userPass(ctx context.Context, user, password string) error {
	return c.op(ctx, "USER/PASS", func() error {
		for _, cmd := range []string{"USER " + user, "PASS " + password} {
			if _, err := c.simple(cmd); err != nil {
				var perr *Error
				if errors.As(err, &perr) {
					return &mail.AuthError{Mechanism: "USER/PASS", Text: perr.Text}
				}
				return err
			}
		}
		return nil
	})
}

// authSASL runs RFC 5034 AUTH. With oneLine the initial response goes on the
// command line (unless that would pass the 255-octet limit, for PLAIN);
// otherwise it follows the server's first "+".
func (c *Client) authSASL(ctx context.Context, client sasl.Client, oneLine bool) error {
	mech, ir, err := client.Start()
	if err != nil {
		return fmt.Errorf("pop3: start %s: %w", mech, err)
	}
	c.ctrace.SASLPayload(ir)
	c.strace.SASLPayload(ir)
	enc := base64.StdEncoding.EncodeToString(ir)
	cmd := "AUTH " + mech
	if oneLine && mech != mail.XOAUTH2 && len(cmd)+1+len(enc)+2 > maxCommand {
		oneLine = false
	}
	return c.op(ctx, cmd, func() error {
		line, sentIR := cmd, oneLine
		if oneLine {
			if len(ir) == 0 {
				line += " =" // RFC 5034: an empty initial response
			} else {
				line += " " + enc
			}
		}
		if err := c.send(line); err != nil {
			return err
		}
		if err := c.flush(); err != nil {
			return err
		}
		var challenge string
		for round := 0; ; round++ {
			c.dc.awaitReply()
			reply, err := c.readLine(cmd)
			if err != nil {
				return err
			}
			switch {
			case reply == "+OK" || strings.HasPrefix(reply, "+OK "):
				return nil
			case strings.HasPrefix(reply, "-ERR"):
				return &mail.AuthError{Mechanism: mech, Text: reply, Challenge: challenge}
			case (reply == "+" || strings.HasPrefix(reply, "+ ")) && round < 8:
				var resp []byte
				if !sentIR {
					resp, sentIR = ir, true
				} else {
					data := strings.TrimSpace(reply[1:])
					challenge = mail.DecodeChallenge(data)
					if resp, err = client.Next([]byte(challenge)); err != nil {
						// "*" cancels the exchange; the server answers -ERR.
						if err := c.send("*"); err != nil {
							return err
						}
						if err := c.flush(); err != nil {
							return err
						}
						c.dc.awaitReply()
						if _, rerr := c.readLine(cmd); rerr != nil {
							return rerr
						}
						return fmt.Errorf("pop3: %s: %w", cmd, err)
					}
				}
				if err := c.send(base64.StdEncoding.EncodeToString(resp)); err != nil {
					return err
				}
				if err := c.flush(); err != nil {
					return err
				}
			default:
				return c.fail(fmt.Errorf("pop3: %s: unexpected reply from the server: %q", cmd, reply))
			}
		}
	})
}
