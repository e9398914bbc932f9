package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// ProviderError is an authorization server's refusal, with its own words:
// the OAuth2 error code, the description (Microsoft's starts with an AADSTS
// code) and, from Microsoft, the numeric error codes.
type ProviderError struct {
	Endpoint    string // "token", "authorize", "device"
	Status      int    // HTTP status (0 for a redirect callback)
	Code        string // RFC 6749 "error", e.g. invalid_grant
	Description string // "error_description", verbatim
	AADSTS      int    // Microsoft's code, from error_codes or the description; 0 when none

	// TokenConfig and Account name the token config whose client was
	// refused and the account it asked for, so that Hint can name them in
	// its commands; "" when unknown. The Client that got the refusal sets
	// them (errors are wrapped with their words fixed, so later is too late).
	TokenConfig string
	Account     string
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

func (e *ProviderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the %s endpoint refused", e.Endpoint)
	if e.Code != "" {
		fmt.Fprintf(&b, " with %s", e.Code)
	} else if e.Status != 0 {
		fmt.Fprintf(&b, " with HTTP %d", e.Status)
	}
	if d := firstLine(e.Description); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	}
	if h := e.Hint(); h != "" {
		fmt.Fprintf(&b, " (%s)", strings.TrimSuffix(h, "."))
	}
	return b.String()
}

// firstLine drops Microsoft's "Trace ID: … Correlation ID: …" tail.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// Hint is our advice for known codes, "" when we have none. For an AADSTS
// code it is the Fix of the code's row in AADSTSTable, naming the account
// and token config (or saying ACCOUNT and TOKENCONFIG when unknown).
func (e *ProviderError) Hint() string {
	if a, ok := AADSTSAdviceFor(e.AADSTS); ok {
		return FillNames(a.Fix, e.Account, e.TokenConfig)
	}
	d := strings.ToLower(e.Description)
	switch {
	case e.Code == "invalid_client" && e.AADSTS == 0:
		return "check the client id and client secret of the token config"
	case e.Code == "redirect_uri_mismatch":
		return "register the redirect URI mailport printed with the app, or set redirect_url to the one registered"
	case e.Code == "access_denied":
		return "the sign-in was cancelled or consent was refused; an administrator may have to grant consent to the app"
	case e.Code == "invalid_scope":
		return "the app is not allowed these scopes; check the token config's scopes and the app's API permissions"
	case e.Code == "invalid_grant" && strings.Contains(d, "code verifier"):
		return "the PKCE verifier did not match; start the sign-in again"
	}
	return ""
}

// parseProviderError turns x/oauth2's RetrieveError (or our own response
// body) into a ProviderError, keeping Microsoft's error_codes.
func parseProviderError(endpoint string, status int, body []byte, fallback *oauth2.RetrieveError) *ProviderError {
	pe := &ProviderError{Endpoint: endpoint, Status: status}
	var j struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if json.Unmarshal(body, &j) == nil && j.Error != "" {
		pe.Code, pe.Description = j.Error, j.Description
		if len(j.Codes) > 0 {
			pe.AADSTS = j.Codes[0]
		}
	} else if v, err := url.ParseQuery(string(body)); err == nil && v.Get("error") != "" {
		pe.Code, pe.Description = v.Get("error"), v.Get("error_description")
	} else if fallback != nil {
		pe.Code, pe.Description = fallback.ErrorCode, fallback.ErrorDescription
	} else {
		pe.Description = strings.TrimSpace(string(body))
		if len(pe.Description) > 200 {
			pe.Description = pe.Description[:runeStart(pe.Description, 200)] + "…"
		}
	}
	if pe.AADSTS == 0 {
		pe.AADSTS = aadstsOf(pe.Description)
	}
	// An error code is one short word; a provider's (or a proxy's) odd
	// answer must not break the one-line error it ends up in.
	pe.Code = oneLine(pe.Code, 100)
	return pe
}

