package diagnose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/resolver"
	"github.com/mailport/mailport/pkg/secret"
)

// checkConfig: enabled, protocol × auth × direction, token config,
// tenant, scopes, secret expiry, encryption and port.
func (r *runner) checkConfig(ctx context.Context, c *Check) {
	a := r.acct
	var saw []string
	if a.Enabled {
		saw = append(saw, "enabled")
	} else {
		saw = append(saw, "disabled")
		ev := r.evidence("config")
		ev.Reason = "disabled"
		r.find(c, Fail, ev, "", "")
	}
	saw = append(saw, fmt.Sprintf("%s %s with %s", a.Type, a.Protocol, authWords(a.Auth)))

	// The validator's problems, when the file did not validate; else the
	// same rules, for the engine's callers that did not validate it. Both
	// at once would say each problem twice in other words.
	problems := dedupe(r.opts.ConfigProblems)
	if len(problems) == 0 {
		problems = dedupe(r.consistency())
	}
	for _, p := range problems {
		ev := r.evidence("config")
		ev.Reason, ev.Text = "invalid", p
		ev.own = true
		if dir := r.unsupportedDirection(); dir != "" && (strings.Contains(p, "does not support inbound") || strings.Contains(p, "does not support outbound")) {
			// One statement: which direction, which token config, the fix
			// `mailport authenticate` names too.
			ev.Reason = "direction"
			r.find(c, Fail, ev, "", "")
			f := &c.Findings[len(c.Findings)-1]
			f.Cause = fmt.Sprintf("Account %s is %s, but its token config %s has %s: false, so it may not be used for this account (mailport authenticate refuses it too).", r.name, a.Type, a.TokenConfig, dir)
			f.Fix = fmt.Sprintf("Set %s: true on the token config with `mailport token-config edit %s --%s=true`, or point the account at another token config with `mailport account edit %s --token-config ...`.", dir, a.TokenConfig, dir, r.name)
			continue
		}
		r.find(c, Fail, ev, "The configuration says: "+p+".", "")
	}
	if len(problems) > 0 {
		r.block(needConfig, "the configuration must be fixed first")
		c.Saw = strings.Join(saw, "; ")
		return
	}

	if r.tc != nil {
		tc := r.tc
		saw = append(saw, fmt.Sprintf("token config %s (%s, %s flow)", a.TokenConfig, tc.Provider, flowOf(tc)))
		_, warnings, err := oauth.ResolveEndpoints(tc)
		if err != nil {
			ev := r.evidence("config")
			ev.Reason, ev.Text = "invalid", err.Error()
			ev.own = true
			r.find(c, Fail, ev, "The token config's endpoints are unusable: "+err.Error()+".", "")
			r.block(needCreds, "the token config's endpoints are unusable")
		}
		for _, w := range warnings {
			ev := r.evidence("config")
			ev.Reason, ev.Text = "tenant", w
			ev.own = true
			r.find(c, Warn, ev, "", "")
		}
		if w := oauth.CredentialExpiryWarning(a.TokenConfig, tc, r.now()); w != "" {
			st := Warn
			if strings.Contains(w, "expired on") {
				st = Fail
			}
			ev := r.evidence("config")
			ev.Reason, ev.Text = "secret-expiry", w
			if tc.CredentialKind() == config.CredentialCertificate {
				ev.Reason = "certificate-expiry"
			}
			ev.own = true
			r.find(c, st, ev, "", "")
			// The warning's remedy is the entry's fix; its fact is the cause.
			fact, _, _ := strings.Cut(w, ": ")
			ownCause(c, upperFirst(fact)+"; once it has expired, Microsoft refuses every token request of the token config, and every account using it stops.")
		} else if tc.SecretExpires != "" {
			saw = append(saw, "client secret valid until "+tc.SecretExpires)
		}
		if err := oauth.CheckScopes(a.TokenConfig, tc, a); err != nil {
			ev := r.evidence("config")
			ev.Reason, ev.Text = "scopes", err.Error()
			ev.own = true
			r.find(c, Fail, ev, "", "")
			f := &c.Findings[len(c.Findings)-1]
			f.Cause, f.Fix = r.scopeFinding(err)
		}
		if tc.Provider == config.ProviderGoogle && flowOf(tc) == config.FlowDevice && a.Protocol != config.Microsoft {
			// What `mailport authenticate` refuses before it starts.
			ev := r.evidence("config")
			ev.Reason, ev.Text = "google-device", oauth.ErrGoogleDeviceMail.Error()
			ev.own = true
			r.find(c, Fail, ev, "", "")
		}
	}
	if a.Protocol != config.Microsoft {
		saw = append(saw, fmt.Sprintf("port %d %s", a.EffectivePort(), a.Encryption))
		if reason, want := portMismatch(a); reason != "" {
			ev := r.evidence("config")
			ev.Reason = reason
			r.find(c, Warn, ev, "", "")
			// One statement: the catalog's cause tells what the TLS check
			// saw; here nothing was tried yet.
			conseq := "so mailport would wait for a greeting while the server waits for a TLS handshake"
			if reason == "plain-on-tls-port" {
				conseq = "so the TLS handshake would meet a plain-text greeting"
			}
			ownCause(c, fmt.Sprintf("Port %d usually %s, but the account says encryption %s, %s.", a.EffectivePort(), want, a.Encryption, conseq))
		}
		if a.Encryption == config.None && a.Auth == config.AuthBasic && !r.ep.AllowPlaintextAuth {
			ev := r.evidence("config")
			ev.Reason = "plaintext"
			r.find(c, Fail, ev, "", "")
			r.block(needCreds, "a password would travel without encryption")
		}
	}
	c.Saw = strings.Join(saw, "; ")
}

