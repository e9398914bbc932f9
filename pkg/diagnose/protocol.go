package diagnose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/smtp"
)

// checkGreeting connects with the protocol adapter (which reads the
// greeting and, for starttls, upgrades) and keeps the session.
func (r *runner) checkGreeting(ctx context.Context, c *Check) {
	var err error
	if r.acct.Protocol == config.SMTP {
		r.out, err = smtp.Dial(ctx, r.ep)
		if err == nil {
			c.Saw = r.out.Greeting()
		}
	} else {
		r.in, err = r.opts.Opener.Dial(ctx, r.name)
		if err == nil {
			c.Saw = r.in.Greeting()
		}
	}
	if err != nil {
		ev := r.evidence("greeting")
		ev.Text = err.Error()
		if isTimeout(err) {
			ev.Reason = "silent"
		}
		noteMisbehaviour(ev, err)
		var re *smtp.ReplyError
		if errors.As(err, &re) {
			ev.Text = fmt.Sprintf("%d %s", re.Code, re.Text)
			ev.SMTPCode = re.Code
		}
		r.find(c, Fail, ev, "The server did not greet as a "+strings.ToUpper(r.acct.Protocol)+" server should.", "")
		c.Saw = "no usable greeting"
		r.block(needSession, "there is no session")
	}
}

// checkCapabilities lists what the server offers and whether the
// account's way of logging in is among it.
func (r *runner) checkCapabilities(ctx context.Context, c *Check) {
	var caps []string
	var err error
	sctx, cancel := r.stepCtx(ctx)
	defer cancel()
	if r.out != nil {
		caps, err = r.out.Capabilities(sctx)
	} else {
		caps, err = r.in.Capabilities(sctx)
	}
	if err != nil {
		ev := r.evidence("capabilities")
		ev.Text = err.Error()
		noteMisbehaviour(ev, err)
		r.find(c, Fail, ev, "The server did not list its capabilities.", "")
		r.block(needSession, "the session broke")
		return
	}
	var mechs []string
	for _, cp := range caps {
		switch {
		case strings.HasPrefix(cp, "AUTH="):
			mechs = append(mechs, strings.TrimPrefix(cp, "AUTH="))
		case strings.HasPrefix(cp, "SASL "):
			mechs = append(mechs, strings.TrimPrefix(cp, "SASL "))
		}
	}
	r.mechs = mechs
	if len(mechs) > 0 {
		c.Saw = "authentication offered: " + strings.Join(mechs, " ")
	} else {
		c.Saw = "no SASL mechanism listed"
	}
	c.Saw += fmt.Sprintf(" (%s)", plural(len(caps), "capability", "capabilities"))
	has := func(m string) bool { return containsFold(mechs, m) }
	// A submission server (Postfix with smtpd_tls_auth_only, Exchange,
	// Gmail) lists AUTH only once the session is encrypted: in plain text
	// its EHLO names STARTTLS and no mechanism. That is this port's fault
	// of encryption, not of the port.
	starttls := containsFold(caps, "STARTTLS")
	if r.acct.Protocol == config.SMTP && len(mechs) == 0 && r.acct.Encryption == config.None && starttls {
		ev := r.evidence("capabilities")
		ev.Reason, ev.Text, ev.own = "auth-after-starttls", "STARTTLS and no AUTH in the EHLO reply", true
		c.Saw += "; STARTTLS offered"
		r.find(c, Fail, ev, "", "")
		r.block(needSession, "the server offers authentication only after STARTTLS")
		return
	}
	if r.acct.Auth == config.AuthOAuth2 {
		switch {
		case has("XOAUTH2"):
		case has("OAUTHBEARER"):
			c.Saw += "; OAUTHBEARER will be used"
		case len(mechs) == 0 && r.acct.Protocol == config.POP3:
			// An RFC 1939 server without CAPA: the login will tell.
		default:
			ev := r.evidence("capabilities")
			ev.Reason = "no-oauth"
			ev.Text = "authentication offered: " + strings.Join(mechs, " ")
			ev.own = true
			r.find(c, Fail, ev, "", "")
			ownCause(c, fmt.Sprintf("%s offers %s but neither XOAUTH2 nor OAUTHBEARER, so it cannot take the account's OAuth2 token: it is not a Microsoft 365 or Google server, or OAuth2 is not enabled on it.", r.ep.Addr(), orNothing(mechs)))
			r.block(needSession, "the server takes no OAuth2 token")
		}
	} else if r.acct.Protocol == config.SMTP && len(mechs) == 0 {
		ev := r.evidence("capabilities")
		ev.Reason, ev.Text, ev.own = "no-auth", "no AUTH in the EHLO reply", true
		r.find(c, Fail, ev, fmt.Sprintf("%s offers no SMTP AUTH on this port, so it cannot take a login (it is probably a relay port such as 25).", r.ep.Addr()),
			fmt.Sprintf("Use the submission port with a login: `mailport account edit %s --port 587 --encryption starttls`.", r.name))
		r.block(needSession, "the server offers no authentication")
	}
	if r.acct.Encryption == config.None {
		for _, cp := range caps {
			if cp == "STARTTLS" || cp == "STLS" {
				ev := &Evidence{Check: "capabilities", Reason: "starttls-offered", Text: cp, own: true}
				r.find(c, Warn, ev, "The server offers STARTTLS, but the account uses no encryption, so logins and mail cross the network in plain text.",
					fmt.Sprintf("Use it: `mailport account edit %s --encryption starttls`.", r.name))
			}
		}
	}
}

