package fetch

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/oauth"
)

// GraphWriteScope is the Graph permission that lets a token mark messages
// read, move or delete them; Mail.Read only reads them.
const GraphWriteScope = "Mail.ReadWrite"

// PermissionError says that an account's token may read its Graph mailbox
// but not change it, so --mark-seen, --move-to or --delete cannot be done:
// either found before fetching (from the token's scopes or roles) or
// refused by Graph (403 ErrorAccessDenied) on the first change.
type PermissionError struct {
	Account     string
	TokenConfig string
	Action      Action
	// Granted is what the token grants (its scp or roles); nil when Graph
	// refused before the token was inspected.
	Granted []string
	// AppOnly is set for a client-credentials token (roles, not scopes):
	// the fix is an application permission, not a new sign-in.
	AppOnly bool
	// Scopes is the token config's scope list with the write scope
	// added, for the edit command the fix names; nil when the token
	// config already asks for it (only a new sign-in is needed).
	Scopes []string
	// Err is the error that carries Graph's refusal, when it came from
	// Graph.
	Err error
}

func (e *PermissionError) Error() string {
	what := map[Action]string{MarkSeen: "marking messages seen", Move: "moving messages", Delete: "deleting messages"}[e.Action]
	var b strings.Builder
	if e.Err != nil {
		// The server's words first, then what they mean.
		fmt.Fprintf(&b, "%s; %s needs the Graph permission %s: ", strings.TrimRight(e.Err.Error(), ". "), what, GraphWriteScope)
	} else {
		fmt.Fprintf(&b, "%s needs the Graph permission %s, but the token of account %s grants only %s, so nothing was fetched; ",
			what, GraphWriteScope, e.Account, strings.Join(e.Granted, " "))
	}
	switch {
	case e.AppOnly:
		fmt.Fprintf(&b, "grant the app the application permission %s in Microsoft Entra ID, with admin consent, and run fetch again", GraphWriteScope)
	case e.Scopes == nil:
		fmt.Fprintf(&b, "token config %s asks for it, so run `mailport authenticate %s` and consent to it (an administrator may have to grant it in Microsoft Entra ID)",
			e.TokenConfig, e.Account)
	default:
		fmt.Fprintf(&b, "add it with `mailport token-config edit %s --scopes %q` and run `mailport authenticate %s`",
			e.TokenConfig, strings.Join(e.Scopes, " "), e.Account)
	}
	fmt.Fprintf(&b, " (`mailport explain token-missing-scope`; `mailport test %s` checks the token)", e.Account)
	return b.String()
}

func (e *PermissionError) Unwrap() error { return e.Err }

// CheckGraphWrite returns a *PermissionError when action changes messages
// on the server and the Graph token tok, issued through token config tc
// (named tcName) for account, cannot: its claims grant neither
// Mail.ReadWrite nor Mail.ReadWrite.Shared. A token whose permissions are
// not known (not a JWT) passes: Graph's answer decides, and
// AccessDenied translates it.
func CheckGraphWrite(account, tcName string, tc *config.TokenConfig, tok *oauth.Token, action Action) error {
	if action == Keep || action == "" || tok == nil || tok.Claims == nil {
		return nil
	}
	granted, appOnly := tok.Claims.Scopes, false
	if len(tok.Claims.Roles) > 0 {
		granted, appOnly = tok.Claims.Roles, true
	}
	if len(granted) == 0 {
		return nil
	}
	for _, s := range granted {
		if strings.EqualFold(s, GraphWriteScope) || strings.EqualFold(s, GraphWriteScope+".Shared") {
			return nil
		}
	}
	return &PermissionError{Account: account, TokenConfig: tcName, Action: action, Granted: granted, AppOnly: appOnly, Scopes: withWriteScope(tc)}
}

// AccessDenied turns Graph's 403 ErrorAccessDenied to a change of
// messages (action other than Keep) into a *PermissionError that says
// which permission is missing and how to get it; any other error is
// returned as it is.
func AccessDenied(err error, account, tcName string, tc *config.TokenConfig, tok *oauth.Token, action Action) error {
	var ge *graph.Error
	if action == Keep || action == "" || !errors.As(err, &ge) || ge.StatusCode != 403 || ge.Code != graph.CodeAccessDenied {
		return err
	}
	pe := &PermissionError{Account: account, TokenConfig: tcName, Action: action, Scopes: withWriteScope(tc), Err: err}
	if tok != nil && tok.Claims != nil && len(tok.Claims.Roles) > 0 {
		pe.AppOnly = true
	}
	return pe
}

// withWriteScope is tc's scopes with Mail.ReadWrite added in the form the
// list already uses (a bare "mail.read" gets "mail.readwrite"; a national
// cloud's "https://graph.microsoft.us/Mail.Read" its own prefix).
func withWriteScope(tc *config.TokenConfig) []string {
	if tc == nil {
		return []string{strings.ToLower(GraphWriteScope)}
	}
	out := append([]string{}, tc.Scopes...)
	add := strings.ToLower(GraphWriteScope)
	for _, s := range tc.Scopes {
		l := strings.ToLower(s)
		if strings.EqualFold(l[strings.LastIndex(l, "/")+1:], GraphWriteScope) {
			return nil // asked for, not granted: a new sign-in gets it
		}
		if strings.HasSuffix(l, "mail.read") {
			add = s[:len(s)-len("mail.read")] + strings.ToLower(GraphWriteScope)
		}
	}
	return append(out, add)
}