// consistency repeats the validation rules that concern this account, for
// configurations that were not validated (the engine's own callers).
func (r *runner) consistency() []string {
	a := r.acct
	var out []string
	switch {
	case a.Type == config.Inbound && a.Protocol == config.SMTP:
		out = append(out, "protocol smtp sends mail; an inbound account uses imap, pop3 or microsoft")
	case a.Type == config.Outbound && (a.Protocol == config.IMAP || a.Protocol == config.POP3):
		out = append(out, fmt.Sprintf("protocol %s receives mail; an outbound account uses smtp or microsoft", a.Protocol))
	}
	if a.Protocol == config.Microsoft && a.Auth != config.AuthOAuth2 {
		out = append(out, "protocol microsoft (Graph) needs auth oauth2")
	}
	if a.Auth == config.AuthOAuth2 {
		tc, ok := r.opts.Opener.Config.TokenConfigs[a.TokenConfig]
		switch {
		case a.TokenConfig == "":
			out = append(out, "auth oauth2 needs a token config")
		case !ok || tc == nil:
			out = append(out, fmt.Sprintf("token config %q does not exist", a.TokenConfig))
		case a.Type == config.Inbound && !tc.Inbound:
			out = append(out, fmt.Sprintf("token config %q does not support inbound mail; set inbound: true on it or pick another", a.TokenConfig))
		case a.Type == config.Outbound && !tc.Outbound:
			out = append(out, fmt.Sprintf("token config %q does not support outbound mail; set outbound: true on it or pick another", a.TokenConfig))
		case a.Protocol == config.Microsoft && tc.Provider != config.ProviderMicrosoft:
			out = append(out, fmt.Sprintf("token config %q is a %s token config; protocol microsoft (Graph) needs a microsoft one", a.TokenConfig, tc.Provider))
		}
	}
	return out
}

