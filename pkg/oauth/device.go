package oauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/mailport/mailport/pkg/config"
)

// DeviceFlowOptions tune the device flow.
type DeviceFlowOptions struct {
	// Scopes to ask for; nil means the token config's.
	Scopes []string
	// Out receives the verification URL and the code; nil discards.
	Out io.Writer
	// Sleep waits between polls; nil means a real, cancellable sleep.
	// Tests replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ErrGoogleDeviceMail explains why Gmail cannot use the device flow.
// Match it with errors.Is; the error returned names the account and the
// token config, and how to switch to the browser flow.
var ErrGoogleDeviceMail = errors.New("the device flow of Google does not allow the Gmail scope https://mail.google.com/, which IMAP, POP and SMTP need")

type googleDeviceMailError struct {
	account, tokenConfig string
	configured           bool // the token config's flow is device
}

func (e *googleDeviceMailError) Error() string {
	account := cmp.Or(e.account, "ACCOUNT")
	if e.configured {
		return fmt.Sprintf("%s: switch token config %s to the browser flow with `mailport token-config edit %s --flow user`, then run `mailport authenticate %s` (with --no-browser on a machine without a browser)",
			ErrGoogleDeviceMail, e.tokenConfig, e.tokenConfig, account)
	}
	return fmt.Sprintf("%s: use the browser flow instead: `mailport authenticate %s` without --device (with --no-browser on a machine without a browser)", ErrGoogleDeviceMail, account)
}

func (e *googleDeviceMailError) Is(target error) bool { return target == ErrGoogleDeviceMail }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DeviceFlow runs the device authorization grant (RFC 8628): it prints the
// verification URL and user code, then polls the token endpoint at the
// interval the server gave, slowing down when told to.
func (c *Client) DeviceFlow(ctx context.Context, opts DeviceFlowOptions) (*Token, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	sleep := opts.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	scopes := opts.Scopes
	if scopes == nil {
		scopes = c.Config.Scopes
	}
	if c.Config.Provider == config.ProviderGoogle && hasScope(scopes, ScopeGoogleMail) {
		return nil, &googleDeviceMailError{account: c.Account, tokenConfig: c.Name, configured: c.Config.Flow == config.FlowDevice}
	}
	if c.Endpoints.DeviceURL == "" {
		return nil, fmt.Errorf("token config %s has no device_url: set it to the provider's device authorization endpoint", c.Name)
	}
	da, err := c.oauth2Config("", scopes).DeviceAuth(c.ctx(ctx))
	if err != nil {
		return nil, fmt.Errorf("starting the device sign-in at %s: %w", c.Endpoints.DeviceURL, c.fromRetrieveError("device", err))
	}
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "To sign in, open %s\n(or open %s and enter the code %s)\n", da.VerificationURIComplete, da.VerificationURI, da.UserCode)
	} else {
		fmt.Fprintf(out, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	}
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628's default
	}
	for {
		if !da.Expiry.IsZero() && time.Now().After(da.Expiry) {
			return nil, fmt.Errorf("the device code expired before the sign-in finished: run mailport authenticate again and enter the new code sooner")
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, fmt.Errorf("device sign-in interrupted: %w", err)
		}
		ot, err := c.postToken(ctx, url.Values{
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {da.DeviceCode},
		})
		if err == nil {
			return fromOAuth2(ot, scopes, "device", c.Config.ClientID, c.Config.IdentityClaim, c.now()), nil
		}
		var pe *ProviderError
		if !errors.As(err, &pe) {
			return nil, err
		}
		switch pe.Code {
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second // RFC 8628 section 3.5
		case "expired_token", "code_expired":
			return nil, fmt.Errorf("the device code expired before the sign-in finished: run mailport authenticate again and enter the new code sooner")
		case "access_denied", "authorization_declined":
			return nil, fmt.Errorf("the device sign-in was declined: %w", pe)
		default:
			return nil, fmt.Errorf("device sign-in failed: %w", pe)
		}
	}
}

// ClientCredentialsToken fetches an app-only token (no user, no refresh
// token).
func (c *Client) ClientCredentialsToken(ctx context.Context, scopes []string) (*Token, error) {
	if scopes == nil {
		scopes = c.Config.Scopes
	}
	ot, err := c.clientCredentials(ctx, scopes)
	if err != nil {
		return nil, fmt.Errorf("getting an app-only token from %s: %w", c.Endpoints.TokenURL, err)
	}
	return fromOAuth2(ot, scopes, "client_credentials", c.Config.ClientID, c.Config.IdentityClaim, c.now()), nil
}