func orNothing(m []string) string {
	if len(m) == 0 {
		return "no mechanism"
	}
	return strings.Join(m, ", ")
}

// checkAuth logs in, keeping the server's words on a refusal.
func (r *runner) checkAuth(ctx context.Context, c *Check) {
	if r.acct.Protocol == config.Microsoft && r.in == nil {
		in, err := r.opts.Opener.Dial(ctx, r.name)
		if err != nil {
			r.authFailure(c, err)
			return
		}
		r.in = in
	}
	sctx, cancel := r.stepCtx(ctx)
	defer cancel()
	var err error
	if r.out != nil {
		err = r.out.Authenticate(sctx, r.creds)
	} else if r.in != nil {
		err = r.in.Authenticate(sctx, r.creds)
	} else {
		// protocol microsoft, outbound: connect.Opener.Outbound's Graph client.
		err = errors.New("no session")
	}
	if err != nil {
		r.authFailure(c, err)
		return
	}
	c.Saw = "logged in as " + r.creds.Username
	if g, ok := r.in.(*graph.Client); ok {
		c.Saw = "Graph opened the mailbox " + g.MailboxPath()
	}
}

func (r *runner) authFailure(c *Check, err error) {
	r.block(needAuth, "the login failed")
	ev := r.evidence("auth")
	ev.Text = err.Error()
	var ae *mail.AuthError
	var ge *graph.Error
	var pa *mail.PlaintextAuthError
	var ar *oauth.AuthRequiredError
	switch {
	case errors.As(err, &ar):
		r.report.Reauth = true
		ev.Text = ar.Error()
		ev.own = true
	case errors.As(err, &pa):
		ev.Reason, ev.own = "plaintext", true
	case errors.As(err, &ae):
		ev.Reason, ev.Text, ev.Challenge = "refused", ae.Text, ae.Challenge
	}
	if errors.As(err, &ge) {
		ev.Graph, ev.HTTP = ge.Code, ge.StatusCode
		if ge.Message != "" {
			ev.Text = ge.Code + ": " + ge.Message
		}
	}
	if errors.Is(err, mail.ErrUnsupported) {
		ev.Reason = "no-oauth"
		ev.Check = "capabilities"
	}
	if r.acct.Protocol == config.SMTP {
		ev.parseSMTP()
	}
	noteMisbehaviour(ev, err)
	// pkg/smtp words its step timeout without wrapping the net error.
	held := ev.Reason == "" && (isTimeout(err) || r.out != nil && strings.Contains(err.Error(), ": no answer from "))
	if held {
		// The server said nothing: it holds the answer, as Dovecot and
		// Postfix do after a failed login.
		ev.Reason = "held"
	}
	c.Saw = "refused"
	switch {
	case held:
		c.Saw = "no answer within " + r.opts.Timeout.String()
	case ev.Reason != "refused":
		c.Saw = "failed"
	}
	r.find(c, Fail, ev, "", "")
	if f := &c.Findings[len(c.Findings)-1]; held && f.Said != "" {
		// Our own timeout, not the server's words.
		f.Error, f.Said = f.Said, ""
	}
}

// checkFolder opens the configured folder (IMAP SELECT, POP3 STAT, Graph
// folder-path resolution).
func (r *runner) checkFolder(ctx context.Context, c *Check) {
	folder := r.acct.Folder
	if r.acct.Protocol == config.IMAP || r.acct.Protocol == config.POP3 {
		folder = r.acct.FolderOrDefault()
	}
	sctx, cancel := r.stepCtx(ctx)
	defer cancel()
	f, err := r.in.Open(sctx, folder)
	if err == nil {
		c.Saw = fmt.Sprintf("%s: %s", f.Name, plural(f.Count, "message", "messages"))
		if f.Validity != "" {
			c.Saw += " (UIDVALIDITY " + f.Validity + ")"
		}
		return
	}
	ev := r.evidence("folder")
	ev.Text = err.Error()
	noteMisbehaviour(ev, err)
	var nf *mail.FolderNotFoundError
	var ge *graph.Error
	switch {
	case errors.As(err, &nf):
		ev.Reason, ev.own = "not-found", true
		if g, ok := r.in.(*graph.Client); ok {
			if r.graphIDProbe(sctx, c, g, folder) {
				return
			}
		}
	case errors.As(err, &ge):
		ev.Graph, ev.HTTP = ge.Code, ge.StatusCode
		ev.Text = strings.TrimSpace(ge.Code + ": " + ge.Message)
	}
	c.Saw = "cannot open " + quoted(folder)
	if nf != nil && len(nf.Suggestions) > 0 {
		c.Saw += "; did you mean " + strings.Join(quotedAll(nf.Suggestions), " or ") + "?"
	}
	r.find(c, Fail, ev, "", "")
}