// unsupportedDirection is "inbound" or "outbound" when the account's
// token config has the account's direction switched off, else "".
func (r *runner) unsupportedDirection() string {
	a := r.acct
	tc := r.opts.Opener.Config.TokenConfigs[a.TokenConfig]
	switch {
	case a.Auth != config.AuthOAuth2 || tc == nil:
	case a.Type == config.Inbound && !tc.Inbound:
		return "inbound"
	case a.Type == config.Outbound && !tc.Outbound:
		return "outbound"
	}
	return ""
}

// scopeFinding splits a token config's scope problem into its cause and
// the fix `mailport authenticate` names, followed by the authentication.
func (r *runner) scopeFinding(err error) (cause, fix string) {
	msg := strings.TrimSuffix(err.Error(), ".")
	var se *oauth.ScopeError
	if errors.As(err, &se) {
		head := fmt.Sprintf("token config %s cannot serve an account of protocol %s: %s", se.TokenConfig, se.Protocol, se.Reason)
		if rest, ok := strings.CutPrefix(msg, head+"; "); ok {
			// rest: "add|use SCOPES ... (mailport token-config edit ...)"
			if i := strings.Index(rest, " (mailport "); i >= 0 && strings.HasSuffix(rest, ")") {
				rest = rest[:i] + ": `" + rest[i+2:len(rest)-1] + "`"
			}
			return upperFirst(head) + ".", upperFirst(rest) + fmt.Sprintf(", then run `mailport authenticate %s`.", r.name)
		}
	}
	return upperFirst(msg) + ".", fmt.Sprintf("Correct the scopes with `mailport token-config edit %s --scopes \"...\"`, then run `mailport authenticate %s`.", r.acct.TokenConfig, r.name)
}

