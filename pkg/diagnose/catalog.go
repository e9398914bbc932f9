package diagnose

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mailport/mailport/pkg/oauth"
)

// Entry is one known failure: how to recognise it and what to tell a
// support person. docs/troubleshooting.md lists exactly these entries (a
// test keeps the two in step), so a search for the message finds the page.
type Entry struct {
	// ID is stable: it is the anchor in docs/troubleshooting.md and the
	// "entry" of a check in --json output.
	ID string
	// Title is the heading in the troubleshooting page.
	Title string
	// Message is what users see: the server's or provider's words, or
	// mailport's own check result.
	Message string
	// Cause and Fix are written for a support person. <account> and
	// <token-config> are replaced by the names of the account tested.
	Cause string
	Fix   string

	match func(*Evidence) bool
}

// Evidence is what a check saw, in the terms the catalog matches on.
type Evidence struct {
	Check     string // the check's ID: config, secrets, token, scopes, dns, tcp, tls, greeting, capabilities, auth, folder, send
	Protocol  string // imap, pop3, smtp, microsoft
	Provider  string // microsoft, google, generic; "" for password accounts
	Auth      string // basic, oauth2
	Host      string
	Reason    string // the check's own classification, e.g. "refused", "name-mismatch"
	Text      string // the server's or provider's words, verbatim
	Challenge string // a decoded SASL error challenge (XOAUTH2's base64 JSON)
	SMTPCode  int    // 535
	Enhanced  string // 5.7.139
	AADSTS    int    // Microsoft's sign-in error code
	OAuthCode string // RFC 6749 error, e.g. invalid_grant
	Graph     string // Graph error code, e.g. ErrorInvalidIdMalformed
	HTTP      int    // HTTP status of a Graph answer
	// Audience is the access token's audience when it is a JWT.
	Audience []string

	// TokenUnfit is set when the token check found the token unfit for
	// the protocol, so a refusal is not the mailbox's fault.
	TokenUnfit bool
	// UserMismatch is set when the token's user is not the login.
	UserMismatch bool

	own bool // Text is mailport's own sentence, not the server's words
}