// graphIDProbe asks Graph for the folder value as a folder id, the way web-based
// mail products use it: Graph's answer ("Id is malformed") or the
// folder's real path is what the support person needs. It reports whether
// it added a finding.
func (r *runner) graphIDProbe(ctx context.Context, c *Check, g *graph.Client, folder string) bool {
	if folder == "" || strings.Contains(folder, "/") {
		return false
	}
	base := strings.TrimRight(r.opts.Opener.GraphURL(r.acct), "/")
	u := base + g.MailboxPath() + "/mailFolders/" + url.PathEscape(folder) + "?$select=id,displayName"
	tok, err := r.creds.Token(ctx)
	if err != nil {
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := r.httpClient().Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Error       struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		return false
	}
	ev := r.evidence("folder")
	ev.HTTP = resp.StatusCode
	if resp.StatusCode == http.StatusOK && body.ID != "" {
		c.Saw = fmt.Sprintf("%s is a Graph folder id (of %s), not a folder path", quoted(folder), quoted(body.DisplayName))
		ev.Reason, ev.Text, ev.own = "id", c.Saw, true
		r.find(c, Fail, ev, fmt.Sprintf("The folder value is the id of the folder %s; mailport expects the folder's path.", quoted(body.DisplayName)),
			fmt.Sprintf("Set the folder's path (e.g. Inbox/%s): `mailport account edit %s --folder ...`.", body.DisplayName, r.name))
		return true
	}
	if body.Error.Code == "" {
		return false
	}
	ev.Graph, ev.Text = body.Error.Code, body.Error.Code+": "+body.Error.Message
	c.Saw = fmt.Sprintf("no folder path %s, and Graph refuses it as an id", quoted(folder))
	r.find(c, Fail, ev, fmt.Sprintf("No folder is named %s, and Graph answers %s when it is used as a folder id.", quoted(folder), body.Error.Code), "")
	return true
}

// quoted puts a folder name in double quotes as the user typed it: %q
// would double the backslash of Inbox\Endpoint, the very separator the
// support person must spot. Control characters are still escaped.
func quoted(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return `"` + s + `"`
}

// checkSend asks the SMTP server whether it would take mail from the login
// (MAIL FROM, RCPT TO, RSET; nothing is sent), or sends a real test
// message with --send-to.
func (r *runner) checkSend(ctx context.Context, c *Check) {
	from := r.acct.Login
	sctx, cancel := r.stepCtx(ctx)
	defer cancel()
	if r.opts.SendTo == "" {
		if r.out == nil {
			c.Status, c.Saw = Skip, "skipped: Graph cannot check sending without sending; use --send-to ADDR to send a test message"
			return
		}
		if err := r.out.Probe(sctx, from, from); err != nil {
			r.sendFailure(c, err)
			return
		}
		c.Saw = fmt.Sprintf("MAIL FROM:<%s> and RCPT TO:<%s> accepted, then RSET (nothing sent)", from, from)
		return
	}
	id := randomID()
	msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: mailport test %s\r\nDate: %s\r\nMessage-ID: <%s@mailport.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThis message was sent by `mailport test %s --send-to` to check that the account can send.\r\n",
		from, r.opts.SendTo, id, r.now().Format(time.RFC1123Z), id, r.name)
	env := mail.Envelope{From: from, To: []string{r.opts.SendTo}}
	var err error
	if r.out != nil {
		err = r.out.Send(sctx, env, strings.NewReader(msg))
	} else if g, ok := r.in.(*graph.Client); ok {
		err = g.Send(sctx, env, strings.NewReader(msg))
	} else {
		err = errors.New("no session to send with")
	}
	if err != nil {
		r.sendFailure(c, err)
		return
	}
	c.Saw = fmt.Sprintf("sent a test message <%s@mailport.test> to %s", id, r.opts.SendTo)
}

func (r *runner) sendFailure(c *Check, err error) {
	ev := r.evidence("send")
	ev.Text = err.Error()
	noteMisbehaviour(ev, err)
	var re *smtp.ReplyError
	var ge *graph.Error
	if errors.As(err, &re) {
		ev.Text = fmt.Sprintf("%d %s", re.Code, re.Text)
		ev.SMTPCode = re.Code
		ev.parseSMTP()
	}
	if errors.As(err, &ge) {
		ev.Graph, ev.HTTP = ge.Code, ge.StatusCode
	}
	c.Saw = "refused"
	r.find(c, Fail, ev, "", "")
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// quotedAll quotes each name as quoted does.
func quotedAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quoted(n)
	}
	return out
}