// ownCause replaces the cause of the check's last finding with the
// check's own, which says with the account's specifics what the catalog
// entry says in general: one statement, not both.
func ownCause(c *Check, cause string) {
	c.Findings[len(c.Findings)-1].Cause = cause
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		k := strings.ToLower(strings.TrimSpace(s))
		// The validator's and our wording differ only in prefixes.
		k = strings.TrimPrefix(k, "accounts.")
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

func authWords(auth string) string {
	if auth == config.AuthOAuth2 {
		return "OAuth2"
	}
	return "a password"
}

func flowOf(tc *config.TokenConfig) string {
	if tc.Flow == "" {
		return config.FlowUser
	}
	return tc.Flow
}

// portMismatch flags a well-known port used with the other encryption.
func portMismatch(a *config.Account) (reason, want string) {
	p := a.EffectivePort()
	switch {
	case (p == 993 || p == 995 || p == 465) && a.Encryption != config.SSL:
		return "tls-on-plain-port", "speaks TLS from the start (encryption ssl)"
	case (p == 143 || p == 110 || p == 587 || p == 25) && a.Encryption == config.SSL:
		return "plain-on-tls-port", "starts in plain text (encryption starttls)"
	}
	return "", ""
}

// checkSecrets: the password, or the client secret and token, and where
// each comes from.
func (r *runner) checkSecrets(ctx context.Context, c *Check) {
	o := r.opts.Opener
	a := r.acct
	if a.Auth == config.AuthBasic {
		_, src, err := o.Secrets.Password(r.name)
		switch {
		case err == nil:
			c.Saw = "password from the " + sourceWords(src)
		case secret.IsNotFound(err):
			c.Saw = "no password"
			ev := r.evidence("secrets")
			ev.Reason = "no-password"
			r.find(c, Fail, ev, "", "")
			ownCause(c, fmt.Sprintf("No password in the secret store and %s is not set.", secret.EnvName(secret.EnvPasswordPrefix, r.name)))
			r.block(needCreds, "there is no password")
			r.report.Reauth = true
		default:
			c.Saw = "the secret store cannot be read"
			ev := r.evidence("secrets")
			ev.Text, ev.Reason = err.Error(), "store"
			r.find(c, Fail, ev, "The secret store could not be read: "+err.Error()+".", "Use --secrets file (or MAILPORT_SECRETS=file) when no desktop keyring is available.")
			r.block(needCreds, "the secret store cannot be read")
		}
		if err == nil {
			creds, cerr := o.Credentials(r.name, a)
			if cerr == nil {
				r.creds = creds
			}
		}
		return
	}
	if r.tc == nil {
		return
	}
	var saw []string
	_, src, err := o.Secrets.ClientSecret(a.TokenConfig)
	assertion := r.tc.CredentialKind() != config.CredentialSecret && o.OAuth != nil
	if assertion {
		// A certificate or a federated token stands in for the secret.
		s, cerr := o.OAuth.CredentialSaw(a.TokenConfig, r.tc)
		if cerr != nil {
			ev := r.evidence("secrets")
			ev.Text, ev.Reason = cerr.Error(), "credential"
			ev.own = true
			r.find(c, Fail, ev, upperFirst(cerr.Error())+".", "")
			r.block(needCreds, "the token config's credential is unusable")
			s = "no usable " + r.tc.CredentialKind() + " credential"
		}
		saw = append(saw, s)
	}
	serviceAccount := r.tc.Flow == config.FlowServiceAccount
	switch {
	case assertion:
	case err == nil && serviceAccount:
		saw = append(saw, "service account key from the "+sourceWords(src))
	case secret.IsNotFound(err) && serviceAccount:
		ev := r.evidence("secrets")
		ev.Reason = "no-service-account-key"
		r.find(c, Fail, ev, "", "")
		r.block(needCreds, "the token config has no service account key")
		saw = append(saw, "no service account key")
	case err == nil:
		saw = append(saw, "client secret from the "+sourceWords(src))
	case secret.IsNotFound(err) && r.tc.Flow == config.FlowClientCredentials:
		ev := r.evidence("secrets")
		ev.Reason = "no-client-secret"
		r.find(c, Fail, ev, "", "")
		r.block(needCreds, "the token config has no client secret")
		saw = append(saw, "no client secret")
	case secret.IsNotFound(err):
		saw = append(saw, "no client secret (a public client)")
	default:
		ev := r.evidence("secrets")
		ev.Text, ev.Reason = err.Error(), "store"
		r.find(c, Fail, ev, "The secret store could not be read: "+err.Error()+".", "Use --secrets file (or MAILPORT_SECRETS=file) when no desktop keyring is available.")
		r.block(needCreds, "the secret store cannot be read")
	}
	switch {
	case r.tc.Flow == config.FlowClientCredentials:
		saw = append(saw, "app-only tokens are fetched on demand")
	case serviceAccount:
		saw = append(saw, "tokens for "+r.acct.Login+" are fetched on demand")
	default:
		src, err := o.Secrets.TokenSource(r.name)
		switch {
		case err != nil:
			ev := r.evidence("secrets")
			ev.Text, ev.Reason = err.Error(), "store"
			r.find(c, Fail, ev, "The secret store could not be read: "+err.Error()+".", "Use --secrets file (or MAILPORT_SECRETS=file) when no desktop keyring is available.")
			r.block(needCreds, "the secret store cannot be read")
		case src == secret.SourceNotSet:
			saw = append(saw, "no token")
			ev := r.evidence("secrets")
			ev.Reason = "no-token"
			r.find(c, Fail, ev, "", "")
			r.block(needCreds, "the account is not authenticated")
			r.report.Reauth = true
		case src == secret.SourceEnv:
			saw = append(saw, "refresh token from "+secret.EnvName(secret.EnvRefreshTokenPrefix, r.name))
		default:
			saw = append(saw, "token from the "+sourceWords(src))
		}
	}
	c.Saw = strings.Join(saw, "; ")
}

func sourceWords(s secret.Source) string {
	switch s {
	case secret.SourceEnv:
		return "environment"
	case secret.SourceKeyring:
		return "keyring"
	case secret.SourceFile:
		return "secrets file"
	}
	return string(s) + " store"
}

// forceRefresh is a skew no token outlives, so the token source refreshes:
// the only proof that the refresh token still works.
const forceRefresh = 100 * 365 * 24 * time.Hour

// checkToken gets a current token, refreshing it at the provider.
func (r *runner) checkToken(ctx context.Context, c *Check) {
	o := r.opts.Opener
	ts, err := o.OAuth.TokenSource(r.name)
	if err != nil {
		ev := r.evidence("token")
		ev.Text = err.Error()
		r.tokenFailure(c, ev, err)
		return
	}
	refreshed := true
	stored, lerr := oauth.LoadToken(o.Secrets.Store, r.name)
	if ts.Override != "" || r.tc.Flow == config.FlowClientCredentials || r.tc.Flow == config.FlowServiceAccount {
		ts.Skew = forceRefresh
	} else if lerr == nil && stored.ReauthCause == "" {
		if stored.RefreshToken != "" {
			ts.Skew = forceRefresh
		} else {
			refreshed = false
			if stored.Valid(r.now(), oauth.DefaultSkew) {
				ev := r.evidence("token")
				ev.Reason = "no-refresh-token"
				r.find(c, Warn, ev, "", "")
				ownCause(c, fmt.Sprintf("There is no refresh token, so the access token is used until it expires at %s, after which the account must authenticate again. Google sends a refresh token only on the first consent; Microsoft only when offline_access is among the scopes.", stored.Expiry.Local().Format(time.RFC3339)))
			}
		}
	}
	sctx, cancel := r.stepCtx(ctx)
	defer cancel()
	tok, err := ts.Token(sctx)
	if err != nil {
		ev := r.evidence("token")
		r.tokenFailure(c, ev, err)
		return
	}
	r.token = tok
	r.creds, _ = o.Credentials(r.name, r.acct)
	// The adapters must use the token just proved, not refresh again.
	r.creds.Token = func(context.Context) (string, error) { return tok.AccessToken, nil }
	var saw []string
	switch {
	case r.tc.Flow == config.FlowClientCredentials:
		saw = append(saw, "app-only token issued")
	case r.tc.Flow == config.FlowServiceAccount:
		saw = append(saw, "service account token issued")
	case refreshed:
		saw = append(saw, "refreshed at the provider")
	default:
		saw = append(saw, "stored access token")
	}
	if tok.User != "" {
		saw = append(saw, "user "+tok.User)
	}
	if !tok.Expiry.IsZero() {
		saw = append(saw, "valid for "+roundDuration(tok.Expiry.Sub(r.now())))
	}
	c.Saw = strings.Join(saw, "; ")
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// tokenFailure reports a refused refresh, or any other token error.
func (r *runner) tokenFailure(c *Check, ev *Evidence, err error) {
	r.block(needCreds, "there is no usable token")
	var ar *oauth.AuthRequiredError
	var pe *oauth.ProviderError
	if errors.As(err, &ar) {
		r.report.Reauth = true
		pe = ar.Provider
		if pe == nil {
			ev.Text = ar.Cause
			ev.own = true
			if strings.Contains(ar.Cause, "no refresh token") {
				ev.Reason = "no-refresh-token"
			}
			if strings.Contains(ar.Cause, "Google refused the refresh token") {
				ev.OAuthCode = "invalid_grant"
			}
		}
	}
	if pe != nil || errors.As(err, &pe) {
		ev.Text = pe.Description
		if i := strings.IndexAny(ev.Text, "\r\n"); i >= 0 {
			ev.Text = ev.Text[:i]
		}
		if pe.Code != "" {
			ev.Text = strings.TrimSpace(pe.Code + ": " + ev.Text)
		}
		ev.AADSTS, ev.OAuthCode = pe.AADSTS, pe.Code
	}
	if ev.AADSTS == 0 {
		if m := aadstsRE.FindStringSubmatch(ev.Text); m != nil {
			ev.AADSTS, _ = strconv.Atoi(m[1])
		}
	}
	if ev.Text == "" {
		ev.Text = err.Error()
		ev.own = true
	}
	c.Saw = "no usable token"
	// The provider's words are above and the catalog's cause explains
	// them: mailport's own paraphrase of the refusal would say it twice.
	if e := r.find(c, Fail, ev, "", ""); e == nil {
		f := &c.Findings[len(c.Findings)-1]
		f.Cause = "No usable token: " + err.Error() + "."
		if ar != nil {
			f.Fix = fmt.Sprintf("Run `mailport authenticate %s`.", r.name)
		}
	}
}

// checkScopes checks the token against the protocol: audience and scopes
// of a JWT, the granted scopes of an opaque one, and the user.
func (r *runner) checkScopes(ctx context.Context, c *Check) {
	tok := r.token
	if tok == nil {
		c.Status, c.Saw = Skip, "skipped: there is no usable token"
		return
	}
	a := r.acct
	var saw []string
	user := tok.User
	if tok.Claims != nil && len(tok.Claims.Audience) > 0 {
		cl := tok.Claims
		saw = append(saw, "audience "+strings.Join(cl.Audience, " "))
		granted := cl.Scopes
		if len(cl.Roles) > 0 {
			granted = cl.Roles
			saw = append(saw, "roles "+strings.Join(cl.Roles, " "))
		} else {
			saw = append(saw, "scopes "+strings.Join(cl.Scopes, " "))
		}
		if user == "" {
			user = cl.User()
		}
		cloud := oauth.CloudOf(r.tc)
		if r.tc.Provider != config.ProviderMicrosoft {
			// A generic token config may still get Microsoft's tokens:
			// their audience is the evidence.
			cloud = microsoftCloudOf(cl.Audience)
		}
		if cloud != nil {
			r.microsoftFit(c, cloud, "audience", cl.Audience, granted, len(cl.Roles) > 0, user)
		}
	} else {
		scopes := tok.Scopes
		if r.tc.Provider == config.ProviderGoogle {
			info, err := r.tokenInfo(ctx, tok.AccessToken)
			switch {
			case err != nil:
				saw = append(saw, "opaque token; Google's tokeninfo not reachable ("+shortErr(err)+"), so the scopes granted at sign-in are used")
			default:
				saw = append(saw, "opaque token; checked with Google's tokeninfo")
				if info.Scope != "" {
					scopes = strings.Fields(info.Scope)
				}
				if info.Email != "" {
					user = info.Email
				}
			}
		} else {
			saw = append(saw, "opaque token")
		}
		saw = append(saw, "scopes "+strings.Join(scopes, " "))
		r.opaqueFit(c, scopes, user)
	}
	if user != "" {
		saw = append(saw, "user "+user)
		if a.Login != "" && !strings.EqualFold(user, a.Login) {
			r.userDiffer = true
			ev := r.evidence("scopes")
			ev.Reason = "user"
			shared := a.Protocol == config.Microsoft && tok.Claims != nil && (containsFold(tok.Claims.Scopes, "Mail.Read.Shared") || containsFold(tok.Claims.Scopes, "Mail.ReadWrite.Shared") || containsFold(tok.Claims.Scopes, "Mail.Send.Shared"))
			cause := fmt.Sprintf("Signed in as %s, but the account logs in as %s: either someone signed in with the wrong account, or the login is a shared mailbox the user has been given access to.", user, a.Login)
			if shared {
				cause += " The token has shared-mailbox scopes, so Graph is asked for /users/" + a.Login + "."
			}
			r.find(c, Warn, ev, "", "")
			ownCause(c, cause)
		}
	}
	c.Saw = strings.Join(saw, "; ")
}

// opaqueFit judges a token mailport cannot read by the scopes the provider
// said it granted: Google's mail scope for a Google token config;
// Microsoft's resource and permission names for a Microsoft one; for a
// generic one only what is evidence (scopes qualified with a Microsoft
// resource, Google API scopes), never unknown names.
func (r *runner) opaqueFit(c *Check, scopes []string, user string) {
	a := r.acct
	googleMail := func(st Status) {
		if a.Protocol == config.Microsoft || containsFold(scopes, oauth.ScopeGoogleMail) {
			return
		}
		ev := r.evidence("scopes")
		ev.Reason = "google-scope"
		cause := fmt.Sprintf("The token grants %s but not %s, the only scope with which Gmail's IMAP, POP and SMTP accept a token.", strings.Join(scopes, " "), oauth.ScopeGoogleMail)
		if st == Warn {
			cause = fmt.Sprintf("The token grants Google API scopes (%s) but not %s, the only scope with which Gmail's IMAP, POP and SMTP accept a token; if this server is Gmail, it will refuse the token.", strings.Join(scopes, " "), oauth.ScopeGoogleMail)
			r.scopeDoubt = true
		}
		r.find(c, st, ev, "", "")
		ownCause(c, cause)
	}
	switch r.tc.Provider {
	case config.ProviderGoogle:
		googleMail(Fail)
	case config.ProviderMicrosoft:
		cloud := oauth.CloudOf(r.tc)
		if aud, short := microsoftGrant(cloud, scopes, true); len(aud) > 0 {
			r.microsoftFit(c, cloud, "scopes' resource", aud, short, false, user)
		}
	default:
		var qualified []string
		for _, s := range scopes {
			if strings.Contains(s, "://") {
				qualified = append(qualified, s)
			}
		}
		if cloud := microsoftCloudOf(resourcesOf(qualified)); cloud != nil {
			aud, short := microsoftGrant(cloud, qualified, false)
			r.microsoftFit(c, cloud, "scopes' resource", aud, short, false, user)
			return
		}
		for _, s := range scopes {
			if strings.HasPrefix(strings.ToLower(s), "https://www.googleapis.com/") {
				googleMail(Warn)
				return
			}
		}
	}
}

// resourcesOf returns the part before the last "/" of qualified scopes.
func resourcesOf(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if i := strings.LastIndexByte(s, '/'); i > 0 {
			out = append(out, strings.TrimRight(s[:i], "/"))
		}
	}
	return out
}

// microsoftCloudOf is the Microsoft cloud one of the audiences (resource
// URLs or Graph's and Exchange's application ids) belongs to, or nil.
func microsoftCloudOf(audiences []string) *oauth.Cloud {
	for _, aud := range audiences {
		a := strings.ToLower(strings.TrimSpace(aud))
		if a == oauth.GraphAppID || a == oauth.ExchangeAppID {
			return oauth.GlobalCloud()
		}
		if c, _ := oauth.CloudOfResource(strings.TrimRight(a, "/")); c != nil {
			return c
		}
	}
	return nil
}

// microsoftGrant splits the scopes a Microsoft token was granted into the
// resources they name and the permission names ("IMAP.AccessAsUser.All",
// "Mail.Read"). Bare names are Graph's only when bare counts.
func microsoftGrant(cloud *oauth.Cloud, scopes []string, bare bool) (resources, short []string) {
	seen := map[string]bool{}
	for _, s := range scopes {
		if !bare && !strings.Contains(s, "://") {
			continue
		}
		res := cloud.ResourceOf(s)
		if res == "" {
			continue
		}
		if !seen[res] {
			seen[res] = true
			resources = append(resources, res)
		}
		short = append(short, s[strings.LastIndexByte(s, '/')+1:])
	}
	return resources, short
}

// microsoftFit checks a Microsoft token's audience (what: "audience" for
// a JWT's, "scopes' resource" for an opaque token's) and permissions.
func (r *runner) microsoftFit(c *Check, cloud *oauth.Cloud, what string, audience, granted []string, appOnly bool, user string) {
	a := r.acct
	okAud := false
	for _, aud := range audience {
		if cloud.ServesAudience(a.Protocol, aud) {
			okAud = true
		}
	}
	if !okAud {
		ev := r.evidence("scopes")
		ev.Reason = "audience"
		r.find(c, Fail, ev, fmt.Sprintf("The token's %s is %s, but %s needs %s.", what, strings.Join(audience, " "), a.Protocol, cloud.Resource(a.Protocol)), "")
		return
	}
	shared := user != "" && a.Login != "" && !strings.EqualFold(user, a.Login)
	var need [][]string // each: any of
	var advisory []string
	switch a.Protocol {
	case config.IMAP:
		need = [][]string{{"IMAP.AccessAsUser.All", "IMAP.AccessAsApp"}}
	case config.POP3:
		need = [][]string{{"POP.AccessAsUser.All", "POP.AccessAsApp"}}
	case config.SMTP:
		need = [][]string{{"SMTP.Send", "SMTP.SendAsApp"}}
	case config.Microsoft:
		if a.Type == config.Outbound {
			if shared && !appOnly {
				need = [][]string{{"Mail.Send.Shared"}}
			} else {
				need = [][]string{{"Mail.Send", "Mail.Send.Shared"}}
			}
		} else {
			if shared && !appOnly {
				need = [][]string{{"Mail.Read.Shared", "Mail.ReadWrite.Shared"}}
			} else {
				need = [][]string{{"Mail.Read", "Mail.ReadWrite", "Mail.Read.Shared", "Mail.ReadWrite.Shared"}}
			}
			if !containsFold(granted, "Mail.ReadWrite") && !containsFold(granted, "Mail.ReadWrite.Shared") {
				advisory = append(advisory, "Mail.ReadWrite")
			}
		}
	}
	for _, anyOf := range need {
		found := false
		for _, s := range anyOf {
			if containsFold(granted, s) {
				found = true
			}
		}
		if !found {
			ev := r.evidence("scopes")
			ev.Reason = "scope"
			r.find(c, Fail, ev, "", "")
			ownCause(c, fmt.Sprintf("The token was issued for the right resource, but it does not grant %s, which %s needs (it grants %s).", strings.Join(anyOf, " or "), a.Protocol, orNothing(granted)))
		}
	}
	for _, s := range advisory {
		ev := r.evidence("scopes")
		ev.Reason = "scope"
		f := r.find(c, Warn, ev, fmt.Sprintf("The token does not grant %s, so fetch can read but not mark messages seen, move or delete them.", s), "")
		_ = f
	}
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(strings.TrimSpace(s), v) {
			return true
		}
	}
	return false
}