// oneLine turns control characters into spaces and cuts s to at most max
// bytes at a character boundary, marking the cut with "…".
func oneLine(s string, max int) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s))
	if len(s) <= max {
		return s
	}
	return s[:runeStart(s, max)] + "…"
}

// runeStart is the start of the character at byte i of s (len(s) > i),
// so that s[:runeStart(s, i)] does not split a character.
func runeStart(s string, i int) int {
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

func aadstsOf(s string) int {
	if m := aadstsRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1]) // the regexp guarantees digits
		return n
	}
	return 0
}

// fromRetrieveError converts an x/oauth2 error of client c; other errors
// pass through.
func (c *Client) fromRetrieveError(endpoint string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		pe := parseProviderError(endpoint, status, re.Body, re)
		pe.TokenConfig, pe.Account = c.Name, c.Account
		return pe
	}
	return err
}

// AuthRequiredError means the account has to be (re-)authenticated by a
// person: no token is stored, or the provider refused the refresh token.
// Commands map it to exit code 3.
type AuthRequiredError struct {
	Account string
	// Reauth is true when a token existed but can no longer be used.
	Reauth bool
	// Cause names why, in words a support person can act on ("" when unknown).
	Cause string
	// Provider is the provider's refusal, when there was one.
	Provider *ProviderError
}

func (e *AuthRequiredError) Error() string {
	var b strings.Builder
	if e.Reauth {
		fmt.Fprintf(&b, "account %s must sign in again", e.Account)
	} else {
		fmt.Fprintf(&b, "account %s is not authenticated", e.Account)
	}
	if e.Cause != "" {
		fmt.Fprintf(&b, ": %s", e.Cause)
	}
	if e.Provider != nil {
		if d := firstLine(e.Provider.Description); d != "" {
			fmt.Fprintf(&b, " (provider said: %s)", d)
		} else if e.Provider.Code != "" {
			fmt.Fprintf(&b, " (provider said: %s)", e.Provider.Code)
		}
	}
	fmt.Fprintf(&b, "; run: mailport authenticate %s", e.Account)
	return b.String()
}

// IsAuthRequired reports whether err means a person must run
// `mailport authenticate` (exit code 3).
func IsAuthRequired(err error) bool {
	var e *AuthRequiredError
	return errors.As(err, &e)
}

// reauthCodes are the token endpoint errors that only a new sign-in fixes.
var reauthCodes = map[string]bool{
	"invalid_grant":        true,
	"interaction_required": true,
	"consent_required":     true,
	"login_required":       true,
}

// reauthCause explains a refused refresh token, when we know why.
func reauthCause(pe *ProviderError, provider string) string {
	switch pe.AADSTS {
	case 70043:
		return "the refresh token expired under a Conditional Access sign-in frequency policy (AADSTS70043)"
	case 700082:
		return "the refresh token expired after 90 days without use (AADSTS700082)"
	case 700084:
		return "the refresh token issued to a single-page app expired after 24 hours (AADSTS700084)"
	case 50173:
		return "the grant was revoked, usually because the user's password changed or an admin revoked sessions (AADSTS50173)"
	case 70008:
		return "the refresh token expired (AADSTS70008)"
	case 70000:
		return "the refresh token is no longer valid, most likely revoked (AADSTS70000)"
	case 50076, 50079:
		return "multi-factor authentication is now required"
	case 65001:
		return "consent to the app was withdrawn or never granted"
	}
	d := strings.ToLower(pe.Description)
	if provider == "google" || strings.Contains(d, "expired or revoked") {
		return "Google refused the refresh token as expired or revoked: when the app's OAuth consent screen is in Testing mode Google expires refresh tokens after 7 days (publish the app to stop this); otherwise the user removed the app's access or changed their password"
	}
	if strings.Contains(d, "revoked") {
		return "the refresh token was revoked"
	}
	if strings.Contains(d, "expired") {
		return "the refresh token expired"
	}
	return "the provider refused the refresh token"
}