func (e *Evidence) textHas(subs ...string) bool {
	t := strings.ToLower(e.Text)
	for _, s := range subs {
		if strings.Contains(t, strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// authRefused: the server's refusal of a login, in Microsoft's words
// ("AUTHENTICATE failed.", "LOGIN failed.") or Dovecot's ("Authentication
// failed."), or a POP3 -ERR to AUTH.
func (e *Evidence) authRefused() bool {
	return e.Check == "auth" && e.Reason == "refused"
}

// graphAudience: the token is for Microsoft Graph, of whichever cloud.
func (e *Evidence) graphAudience() bool {
	for _, a := range e.Audience {
		if _, graph := oauth.CloudOfResource(a); graph || strings.EqualFold(strings.TrimSpace(a), oauth.GraphAppID) {
			return true
		}
	}
	return false
}

// microsoftHost: the host is Exchange Online's, in any cloud.
func (e *Evidence) microsoftHost() bool {
	h := strings.ToLower(e.Host)
	return strings.HasSuffix(h, ".office365.com") || strings.HasSuffix(h, ".outlook.com") || h == "outlook.office.com" || oauth.CloudOfHost(h) != nil
}

func (e *Evidence) aadsts(codes ...int) bool {
	for _, c := range codes {
		if e.AADSTS == c {
			return true
		}
	}
	return false
}

func (e *Evidence) mailProtocol() bool {
	return e.Protocol == "imap" || e.Protocol == "pop3" || e.Protocol == "smtp"
}

var enhancedRE = regexp.MustCompile(`\b([245]\.\d{1,3}\.\d{1,3})\b`)

// parseSMTP fills SMTPCode and Enhanced from a reply such as
// "535 5.7.139 Authentication unsuccessful".
func (e *Evidence) parseSMTP() {
	t := strings.TrimSpace(e.Text)
	if len(t) >= 3 {
		if n, err := strconv.Atoi(t[:3]); err == nil && e.SMTPCode == 0 {
			e.SMTPCode = n
		}
	}
	if m := enhancedRE.FindStringSubmatch(t); m != nil && e.Enhanced == "" {
		e.Enhanced = m[1]
	}
}

// Catalog is every known failure, most specific first: Lookup returns the
// first entry that matches. Microsoft's sign-in errors come from oauth's
// AADSTS table, between the secrets and the other token refusals.
var Catalog = slices.Concat(setupEntries, microsoftSignInEntries(), laterEntries)

// setupEntries are the configuration and secrets checks' failures.
var setupEntries = []Entry{
	// --- configuration ---
	{
		ID: "account-disabled", Title: "The account is disabled",
		Message: "account <account> is disabled",
		Cause:   "The account is switched off, so nothing polls or sends through it.",
		Fix:     "Enable it with `mailport account enable <account>` once the other checks pass.",
		match:   func(e *Evidence) bool { return e.Check == "config" && e.Reason == "disabled" },
	},
	{
		ID: "token-config-direction", Title: "The token config does not support this direction",
		Message: "token config <token-config> does not support inbound mail",
		Cause:   "The account receives (or sends) mail, but its token config has inbound (or outbound) switched off, so it may not be used for this account.",
		Fix:     "Set inbound: true (or outbound: true) on the token config with `mailport token-config edit <token-config> --inbound=true`, or point the account at another token config.",
		match:   func(e *Evidence) bool { return e.Check == "config" && e.Reason == "direction" },
	},
	{
		ID: "config-inconsistent", Title: "Protocol, authorisation type and direction do not fit together",
		Message: "the configuration has problems",
		Cause:   "The account's protocol, authorisation type, direction or token config contradict each other (for example protocol microsoft with auth basic, an inbound smtp account, or a token config that does not exist).",
		Fix:     "Correct the fields named with `mailport account edit <account>`; `mailport config validate` lists every problem of the file.",
		match:   func(e *Evidence) bool { return e.Check == "config" && e.Reason == "invalid" },
	},
	{
		ID: "scopes-wrong-resource", Title: "The token config's scopes cannot serve the protocol",
		Message: "token config <token-config> cannot serve an account of protocol imap",
		Cause:   "A Microsoft token serves one resource, the first one named in the scopes: IMAP, POP and SMTP need https://outlook.office.com/... scopes, Graph needs Graph scopes (mail.read, mail.send). With the wrong scopes the token is issued but the server refuses it with \"AUTHENTICATE failed\".",
		Fix:     "Set the scopes the message names with `mailport token-config edit <token-config> --scopes \"...\"`, then run `mailport authenticate <account>`.",
		match:   func(e *Evidence) bool { return e.Check == "config" && e.Reason == "scopes" },
	},
	{
		ID: "tenant-placeholder", Title: "The tenant in base_url looks like a placeholder",
		Message: "base_url's tenant \"<tenant>\" looks like a placeholder",
		Cause:   "The token config's base_url still holds an example tenant, so Microsoft cannot find the directory (it answers AADSTS90002).",
		Fix:     "Put your tenant id or verified domain in base_url: `mailport token-config edit <token-config> --tenant yourdomain.com`.",
		match:   func(e *Evidence) bool { return e.Check == "config" && e.Reason == "tenant" && e.textHas("placeholder") },
	},
	{
		ID: "plaintext-auth", Title: "A password would travel without encryption",
		Message: "refusing to send a password to <host> without encryption",
		Cause:   "The account uses encryption none with a password, so the password would cross the network in plain text; mailport refuses unless told otherwise.",
		Fix:     "Use encryption ssl or starttls (`mailport account edit <account> --encryption ssl`); only on a trusted network set the property allow_plaintext_auth=true.",
		match:   func(e *Evidence) bool { return e.Reason == "plaintext" },
	},

	// --- secrets ---
	{
		ID: "password-missing", Title: "No password is stored",
		Message: "account <account> has no password",
		Cause:   "The account uses a password, but none is in the secret store and no MAILPORT_PASSWORD_<ACCOUNT> variable is set.",
		Fix:     "Store it with `mailport account edit <account> --password-stdin`, or set the environment variable the check names.",
		match:   func(e *Evidence) bool { return e.Check == "secrets" && e.Reason == "no-password" },
	},
	{
		ID: "not-authenticated", Title: "The account was never authenticated",
		Message: "account <account> is not authenticated",
		Cause:   "The account uses OAuth2 but no token is stored for it (or it was logged out).",
		Fix:     "Run `mailport authenticate <account>` and sign in as the mailbox's user.",
		match:   func(e *Evidence) bool { return e.Check == "secrets" && e.Reason == "no-token" },
	},
	{
		ID: "google-sa-key-missing", Title: "The service account token config has no key",
		Message: "token config <token-config> has no service account key",
		Cause:   "The token config uses a Google service account (flow service_account), which signs its token requests with the account's JSON key, and no key is stored (or MAILPORT_CLIENT_SECRET_<TOKENCONFIG> is not set in this environment).",
		Fix:     "Store the JSON key with `mailport token-config edit <token-config> --key-file sa.json` (the file may be deleted afterwards), or put its content in MAILPORT_CLIENT_SECRET_<TOKENCONFIG>.",
		match:   func(e *Evidence) bool { return e.Check == "secrets" && e.Reason == "no-service-account-key" },
	},
	{
		ID: "client-secret-missing", Title: "The token config has no client secret",
		Message: "token config <token-config> has no client secret",
		Cause:   "The token config uses the client credentials (app-only) flow, which needs the app's client secret, and none is stored.",
		Fix:     "Store the secret's Value with `mailport token-config edit <token-config> --client-secret-stdin`, or set MAILPORT_CLIENT_SECRET_<TOKENCONFIG>.",
		match:   func(e *Evidence) bool { return e.Check == "secrets" && e.Reason == "no-client-secret" },
	},
}

// laterEntries follow Microsoft's sign-in errors: the other token endpoint
// refusals, the token against the protocol, the network, the protocol,
// Graph, the folder and sending.
var laterEntries = []Entry{
	// --- token endpoint refusals (Microsoft's are microsoftSignInEntries) ---
	// Google's refusals of a service account's JWT-bearer grant come
	// before its invalid_grant of a refresh token.
	{
		ID: "google-sa-delegation", Title: "Google service account: domain-wide delegation not granted",
		Message: "unauthorized_client: Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
		Cause:   "The service account's key is fine, but no administrator granted it domain-wide delegation for the scopes asked for (https://mail.google.com/ for IMAP, POP and SMTP), so it may not act for the account's mailbox. A new grant can take a while to apply.",
		Fix:     "In the Google Admin console open Security → Access and data control → API controls → Domain-wide delegation → Add new, enter the service account's numeric client ID (`mailport token-config show <token-config>` shows it as delegation id) and the scope https://mail.google.com/, authorise, then run `mailport test <account>` again.",
		match:   func(e *Evidence) bool { return e.Provider == "google" && e.OAuthCode == "unauthorized_client" },
	},
	{
		ID: "google-sa-unknown-user", Title: "Google service account: Invalid email or User ID",
		Message: "invalid_grant: Invalid email or User ID",
		Cause:   "The service account asked for a token for the account's login, and Google knows no such user in the Workspace domain the service account is delegated in: the login is misspelled, an alias or group, a user of another domain, or a consumer Gmail address (domain-wide delegation works only for Workspace users).",
		Fix:     "Set the account's login to the user's primary address in the Workspace domain with `mailport account edit <account> --login USER@DOMAIN`.",
		match: func(e *Evidence) bool {
			return e.Provider == "google" && e.OAuthCode == "invalid_grant" && e.textHas("Invalid email or User ID")
		},
	},
	{
		ID: "google-sa-signature", Title: "Google service account: Invalid JWT Signature",
		Message: "invalid_grant: Invalid JWT Signature.",
		Cause:   "Google could not verify the assertion with any key of the service account: the key was deleted or disabled in the Google Cloud console, or the stored key file belongs to another service account.",
		Fix:     "Create a new JSON key (Google Cloud console → IAM & Admin → Service accounts → the account → Keys → Add key) and store it with `mailport token-config edit <token-config> --key-file sa.json`.",
		match: func(e *Evidence) bool {
			return e.Provider == "google" && e.OAuthCode == "invalid_grant" && e.textHas("Invalid JWT Signature")
		},
	},
	{
		ID: "google-sa-clock", Title: "Google service account: the token must be short-lived and in a reasonable timeframe",
		Message: "invalid_grant: Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
		Cause:   "mailport signs an assertion valid for one hour from this machine's time; Google refuses it when that time is far from its own, so this machine's clock is wrong (or its time zone is set without the clock being right).",
		Fix:     "Synchronise the clock with NTP (`timedatectl set-ntp true`, or the container host's clock), then run `mailport test <account>` again.",
		match: func(e *Evidence) bool {
			return e.Provider == "google" && e.OAuthCode == "invalid_grant" && e.textHas("short-lived token", "reasonable timeframe")
		},
	},
	{
		ID: "google-invalid-grant", Title: "Google invalid_grant: token expired or revoked",
		Message: "invalid_grant: Token has been expired or revoked.",
		Cause:   "Google refused the refresh token. When the app's OAuth consent screen is in Testing mode Google expires refresh tokens after 7 days; otherwise the user removed the app's access or changed their password.",
		Fix:     "Run `mailport authenticate <account>`. To stop the weekly expiry, publish the app (OAuth consent screen, Publishing status: In production).",
		match:   func(e *Evidence) bool { return e.Provider == "google" && e.OAuthCode == "invalid_grant" },
	},
	{
		ID: "no-refresh-token", Title: "No refresh token was issued",
		Message: "the access token expired and the provider gave no refresh token",
		Cause:   "The provider issued only an access token, so the account stops working when it expires (about an hour). Google sends a refresh token only on the first consent; Microsoft only when offline_access is among the scopes.",
		Fix:     "Google: remove the app's access at https://myaccount.google.com/permissions, then run `mailport authenticate <account>`. Microsoft: add offline_access to the token config's scopes, then authenticate again.",
		match:   func(e *Evidence) bool { return e.Check == "token" && e.Reason == "no-refresh-token" },
	},
	{
		ID: "invalid-scope", Title: "invalid_scope: the app may not ask for these scopes",
		Message: "invalid_scope",
		Cause:   "The provider refused the scopes requested: a scope is misspelled, belongs to another resource, or is not allowed for this flow (Google does not allow https://mail.google.com/ with the device flow).",
		Fix:     "Check the token config's scopes (`mailport token-config show <token-config>`) and the app's API permissions; for Google use the user flow for https://mail.google.com/.",
		match:   func(e *Evidence) bool { return e.OAuthCode == "invalid_scope" },
	},

	// --- the token against the protocol ---
	{
		ID: "token-wrong-audience", Title: "The token is for another resource",
		Message: "the token's audience is https://graph.microsoft.com, but imap needs https://outlook.office.com",
		Cause:   "A Microsoft token serves one resource. IMAP, POP and SMTP accept only tokens for https://outlook.office.com; Graph accepts only tokens for https://graph.microsoft.com. The server refuses the other kind with \"AUTHENTICATE failed\" or InvalidAuthenticationToken.",
		Fix:     "Give the token config the protocol's scopes (for IMAP https://outlook.office.com/IMAP.AccessAsUser.All offline_access) with `mailport token-config edit <token-config> --scopes \"...\"`, then run `mailport authenticate <account>`.",
		match:   func(e *Evidence) bool { return e.Check == "scopes" && e.Reason == "audience" },
	},
	{
		ID: "token-missing-scope", Title: "The token lacks the scope the protocol needs",
		Message: "the token does not grant IMAP.AccessAsUser.All",
		Cause:   "The token was issued for the right resource but without the permission the protocol needs (IMAP.AccessAsUser.All, POP.AccessAsUser.All, SMTP.Send; Graph Mail.Read, Mail.ReadWrite to mark or move, Mail.Read.Shared / Mail.Send.Shared for another user's mailbox).",
		Fix:     "Add the scope to the token config and the app's API permissions (with admin consent where needed), then run `mailport authenticate <account>`.",
		match:   func(e *Evidence) bool { return e.Check == "scopes" && e.Reason == "scope" },
	},
	{
		ID: "google-mail-scope", Title: "Google: token without https://mail.google.com/",
		Message: "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}",
		Cause:   "Gmail's IMAP, POP and SMTP accept only tokens with the full mail scope https://mail.google.com/; Google answers a token without it with this base64 JSON challenge and then refuses the login.",
		Fix:     "Add https://mail.google.com/ to the token config's scopes (and to the OAuth consent screen), then run `mailport authenticate <account>`.",
		match: func(e *Evidence) bool {
			return (e.Check == "scopes" && e.Reason == "google-scope") ||
				(e.authRefused() && strings.Contains(e.Challenge, `"400"`) && strings.Contains(e.Challenge, "mail.google.com"))
		},
	},
	{
		ID: "token-user-mismatch", Title: "The token's user is not the mailbox's login",
		Message: "signed in as <user>, but the account logs in as <login>",
		Cause:   "The token was issued to another user than the account's login: either someone signed in with the wrong account, or the login is a shared mailbox the user has been given access to.",
		Fix:     "For a wrong account run `mailport authenticate <account>` and sign in as the login. For a shared mailbox make sure the user has Full Access to it (Exchange admin center, mailbox delegation) and, for Graph, that the token has Mail.Read.Shared / Mail.Send.Shared.",
		match: func(e *Evidence) bool {
			return (e.Check == "scopes" && e.Reason == "user") || (e.authRefused() && e.UserMismatch && e.mailProtocol() && !e.textHas("authenticated but not connected"))
		},
	},

	// --- network ---
	{
		// Graph accounts have no host: DNS looked up graph_url's host, or
		// without graph_url the Graph of the token config's cloud.
		ID: "graph-dns-failure", Title: "The Graph host name does not resolve",
		Message: "lookup <host>: no such host",
		Cause:   "An account of protocol microsoft reaches Microsoft Graph at its graph_url property, or without one at the Graph of its token config's cloud (https://graph.microsoft.com/v1.0), and DNS does not know that host: a typo in graph_url, or this machine's DNS cannot reach the name (a split-horizon or offline resolver).",
		Fix:     "Check graph_url with `mailport account show <account>`: correct it with `mailport account edit <account> --property graph_url=https://graph.microsoft.com/v1.0`, or remove it with `mailport account edit <account> --property graph_url=` to use the token config's cloud; without graph_url, check that this machine resolves the Graph host.",
		match:   func(e *Evidence) bool { return e.Check == "dns" && e.Protocol == "microsoft" },
	},
	{
		ID: "dns-failure", Title: "The host name does not resolve",
		Message: "lookup <host>: no such host",
		Cause:   "DNS does not know the account's host: a typo in the host name, or this machine's DNS cannot reach the name (a split-horizon or offline resolver).",
		Fix:     "Check the host with `mailport account show <account>` and correct it with `mailport account edit <account> --host ...`; for Microsoft 365 it is outlook.office365.com (IMAP/POP) or smtp.office365.com (SMTP).",
		match:   func(e *Evidence) bool { return e.Check == "dns" },
	},
	{
		ID: "graph-tcp-refused", Title: "The Graph address refuses connections",
		Message: "connect: connection refused",
		Cause:   "An account of protocol microsoft reaches Microsoft Graph at its graph_url property, or without one at the Graph of its token config's cloud, and nothing listens there: most often a graph_url with a wrong port, or a test server or proxy in graph_url that is down.",
		Fix:     "Check graph_url with `mailport account show <account>`: correct it with `mailport account edit <account> --property graph_url=https://graph.microsoft.com/v1.0`, or remove it with `mailport account edit <account> --property graph_url=` to use the token config's cloud.",
		match:   func(e *Evidence) bool { return e.Check == "tcp" && e.Reason == "refused" && e.Protocol == "microsoft" },
	},
	{
		ID: "tcp-refused", Title: "Connection refused",
		Message: "connect: connection refused",
		Cause:   "The host answered but nothing listens on the port: a wrong port, or the service is down.",
		Fix:     "Check the port and encryption (IMAP 993 ssl / 143 starttls, POP3 995 / 110, SMTP 465 ssl / 587 starttls) with `mailport account edit <account> --port ... --encryption ...`.",
		match:   func(e *Evidence) bool { return e.Check == "tcp" && e.Reason == "refused" },
	},
	{
		ID: "tcp-timeout", Title: "Connection timed out",
		Message: "dial tcp <addr>: i/o timeout",
		Cause:   "Nothing answered the connection attempt: a firewall drops the traffic (outbound ports 993, 995, 465 and 587 are often blocked), or the host is wrong.",
		Fix:     "Ask the network team to allow outbound traffic to the host and port, or try from another network to confirm; check the host and port with `mailport account show <account>`.",
		match:   func(e *Evidence) bool { return e.Check == "tcp" && e.Reason == "timeout" },
	},
	{
		ID: "tcp-unreachable", Title: "Network unreachable",
		Message: "connect: network is unreachable",
		Cause:   "This machine has no route to the host (no network, a missing proxy, or an IPv6 address without IPv6 connectivity).",
		Fix:     "Check the machine's network connection and routes; for a host with IPv6 addresses make sure IPv6 works or use an IPv4 address.",
		match:   func(e *Evidence) bool { return e.Check == "tcp" && e.Reason == "unreachable" },
	},
	{
		ID: "server-silent", Title: "The server accepts the connection but never answers",
		Message: "no greeting within <timeout>",
		Cause:   "The connection opened but the server sent nothing: a firewall or proxy that accepts and holds connections, or an overloaded server.",
		Fix:     "Try again later; if it persists check for an intercepting proxy or firewall between this machine and the server, and try with a longer --timeout.",
		match:   func(e *Evidence) bool { return e.Reason == "silent" },
	},
	{
		ID: "server-misbehaves", Title: "The server sends without end or breaks the protocol",
		Message: "kept sending for <timeout> without finishing its reply; sent a line longer than 64 KiB; sent a 10 GB literal",
		Cause:   "The server answered, but not as a mail server does: it sent more than any honest server sends (an endless line, reply or listing, a huge literal), kept a reply going past the timeout, or sent what the protocol forbids (UID 0, no UIDVALIDITY, a message number that does not exist). mailport stops there rather than wait for ever or fill memory; the words above say what the server did.",
		Fix:     "Check that the host and port lead to the mail server itself, not to a proxy, load balancer or another service. If they do, the server is faulty: send its administrator the words above and the transcript of `mailport test <account> --trace FILE`.",
		match:   func(e *Evidence) bool { return e.Reason == reasonMisbehaves },
	},
	{
		ID: "tls-on-plain-port", Title: "The port expects TLS from the start",
		Message: "no greeting: the server waits for a TLS handshake",
		Cause:   "The account says starttls (or none), but the port speaks TLS from the first byte (implicit TLS, e.g. 993, 995, 465), so the server waits for a handshake while mailport waits for a greeting.",
		Fix:     "Use encryption ssl on this port (`mailport account edit <account> --encryption ssl`), or the STARTTLS port (143, 110, 587) with starttls.",
		match:   func(e *Evidence) bool { return e.Reason == "tls-on-plain-port" },
	},
	{
		ID: "plain-on-tls-port", Title: "The port speaks plain text, not TLS",
		Message: "tls: first record does not look like a TLS handshake",
		Cause:   "The account says ssl, but the server answered in plain text: the port is a STARTTLS or plain port (e.g. 143, 110, 587, 25).",
		Fix:     "Use encryption starttls on this port (`mailport account edit <account> --encryption starttls`), or the implicit-TLS port (993, 995, 465) with ssl.",
		match:   func(e *Evidence) bool { return e.Reason == "plain-on-tls-port" },
	},
	// What answers on the port when it is not the account's protocol,
	// told from its first bytes (identify.go), and mailport's own bugs.
	{
		ID: "wrong-protocol", Title: "Another mail protocol answers on the port",
		Message: "Port 993 speaks IMAP over TLS (it greeted \"* OK Dovecot ready.\"), but the account is POP3.",
		Cause:   "The port belongs to another of the server's mail services, so the account's port or its protocol is wrong. mailport tells them apart by the server's first words: `* OK` is IMAP (143, 993), `+OK` is POP3 (110, 995), `220` is SMTP (25, 465, 587).",
		Fix:     "Use the port of the account's protocol and encryption (IMAP 993 ssl / 143 starttls, POP3 995 ssl / 110 starttls, SMTP 465 ssl / 587 starttls) with `mailport account edit <account> --port ...`, or, for an inbound account, change its protocol to the one that answers with `mailport account edit <account> --protocol ...`.",
		match:   func(e *Evidence) bool { return e.Reason == "wrong-protocol" },
	},
	{
		ID: "http-on-port", Title: "A web server answers on the port",
		Message: "Port 443 is a web server's: it speaks HTTPS (it answered \"HTTP/1.1 400 Bad Request\"), not IMAP.",
		Cause:   "The port is a web server's (HTTP or HTTPS): a webmail, an admin page, a proxy or a load balancer's web listener, not the mail server.",
		Fix:     "Point the account at the mail server's port (IMAP 993 / 143, POP3 995 / 110, SMTP 465 / 587) with `mailport account edit <account> --port ...`, and check the host; for Microsoft 365 over HTTPS use protocol microsoft (Graph).",
		match:   func(e *Evidence) bool { return e.Reason == "http-on-port" },
	},
	{
		ID: "ssh-on-port", Title: "An SSH server answers on the port",
		Message: "Port 22 is an SSH server's (it greeted \"SSH-2.0-OpenSSH_9.2p1\"), not IMAP.",
		Cause:   "The port is an SSH server's (remote login and file transfer), not the mail server's.",
		Fix:     "Point the account at the mail server's port (IMAP 993 / 143, POP3 995 / 110, SMTP 465 / 587) with `mailport account edit <account> --port ...`.",
		match:   func(e *Evidence) bool { return e.Reason == "ssh-on-port" },
	},
	{
		ID: "junk-on-port", Title: "The port answers with something that is not mail",
		Message: "Port 8080 answered \"\\x00\\x05junk\", which is neither IMAP nor any protocol mailport recognises (IMAP, POP3, SMTP, HTTP, SSH, TLS).",
		Cause:   "Whatever listens on the port is no IMAP, POP3 or SMTP server, nor a web, SSH or TLS server: another service, or a device between here and the server that mangles the connection.",
		Fix:     "Check the host and port with the server's administrator and set them with `mailport account edit <account> --host ... --port ...`; `mailport test <account> --trace FILE` keeps the transcript.",
		match:   func(e *Evidence) bool { return e.Reason == "junk-on-port" },
	},
	{
		ID: "internal-error", Title: "A check stopped on an internal error",
		Message: "The check stopped on an internal error: <what>; please report it.",
		Cause:   "A check of mailport itself went wrong (a bug), not the account or the server; the checks after it were skipped, the other accounts of `test --all` were still tested.",
		Fix:     "Report it with the output of `mailport test <account> --trace FILE`: the trace holds where it happened, with secrets redacted.",
		match:   func(e *Evidence) bool { return e.Reason == "internal" },
	},
	{
		ID: "tls-name-mismatch", Title: "The certificate is for another name",
		Message: "x509: certificate is valid for <names>, not <host>",
		Cause:   "The server's certificate does not name the host mailport connected to: the host is an alias or an IP address, or a proxy intercepts the connection.",
		Fix:     "Use the host name the certificate names (shown in the check) with `mailport account edit <account> --host ...`; if a proxy intercepts TLS, talk to the network team.",
		match:   func(e *Evidence) bool { return e.Check == "tls" && e.Reason == "name-mismatch" },
	},
	{
		ID: "tls-expired", Title: "The certificate has expired",
		Message: "x509: certificate has expired or is not yet valid",
		Cause:   "The server's certificate is outside its validity dates (or this machine's clock is wrong).",
		Fix:     "Check this machine's date and time; otherwise the server's administrator must renew the certificate.",
		match:   func(e *Evidence) bool { return e.Check == "tls" && e.Reason == "expired" },
	},
	{
		ID: "tls-untrusted", Title: "The certificate is self-signed or from an unknown authority",
		Message: "x509: certificate signed by unknown authority",
		Cause:   "The server's certificate is self-signed or issued by a private CA this machine does not trust, or a proxy intercepts the connection.",
		Fix:     "Get the CA certificate (PEM) from the server's administrator and set it with `mailport account edit <account> --property tls_ca_file=/path/ca.pem`.",
		match:   func(e *Evidence) bool { return e.Check == "tls" && e.Reason == "untrusted" },
	},

	// --- protocol ---
	{
		ID: "no-xoauth2", Title: "The server does not offer XOAUTH2",
		Message: "the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER",
		Cause:   "The account uses OAuth2, but the server does not list an OAuth2 SASL mechanism, so it cannot take a token: it is not a Microsoft 365 or Google server, or OAuth2 is not enabled on it.",
		Fix:     "Check the host; for a server with passwords use `mailport account edit <account> --auth basic --password-stdin`.",
		match:   func(e *Evidence) bool { return e.Check == "capabilities" && e.Reason == "no-oauth" },
	},
	{
		ID: "pop3-one-line-xoauth2", Title: "POP3: -ERR Protocol error to AUTH XOAUTH2",
		Message: "-ERR Protocol error",
		Cause:   "The POP3 server refuses XOAUTH2 sent on one line (AUTH XOAUTH2 <token>): real tokens exceed the 255-octet command limit and Microsoft needs the two-line form.",
		Fix:     "Remove the property pop3.xoauth2.two_line=false (or set it to true): `mailport account edit <account> --property pop3.xoauth2.two_line=true`.",
		match:   func(e *Evidence) bool { return e.authRefused() && e.Protocol == "pop3" && e.textHas("protocol error") },
	},
	{
		ID: "smtp-auth-disabled", Title: "535 5.7.139: SMTP AUTH is disabled",
		Message: "535 5.7.139 Authentication unsuccessful, SMTP AUTH is disabled for the tenant.",
		Cause:   "Microsoft 365 turns off authenticated SMTP submission per tenant (and per mailbox) by default; the login itself was fine.",
		Fix:     "In the Microsoft 365 admin center open the mailbox, Mail, Manage email apps, and tick Authenticated SMTP; or in Exchange Online PowerShell run Set-CASMailbox -Identity <login> -SmtpClientAuthenticationDisabled $false (and check Set-TransportConfig SmtpClientAuthenticationDisabled for the tenant). Or send through a microsoft (Graph) account instead.",
		match:   func(e *Evidence) bool { return e.Enhanced == "5.7.139" },
	},
	{
		ID: "smtp-auth-unsuccessful", Title: "535 5.7.3: authentication unsuccessful",
		Message: "535 5.7.3 Authentication unsuccessful",
		Cause:   "Microsoft refused the SMTP login: for OAuth2 the token lacks SMTP.Send or is for another resource or user; for a password, basic authentication is off for the tenant (Security defaults) or the password is wrong.",
		Fix:     "For OAuth2 make sure the token config asks for https://outlook.office.com/SMTP.Send offline_access and run `mailport authenticate <account>`; passwords no longer work with Microsoft 365 in most tenants: switch the account to OAuth2.",
		match:   func(e *Evidence) bool { return e.Enhanced == "5.7.3" },
	},
	{
		ID: "not-connected", Title: "User is authenticated but not connected",
		Message: "NO User is authenticated but not connected.",
		Cause:   "Microsoft accepted the token but cannot open the mailbox named by the login: the token's user has no access to it (a shared mailbox without Full Access), or the login is not the token user's mailbox.",
		Fix:     "Sign in as the mailbox's user (`mailport authenticate <account>`), or grant the signed-in user Full Access to the mailbox; with app-only tokens give the service principal mailbox permission (Add-MailboxPermission).",
		match:   func(e *Evidence) bool { return e.authRefused() && e.textHas("authenticated but not connected") },
	},
	{
		ID: "authenticate-failed-graph-token", Title: "AUTHENTICATE failed: a Graph token sent to IMAP/POP/SMTP",
		Message: "NO AUTHENTICATE failed.",
		Cause:   "The server refused the token because it was issued for Microsoft Graph (audience https://graph.microsoft.com), which IMAP, POP and SMTP do not accept.",
		Fix:     "Either set the account's protocol to microsoft (Graph), which is what Microsoft recommends for new Microsoft 365 mail apps, or give the token config the Outlook scopes (https://outlook.office.com/IMAP.AccessAsUser.All offline_access) and run `mailport authenticate <account>`.",
		match:   func(e *Evidence) bool { return e.authRefused() && e.mailProtocol() && e.graphAudience() },
	},
	{
		ID: "authenticate-failed-protocol-auth-type", Title: "AUTHENTICATE failed while the account shows AUTHENTICATED",
		Message: "AUTHENTICATE failed",
		Cause:   "The account's protocol or authorisation type does not match what the provider accepts: for example a Microsoft 365 mailbox with a password (basic authentication is switched off), or the wrong protocol for the token config.",
		Fix:     "Make the account match the provider's settings: for a Microsoft account set the protocol to microsoft and the authorisation type to oauth2 (`mailport account edit <account> --protocol microsoft --auth oauth2 --token-config ...`), then run `mailport authenticate <account>`.",
		match: func(e *Evidence) bool {
			return e.authRefused() && e.microsoftHost() && e.Auth == "basic"
		},
	},
	{
		ID: "authenticate-failed-mailbox", Title: "AUTHENTICATE failed with a correct token",
		Message: "NO AUTHENTICATE failed.",
		Cause:   "The token has the right audience and scope, yet Microsoft refuses it: IMAP or POP is disabled for the mailbox, or, with an app-only token, the app's service principal is not registered in Exchange or has no permission on the mailbox.",
		Fix:     "Enable the protocol: Microsoft 365 admin center, the user, Mail, Manage email apps (IMAP / POP), or Set-CASMailbox -Identity <login> -ImapEnabled $true. For app-only tokens run New-ServicePrincipal and Add-MailboxPermission -User <service principal> -AccessRights FullAccess in Exchange Online PowerShell.",
		match: func(e *Evidence) bool {
			return e.authRefused() && !e.TokenUnfit && e.Provider == "microsoft" && e.mailProtocol() && e.textHas("authenticate failed", "authentication failed", "login failed")
		},
	},
	// --- which cause comes first (issue 11): AUTH after STARTTLS, an
	// answer held back after a failed login, a refusal the token fits check
	// foresaw, a flow that cannot get the protocol's scope ---
	{
		ID: "smtp-auth-after-starttls", Title: "SMTP: AUTH is offered only after STARTTLS",
		Message: "STARTTLS and no AUTH in the EHLO reply",
		Cause:   "This server offers AUTH only after STARTTLS: its EHLO reply lists STARTTLS and no AUTH mechanism, as submission servers do on an unencrypted connection, so with encryption none there is no way to log in.",
		Fix:     "Use STARTTLS on this port: `mailport account edit <account> --encryption starttls`.",
		match:   func(e *Evidence) bool { return e.Check == "capabilities" && e.Reason == "auth-after-starttls" },
	},
	{
		ID: "auth-answer-held", Title: "The server holds its answer to the login",
		Message: "no answer to the login within <timeout>",
		Cause:   "The server greeted and took the login, then held back its answer for longer than the timeout. Servers such as Dovecot and Postfix delay the answer after a failed login (2 seconds by default, more after repeated failures), so the login or password is most likely wrong.",
		Fix:     "Wait a minute, check the login and store the current password with `mailport account edit <account> --password-stdin`, then run `mailport test <account> --timeout 30s` to see the server's answer.",
		match:   func(e *Evidence) bool { return e.Check == "auth" && e.Reason == "held" && e.Auth == "basic" },
	},
	{
		ID: "auth-answer-held-token", Title: "The server holds its answer to the token",
		Message: "no answer to the login within <timeout>",
		Cause:   "The server greeted and took the token, then held back its answer for longer than the timeout. Servers such as Dovecot delay the answer after a failed login, and a server that checks tokens with the provider waits for it, so the token is most likely refused.",
		Fix:     "Wait a minute, then run `mailport test <account> --timeout 30s` to see the server's answer; if it refuses the token, run `mailport authenticate <account>` signing in as the login.",
		match:   func(e *Evidence) bool { return e.Check == "auth" && e.Reason == "held" },
	},
	{
		ID: "token-refused-unfit", Title: "The server refused a token that does not fit the protocol",
		Message: "NO [AUTHENTICATIONFAILED] Authentication failed.",
		Cause:   "The mail server refused the OAuth2 token, as the token fits check foresaw: the token's audience or scopes do not grant this protocol.",
		Fix:     "Follow the token fits check's fix above, then run `mailport authenticate <account>`.",
		match: func(e *Evidence) bool {
			return e.authRefused() && e.Auth == "oauth2" && e.mailProtocol() && e.TokenUnfit
		},
	},
	{
		ID: "google-device-flow-mail", Title: "Google: the device flow cannot get the Gmail scope",
		Message: "the device flow of Google does not allow the Gmail scope https://mail.google.com/",
		Cause:   "The token config uses the device flow, but Google does not allow https://mail.google.com/, which Gmail's IMAP, POP and SMTP need, with the device flow, so `mailport authenticate` refuses to start it.",
		Fix:     "Switch the token config to the browser flow with `mailport token-config edit <token-config> --flow user`, then run `mailport authenticate <account>` (with --no-browser on a machine without a browser).",
		match:   func(e *Evidence) bool { return e.Check == "config" && e.Reason == "google-device" },
	},
	{
		ID: "wrong-password", Title: "The server refused the password",
		Message: "NO [AUTHENTICATIONFAILED] Authentication failed.",
		Cause:   "The server refused the login and password: the password is wrong or changed, the login is not the full address the server expects, or the account is locked.",
		Fix:     "Store the current password with `mailport account edit <account> --password-stdin` and check the login (usually the full email address).",
		match:   func(e *Evidence) bool { return e.authRefused() && e.Auth == "basic" },
	},
	{
		ID: "token-refused", Title: "The server refused the token",
		Message: "NO [AUTHENTICATIONFAILED] Authentication failed.",
		Cause:   "The mail server refused the OAuth2 token although the token fits check found nothing wrong with its audience, scopes or user: the server does not accept tokens of this app or user, or OAuth2 logins are off for the mailbox.",
		Fix:     "Run `mailport authenticate <account>` signing in as the login, and ask the server's administrator whether OAuth2 logins are enabled for the mailbox and this app.",
		match:   func(e *Evidence) bool { return e.authRefused() && e.Auth == "oauth2" && e.mailProtocol() },
	},

	// --- Graph ---
	{
		ID: "graph-id-malformed", Title: "Graph: Id is malformed",
		Message: "ErrorInvalidIdMalformed: Id is malformed.",
		Cause:   "The folder value is neither a folder path mailport can find nor a Graph folder id: a sub folder written with \\ or another separator, a misspelled name, or a path that does not start at a top-level folder.",
		Fix:     "Check the Folder value: a sub folder is written folderName/subFolderName with a forward slash, starting at a top-level folder such as Inbox (e.g. Inbox/Endpoint): `mailport account edit <account> --folder Inbox/Endpoint`.",
		match:   func(e *Evidence) bool { return e.Graph == "ErrorInvalidIdMalformed" || e.textHas("id is malformed") },
	},
	{
		ID: "graph-access-denied", Title: "Graph: ErrorAccessDenied on another user's mailbox",
		Message: "ErrorAccessDenied: Access is denied. Check credentials and try again.",
		Cause:   "The signed-in user (or the app) may not open the mailbox named by the login: a shared or other user's mailbox without delegation, or a token without Mail.Read.Shared / Mail.Send.Shared.",
		Fix:     "Grant the user Full Access (or Send As) to the mailbox in the Exchange admin center, add mail.read.shared / mail.send.shared to the token config's scopes, and run `mailport authenticate <account>`; for app-only tokens grant Mail.ReadWrite as an application permission.",
		match:   func(e *Evidence) bool { return e.Graph == "ErrorAccessDenied" },
	},
	{
		ID: "graph-mailbox-not-enabled", Title: "Graph: MailboxNotEnabledForRESTAPI",
		Message: "MailboxNotEnabledForRESTAPI: The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
		Cause:   "The mailbox is not in Exchange Online (on-premises, unlicensed, or deleted), so Graph cannot reach it.",
		Fix:     "Check that the user has an Exchange Online licence and mailbox; for an on-premises mailbox use protocol imap against the on-premises server.",
		match:   func(e *Evidence) bool { return e.Graph == "MailboxNotEnabledForRESTAPI" },
	},
	{
		ID: "graph-token-refused", Title: "Graph: InvalidAuthenticationToken",
		Message: "InvalidAuthenticationToken: Access token validation failure.",
		Cause:   "Graph refused the token: it is for another resource (an Outlook token sent to Graph), expired, or from another tenant.",
		Fix:     "Give the token config Graph scopes (mail.read mail.send ... offline_access, no https://outlook.office.com/ scopes first) and run `mailport authenticate <account>`.",
		match:   func(e *Evidence) bool { return e.Graph == "InvalidAuthenticationToken" },
	},
	{
		ID: "graph-throttled", Title: "Graph: 429 throttled",
		Message: "HTTP 429 ApplicationThrottled: Application is over its MailboxConcurrency limit.",
		Cause:   "Microsoft Graph is throttling the app or mailbox: too many requests at once (Outlook allows 4 concurrent requests per app and mailbox) or in a short time, often because several tools poll the same mailbox.",
		Fix:     "Wait a few minutes and try again; poll less often, and make sure no other job polls the same mailbox with the same app at the same time.",
		match:   func(e *Evidence) bool { return e.HTTP == 429 || e.Graph == "ApplicationThrottled" },
	},

	// --- folder and send ---
	{
		ID: "folder-not-found", Title: "The folder does not exist",
		Message: "folder \"Inbox/Endpoint\" not found: no \"Endpoint\"",
		Cause:   "The account's folder path names a folder that does not exist in the mailbox (a typo, another letter case on a case-sensitive server, or a folder that was renamed).",
		Fix:     "Check the folder in a mail client and set the path with `mailport account edit <account> --folder Parent/Child` (forward slashes between levels; INBOX for the inbox).",
		match:   func(e *Evidence) bool { return e.Check == "folder" && e.Reason == "not-found" },
	},
	{
		ID: "smtp-sender-refused", Title: "The server refused the sender or recipient",
		Message: "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
		Cause:   "The server accepted the login but refused MAIL FROM or RCPT TO: the login may not send as this address (Send As missing), or relaying is not allowed.",
		Fix:     "Send from the login's own address, or grant the login Send As permission on the address; check the server's relay rules.",
		match:   func(e *Evidence) bool { return e.Check == "send" && e.SMTPCode >= 500 },
	},
}

// signInIDs are the entry ids of AADSTS rows that had an id before the
// table did, by the row's main code; other rows are aadsts<code>. Ids are
// anchors in docs/troubleshooting.md and appear in --json: they stay.
var signInIDs = map[int]string{
	7000222: "client-secret-expiring",
	700025:  "public-confidential-client",
}

// signInAlso are the further evidence an AADSTS entry stands for, by id:
// mailport's own check that foresees the refusal, or the OAuth error that
// means the same.
var signInAlso = map[string]func(*Evidence) bool{
	"aadsts50194": func(e *Evidence) bool {
		return e.Check == "config" && e.Reason == "tenant" && e.textHas("AADSTS50194")
	},
	"client-secret-expiring": func(e *Evidence) bool { return e.Check == "config" && e.Reason == "secret-expiry" },
	"aadsts700027":           func(e *Evidence) bool { return e.Check == "config" && e.Reason == "certificate-expiry" },
	"aadsts65001":            func(e *Evidence) bool { return e.OAuthCode == "consent_required" },
}

// microsoftSignInEntries are the entries of oauth.AADSTSTable, one per
// row, in its order, matching every code of the row.
func microsoftSignInEntries() []Entry {
	var out []Entry
	for _, a := range oauth.AADSTSTable() {
		id, ok := signInIDs[a.Codes[0]]
		if !ok {
			id = fmt.Sprintf("aadsts%d", a.Codes[0])
		}
		codes, also := a.Codes, signInAlso[id]
		out = append(out, Entry{
			ID: id, Title: a.Title, Message: a.Message, Cause: a.Cause, Fix: a.Fix,
			match: func(e *Evidence) bool { return e.aadsts(codes...) || (also != nil && also(e)) },
		})
	}
	return out
}

// Lookup returns the first catalog entry matching e, or nil.
func Lookup(e *Evidence) *Entry {
	if e.Protocol == "smtp" || e.SMTPCode != 0 {
		e.parseSMTP()
	}
	for i := range Catalog {
		if Catalog[i].match(e) {
			return &Catalog[i]
		}
	}
	return nil
}

// EntryByID returns the entry with id, or nil.
func EntryByID(id string) *Entry {
	for i := range Catalog {
		if Catalog[i].ID == id {
			return &Catalog[i]
		}
	}
	return nil
}

// DocsPath is where the troubleshooting page lives in the repository and
// release archives.
const DocsPath = "docs/troubleshooting.md"

// RenderMarkdown writes the catalog as the entries section of the
// troubleshooting page: one heading per entry with its anchor, the message
// users see, the cause and the fix.
func RenderMarkdown() string {
	var b strings.Builder
	for _, e := range Catalog {
		fmt.Fprintf(&b, "<a id=\"%s\"></a>\n### %s\n\n", e.ID, e.Title)
		fmt.Fprintf(&b, "What you see:\n\n```\n%s\n```\n\n", e.Message)
		fmt.Fprintf(&b, "**Cause.** %s\n\n", e.Cause)
		fmt.Fprintf(&b, "**Fix.** %s\n\n", e.Fix)
		fmt.Fprintf(&b, "Entry id: `%s`\n\n", e.ID)
	}
	return b.String()
}