type tokenInfo struct {
	Scope string `json:"scope"`
	Email string `json:"email"`
	Error string `json:"error_description"`
}

// tokenInfo asks Google's tokeninfo endpoint about an opaque token.
func (r *runner) tokenInfo(ctx context.Context, access string) (*tokenInfo, error) {
	u := r.acct.Property(PropTokenInfoURL, r.opts.TokenInfoURL)
	if u == "" {
		u = DefaultTokenInfoURL
	}
	sctx, cancel := r.stepCtx(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, u+"?access_token="+url.QueryEscape(access), nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ti tokenInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ti); err != nil {
		return nil, fmt.Errorf("tokeninfo answered HTTP %d without JSON", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tokeninfo answered HTTP %d: %s", resp.StatusCode, ti.Error)
	}
	return &ti, nil
}

func (r *runner) httpClient() *http.Client {
	if r.opts.HTTPClient != nil {
		return r.opts.HTTPClient
	}
	if r.opts.Opener.HTTPClient != nil {
		return r.opts.Opener.HTTPClient
	}
	return &http.Client{Timeout: r.opts.Timeout, Transport: resolver.Transport(nil, r.opts.Timeout)}
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// roundDuration prints a duration for people: 59m, 2h5m, 3d.
func roundDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s (expired)"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		s := d.Round(time.Minute).String()
		return strings.TrimSuffix(s, "0s")
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// sortedCopy returns a sorted copy.
func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
